"""primary care: the patient's own doctor at check-in, the summary outbox, the simulator inbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("primary_care", sa.JSON(), nullable=True))
    op.create_table(
        "document_outbox",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("lease_until", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("delivered_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"],
                                name=op.f("fk_document_outbox_visit_id_visits")),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_document_outbox")),
    )
    with op.batch_alter_table("document_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_outbox_visit_id"), ["visit_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_document_outbox_state"), ["state"], unique=False)
    op.create_table(
        "primary_care_inbox",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_primary_care_inbox")),
    )


def downgrade() -> None:
    op.drop_table("primary_care_inbox")
    with op.batch_alter_table("document_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_document_outbox_visit_id"))
    op.drop_table("document_outbox")
    with op.batch_alter_table("intakes", schema=None) as batch_op:
        batch_op.drop_column("primary_care")
