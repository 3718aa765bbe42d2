"""hub events: what hub processes on one PostgreSQL database tell each other, read by id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:50:00.000000

A NOTIFY on the shared channel carries only the id of a row here; the row itself (an SDP offer,
a queue snapshot) is readable only by the roles the table is granted to, the hub's own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_events")),
    )
    with op.batch_alter_table("hub_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_events_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_events_at"))
    op.drop_table("hub_events")
