"""audit chain: each audit event carries its predecessor's hash and its own; ids never reused

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00.000000

The events already in the log are chained in id order, as they stand when upgrading. On
SQLite the table is rebuilt with AUTOINCREMENT, so the id of an event removed from the end is
never given again (PostgreSQL's sequence never gives one twice). ``audit_head`` keeps the
last event's id and hash, so removing events from the end shows too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workstation.storage.orm
from workstation.storage.audit_log import GENESIS, HEAD_ID, event_hash

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PAGE = 1000

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", workstation.storage.orm.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("patient_id", sa.String()),
    sa.column("visit_id", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(length=64), nullable=True))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    last_id, last_hash = _chain_existing_events(op.get_bind())
    op.bulk_insert(head, [{"id": HEAD_ID, "last_id": last_id, "hash": last_hash}])
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("audit_events", schema=None,
                              recreate="always" if sqlite else "auto",
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)


def _chain_existing_events(conn: sa.Connection) -> tuple[int, str]:
    """Chain the events in id order, a page at a time; the last id and hash."""
    last_id, last_hash = 0, GENESIS
    while True:
        page = conn.execute(sa.select(_events).where(_events.c.id > last_id)
                            .order_by(_events.c.id).limit(_PAGE)).all()
        if not page:
            return last_id, last_hash
        updates = []
        for row in page:
            digest = event_hash(row.id, row.at, row.actor, row.action, row.outcome,
                                row.patient_id, row.visit_id, row.detail, last_hash)
            updates.append({"event_id": row.id, "linked_to": last_hash, "digest": digest})
            last_id, last_hash = row.id, digest
        conn.execute(_events.update().where(_events.c.id == sa.bindparam("event_id"))
                     .values(prev_hash=sa.bindparam("linked_to"), hash=sa.bindparam("digest")),
                     updates)


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
