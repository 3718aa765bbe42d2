"""password attempts: the lock-out counter kept in the database, per username and address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", workstation.storage.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_attempts")),
    )
    with op.batch_alter_table("password_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_attempts_username"), ["username"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_password_attempts_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("password_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_attempts_at"))
        batch_op.drop_index(batch_op.f("ix_password_attempts_username"))
    op.drop_table("password_attempts")
