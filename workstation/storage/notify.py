"""PostgreSQL LISTEN/NOTIFY: the channel several hub processes share to fan out their events.

A notification's payload is limited to 8000 bytes; a longer message (an SDP offer can be) is
sent as numbered parts in one transaction, which PostgreSQL delivers together and in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from workstation.storage.store import VisitStore

log = logging.getLogger(__name__)

CHANNEL = "workstation_hub"
PART_SIZE = 7000  # characters of ASCII-only JSON, below the 8000-byte payload limit
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # between reconnects of the listener
PUBLISH_RETRIES = (0.0, 0.2)  # a request must not wait longer on the channel


def event_channel_for(store: VisitStore) -> PgEventChannel | None:
    """The shared channel when the store is on PostgreSQL; None for the embedded SQLite file."""
    if store.dialect != "postgresql":
        return None
    return PgEventChannel(store.engine.url)


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgEventChannel:
    """Publish JSON messages to every hub process on the same database, this one included."""

    def __init__(self, url: URL) -> None:
        self._conninfo = _conninfo(url)
        self._publisher: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._partial: dict[str, list[str]] = {}

    async def publish(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=True)
        parts = [text[i:i + PART_SIZE] for i in range(0, len(text), PART_SIZE)] or [""]
        envelope_id = uuid.uuid4().hex
        payloads = [text] if len(parts) == 1 else [
            json.dumps({"part": envelope_id, "i": i, "n": len(parts), "d": part},
                       separators=(",", ":"))
            for i, part in enumerate(parts)]
        for attempt, delay in enumerate(PUBLISH_RETRIES):
            await asyncio.sleep(delay)  # never while holding the lock
            try:
                async with self._lock:
                    conn = await self._publishing_connection()
                    async with conn.transaction():
                        for payload in payloads:
                            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                return
            except psycopg.OperationalError as exc:
                async with self._lock:
                    await self._drop_publisher()
                if attempt == len(PUBLISH_RETRIES) - 1:
                    raise
                log.warning("Publishing a hub event failed (%s); retrying", type(exc).__name__)

    async def listen(self, ready: asyncio.Event | None = None, *,
                     reconnected: Callable[[], Awaitable[None]] | None = None,
                     ) -> AsyncIterator[dict[str, Any]]:
        """Every message published on the channel, reconnecting after a lost connection.

        ``ready`` is set once LISTEN is in place, so nothing published after it is missed.
        Messages published while the connection was down are gone: ``reconnected`` is awaited
        after each new LISTEN so the caller can bring its clients up to date.
        """
        connected_before = False
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    if ready is not None:
                        ready.set()
                    if connected_before and reconnected is not None:
                        try:
                            await reconnected()
                        except Exception:
                            log.exception("Bringing sockets up to date after a reconnect failed")
                    connected_before = True
                    async for note in conn.notifies():
                        try:
                            message = self._assemble(note.payload)
                        except (KeyError, TypeError, ValueError):
                            log.warning("Ignored a malformed hub event")
                            continue
                        if message is not None:
                            yield message
            except psycopg.OperationalError as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("Lost the hub event channel (%s); reconnecting in %.1f s",
                            type(exc).__name__, delay)
                self._partial.clear()
                await asyncio.sleep(delay)

    def _assemble(self, payload: str) -> dict[str, Any] | None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("Ignored a malformed hub event")
            return None
        if not isinstance(data, dict):
            return None
        if "part" not in data:
            return data
        parts = self._partial.setdefault(str(data["part"]), [])
        parts.append(str(data["d"]))
        if len(parts) < int(data["n"]):
            return None
        del self._partial[str(data["part"])]
        try:
            whole = json.loads("".join(parts))
        except ValueError:
            log.warning("Ignored a malformed hub event")
            return None
        return whole if isinstance(whole, dict) else None

    async def _publishing_connection(self) -> psycopg.AsyncConnection[Any]:
        if self._publisher is None or self._publisher.closed:
            self._publisher = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True)
        return self._publisher

    async def _drop_publisher(self) -> None:
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None

    async def close(self) -> None:
        async with self._lock:
            await self._drop_publisher()
