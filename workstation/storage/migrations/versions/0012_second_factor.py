"""second factor: a provider's TOTP secret and last used time step; break-glass codes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "break_glass_codes",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("issued_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("expires_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("used_at", workstation.storage.orm.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"],
                                name=op.f("fk_break_glass_codes_provider_id_providers")),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_break_glass_codes")),
    )


def downgrade() -> None:
    op.drop_table("break_glass_codes")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
