"""payment holds: each fee or co-pay authorised, saved with its visit, then captured

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:15:00.000000

A row is written before the card is authorised, so a hold whose visit was never saved (the
database down, the hub killed) is found and released; its key is the page's idempotency key, so
a check-in sent twice is one visit and one charge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_holds",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("updated_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_payment_holds")),
    )
    with op.batch_alter_table("payment_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_holds_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_holds_visit_id"), ["visit_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_holds_visit_id"))
        batch_op.drop_index(batch_op.f("ix_payment_holds_state"))
    op.drop_table("payment_holds")
