"""An outbox drained in the background: messages written with the change they belong to (in
the same transaction), then posted by a loop that leases one due message at a time, backs off
when the receiver fails, and never loses a wake-up. The e-prescribing sender and the sender of
visit summaries are two such loops.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import aiohttp
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from workstation.storage.orm import OutboxMessage

log = logging.getLogger(__name__)
QUEUED, SENDING, DELIVERED = "queued", "sending", "delivered"


Row = TypeVar("Row", bound=OutboxMessage)
T = TypeVar("T")


def claim_due(
        sessions: sessionmaker[Session], row_type: type[Row], now: datetime, lease: timedelta,
        make: Callable[[Row, int], T]) -> T | None:
    """The message due first (or one whose sender's lease ran out), leased to this caller just
    before it is posted, as ``make(row, attempts)`` says it; None when nothing is due. Claimed
    one at a time so a lease never runs out while the message waits behind others, and with a
    conditional UPDATE so two senders never both take it."""
    due = or_((row_type.state == QUEUED) & (row_type.next_attempt_at <= now),
              (row_type.state == SENDING) & (row_type.lease_until <= now))
    with sessions.begin() as s:
        for row in s.scalars(select(row_type).where(due)
                             .order_by(row_type.next_attempt_at).limit(5)).all():
            # Read before the update: the ORM refreshes loaded rows that an UPDATE touches.
            message_id, state, attempts = row.message_id, row.state, row.attempts
            item = make(row, attempts + 1)
            got = s.execute(
                update(row_type)
                .where(row_type.message_id == message_id, row_type.state == state,
                       row_type.attempts == attempts)
                .values(state=SENDING, lease_until=now + lease, attempts=attempts + 1)
                .execution_options(synchronize_session=False))
            if got.rowcount == 1:  # type: ignore[attr-defined]
                return item
    return None


def next_due(sessions: sessionmaker[Session], row_type: type[OutboxMessage]) -> datetime | None:
    """When the next queued message is due, or a lease runs out; None for an empty outbox."""
    with sessions() as s:
        queued = s.scalar(select(func.min(row_type.next_attempt_at))
                          .where(row_type.state == QUEUED))
        leased = s.scalar(select(func.min(row_type.lease_until))
                          .where(row_type.state == SENDING))
    times = [t for t in (queued, leased) if t is not None]
    return min(times) if times else None

Clock = Callable[[], datetime]
ERROR_PAUSE = 5.0  # seconds before the outbox is read again after the database failed


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SenderSettings:
    timeout: float = 15.0  # seconds for one post
    first_retry: float = 2.0  # seconds; doubles each attempt
    longest_retry: float = 300.0
    lease: float = 60.0  # a message being posted is left alone this long by other senders
    idle_poll: float = 30.0  # looks at the outbox at least this often


def backoff(attempts: int, settings: SenderSettings, rng: random.Random) -> float:
    """Seconds before the next attempt: doubling from ``first_retry``, capped, ±20 % jitter."""
    base = min(settings.longest_retry, settings.first_retry * 2 ** max(0, attempts - 1))
    return float(base * rng.uniform(0.8, 1.2))


class OutboxLoop(abc.ABC):
    """Drains an outbox in the background: ``send_due()`` whenever woken (``wake()`` after
    queueing a message), when the next message is due, or at least every ``idle_poll``."""

    name = "outbox"

    def __init__(self, *, settings: SenderSettings | None = None, clock: Clock = utc_now,
                 rng: random.Random | None = None) -> None:
        self._settings = settings or SenderSettings()
        self._clock = clock
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout))
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    @abc.abstractmethod
    async def send_due(self) -> int:
        """Post every message due now; how many were attempted."""

    @abc.abstractmethod
    def next_due(self) -> datetime | None:
        """When the next message is due (read from the database; off the event loop)."""

    @property
    def lease(self) -> timedelta:
        """A message must stay leased while it is posted, whatever the receiver's pace."""
        return timedelta(seconds=max(self._settings.lease, 2 * self._settings.timeout))

    async def _run(self) -> None:
        while True:
            # Cleared before the outbox is read: a wake() meanwhile is not lost.
            self._wake.clear()
            try:
                await self.send_due()
                due = await asyncio.to_thread(self.next_due)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is away (a restart, a dropped connection): the loop lives on.
                log.exception("The %s could not be read; trying again", self.name)
                due = self._clock() + timedelta(seconds=ERROR_PAUSE)
            await self._sleep(due)

    async def _sleep(self, due: datetime | None) -> None:
        wait = self._settings.idle_poll
        if due is not None:
            wait = min(wait, max(0.0, (due - self._clock()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait)


