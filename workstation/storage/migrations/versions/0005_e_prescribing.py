"""e-prescribing: prescriptions, outbox, pharmacy simulator inbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:01:59.067545
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pharmacy_inbox",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("ncpdp_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column(
            "received_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_pharmacy_inbox")),
    )
    with op.batch_alter_table("pharmacy_inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pharmacy_inbox_ncpdp_id"), ["ncpdp_id"], unique=False)

    op.create_table(
        "prescriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("pharmacy_ncpdp_id", sa.String(length=7), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("cancel_message_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_prescriptions_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_prescriptions_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
        sa.UniqueConstraint("message_id", name=op.f("uq_prescriptions_message_id")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescriptions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_prescriptions_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "erx_outbox",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("prescription_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("lease_until", workstation.storage.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "delivered_at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_erx_outbox_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_erx_outbox")),
    )
    with op.batch_alter_table("erx_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erx_outbox_prescription_id"), ["prescription_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_erx_outbox_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erx_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erx_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_erx_outbox_prescription_id"))

    op.drop_table("erx_outbox")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescriptions_visit_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_patient_id"))

    op.drop_table("prescriptions")
    with op.batch_alter_table("pharmacy_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pharmacy_inbox_ncpdp_id"))

    op.drop_table("pharmacy_inbox")
