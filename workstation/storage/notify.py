"""PostgreSQL LISTEN/NOTIFY: the channel several hub processes share to fan out their events.

Any role that can connect to the database may LISTEN on any channel and NOTIFY on it, so the
channel carries nothing but the id of a row in ``hub_events``, a table only the hub's role can
read and write. A listener acts on an id only when that row exists, is fresh and was not acted
on before: an overheard id tells nothing of a call, and a forged or replayed one is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from workstation.storage.store import VisitStore

log = logging.getLogger(__name__)

CHANNEL = "workstation_hub"
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # between reconnects of the listener
PUBLISH_RETRIES = (0.0, 0.2)  # a request must not wait longer on the channel
FRESH_SECONDS = 60  # an id whose row is older than this is not acted on
KEEP_SECONDS = 300  # rows older than this are removed by the publishers
PRUNE_EVERY = 30.0  # seconds between a publisher's removals of old rows
REMEMBER_IDS = 50_000  # ids acted on, kept to ignore a replay of one
IGNORED_LOG_EVERY = 60.0  # at most one line per minute about ignored notifications

_INSERT = "INSERT INTO hub_events (at, payload) VALUES (now(), %s) RETURNING id"
_READ = ("SELECT payload FROM hub_events WHERE id = %s "
         f"AND at > now() - interval '{FRESH_SECONDS} seconds'")
_PRUNE = f"DELETE FROM hub_events WHERE at < now() - interval '{KEEP_SECONDS} seconds'"


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
        self._pruned_at = 0.0
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        self.ignored = 0  # notifications not acted on: forged, replayed, stale or malformed
        self._ignored_logged_at = -IGNORED_LOG_EVERY

    async def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        for attempt, delay in enumerate(PUBLISH_RETRIES):
            await asyncio.sleep(delay)  # never while holding the lock
            try:
                async with self._lock:
                    conn = await self._publishing_connection()
                    async with conn.transaction():
                        cursor = await conn.execute(_INSERT, (payload,))
                        row = await cursor.fetchone()
                        assert row is not None
                        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(row[0])))
                    if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                        self._pruned_at = time.monotonic()
                        await conn.execute(_PRUNE)
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
        Messages published while the connection was down are not delivered: ``reconnected``
        is awaited after each new LISTEN so the caller can bring its clients up to date.
        """
        connected_before = False
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True) as conn, \
                        await psycopg.AsyncConnection.connect(
                            self._conninfo, autocommit=True) as reader:
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
                        message = await self._event(reader, note.payload)
                        if message is not None:
                            yield message
            except psycopg.OperationalError as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("Lost the hub event channel (%s); reconnecting in %.1f s",
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def _event(self, reader: psycopg.AsyncConnection[Any],
                     payload: str) -> dict[str, Any] | None:
        """The message a notification points at, or None when it is not to be acted on."""
        why = ""
        message: Any = None
        if not (payload.isascii() and payload.isdigit() and len(payload) <= 18):
            why = "not an event id"
        elif int(payload) in self._seen:
            why = "an event already delivered"
        else:
            cursor = await reader.execute(_READ, (int(payload),))
            row = await cursor.fetchone()
            if row is None:
                why = "no such recent event"
            else:
                self._remember(int(payload))
                with contextlib.suppress(ValueError):
                    message = json.loads(row[0])
        if isinstance(message, dict):
            return message
        self._ignore(why or "unreadable event")
        return None

    def _remember(self, event_id: int) -> None:
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > REMEMBER_IDS:
            self._seen.discard(self._seen_order.popleft())

    def _ignore(self, why: str) -> None:
        self.ignored += 1
        now = time.monotonic()
        if now - self._ignored_logged_at >= IGNORED_LOG_EVERY:
            self._ignored_logged_at = now
            log.warning("Ignored a notification on the hub channel (%s); %d ignored so far. "
                        "Another database role may be sending on it: see the README's "
                        "PostgreSQL section.", why, self.ignored)

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
