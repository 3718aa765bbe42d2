"""What the provider typed, kept on this computer until the hub confirms it has it.

A clinic hub can be away (network, restart) while the provider writes; if the workstation is
then closed or killed, the hub never got those words. This cache holds each pane's latest text,
encrypted like the embedded database (SQLCipher, key in the OS keyring), and forgets it as soon
as the hub has saved it. A copy that is still here was therefore never saved by the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import Engine

from workstation.storage.database import make_engine
from workstation.storage.orm import UTCDateTime

_metadata = MetaData()
_drafts = Table(
    "local_drafts", _metadata,
    Column("hub", String(300), primary_key=True),
    Column("visit_id", String(36), primary_key=True),
    Column("pane", String(20), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


class DraftCache:
    def __init__(self, path: Path) -> None:
        self._engine: Engine = make_engine(f"sqlite:///{path}")
        _metadata.create_all(self._engine)

    def put(self, hub: str, visit_id: str, pane: str, body: Mapping[str, Any],
            now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_drafts).where(_drafts.c.hub == hub,
                                               _drafts.c.visit_id == visit_id,
                                               _drafts.c.pane == pane))
            conn.execute(insert(_drafts).values(hub=hub, visit_id=visit_id, pane=pane,
                                                body=dict(body), updated_at=now))

    def get(self, hub: str, visit_id: str) -> dict[str, dict[str, Any]]:
        """Pane -> body of everything the hub has not confirmed for this visit."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_drafts.c.pane, _drafts.c.body).where(
                _drafts.c.hub == hub, _drafts.c.visit_id == visit_id)).all()
        return {str(pane): dict(body) for pane, body in rows}

    def discard(self, hub: str, visit_id: str, pane: str | None = None) -> None:
        query = delete(_drafts).where(_drafts.c.hub == hub, _drafts.c.visit_id == visit_id)
        if pane is not None:
            query = query.where(_drafts.c.pane == pane)
        with self._engine.begin() as conn:
            conn.execute(query)

    def close(self) -> None:
        self._engine.dispose()
