"""Who is connected, and pushing events to them as they happen (no polling).

Queue events go to every provider socket subscribed to the visit's service line; visit events
go to the sockets of that visit's patient. One hub process alone delivers its own events
(``Broker``); several hub processes on one PostgreSQL database publish every event on its
LISTEN/NOTIFY channel and each delivers to the sockets it holds (``FanoutBroker``), so a
patient checked in through one process reaches a provider connected to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from workstation.storage.notify import PgEventChannel

log = logging.getLogger(__name__)

PRESENCE_INTERVAL = 10.0  # seconds between a process's reports of who is online there


@dataclass(eq=False)
class ProviderSocket:
    ws: web.WebSocketResponse
    provider_id: str
    service_lines: set[str] = field(default_factory=set)
    session: str = ""  # the digest of the session token that opened it (never the token)


class Broker:
    def __init__(self) -> None:
        self._providers: set[ProviderSocket] = set()
        self._patients: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        # Set by the visit service: tell this process's waiting patients their new place;
        # bring every socket of this process up to date after events may have been missed.
        self.on_positions_changed: Callable[[str], Awaitable[None]] | None = None
        self.on_resync: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Ready to deliver; nothing to set up for one process alone."""

    async def stop(self) -> None:
        """Stop delivering."""

    # -- registration -----------------------------------------------------------------------

    def add_provider(self, sock: ProviderSocket) -> None:
        self._providers.add(sock)

    def remove_provider(self, sock: ProviderSocket) -> None:
        self._providers.discard(sock)

    def sockets_of_session(self, session: str) -> list[ProviderSocket]:
        """This process's provider sockets opened with the session of this token digest."""
        return [s for s in self._providers if session and s.session == session]

    def add_patient(self, visit_id: str, ws: web.WebSocketResponse) -> None:
        self._patients[visit_id].add(ws)

    def remove_patient(self, visit_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._patients.get(visit_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._patients[visit_id]

    def _local_online(self) -> dict[str, set[str]]:
        online: dict[str, set[str]] = defaultdict(set)
        for sock in self._providers:
            for line in sock.service_lines:
                online[line].add(sock.provider_id)
        return online

    def providers_online(self, service_line: str) -> int:
        return len(self._local_online().get(service_line, set()))

    def provider_sockets(self, provider_id: str) -> list[ProviderSocket]:
        return [s for s in self._providers if s.provider_id == provider_id]

    def local_provider_sockets(self) -> list[ProviderSocket]:
        return list(self._providers)

    def local_patient_visit_ids(self) -> list[str]:
        """Visits whose patient has a socket open to this process."""
        return list(self._patients)

    async def close_all(self) -> None:
        sockets = [s.ws for s in self._providers]
        sockets += [ws for group in self._patients.values() for ws in group]
        await asyncio.gather(
            *(ws.close(code=1001, message=b"hub shutting down") for ws in sockets),
            return_exceptions=True,
        )

    # -- publishing -------------------------------------------------------------------------

    async def to_service_line(self, service_line: str, message: dict[str, Any]) -> None:
        await self.publish({"to": "line", "target": service_line, "message": message})

    async def to_provider(self, provider_id: str, message: dict[str, Any]) -> None:
        await self.publish({"to": "provider", "target": provider_id, "message": message})

    async def to_patient(self, visit_id: str, message: dict[str, Any]) -> None:
        await self.publish({"to": "patient", "target": visit_id, "message": message})

    async def positions_changed(self, service_line: str) -> None:
        """The waiting line of ``service_line`` moved: every process updates its patients."""
        await self.publish({"to": "positions", "target": service_line})

    async def publish(self, event: dict[str, Any]) -> None:
        await self.deliver(event)

    async def deliver(self, event: dict[str, Any]) -> None:
        """Hand an event to the sockets this process holds."""
        to, target = event.get("to"), str(event.get("target"))
        message = event.get("message")
        if to == "line" and isinstance(message, dict):
            await _send_all((s.ws for s in list(self._providers)
                             if target in s.service_lines), message)
        elif to == "provider" and isinstance(message, dict):
            await _send_all((s.ws for s in self.provider_sockets(target)), message)
        elif to == "patient" and isinstance(message, dict):
            await self.send_local_patient(target, message)
        elif to == "positions" and self.on_positions_changed is not None:
            await self.on_positions_changed(target)

    async def send_local_provider(self, sock: ProviderSocket, message: dict[str, Any]) -> None:
        await _send_all([sock.ws], message)

    async def send_local_patient(self, visit_id: str, message: dict[str, Any]) -> None:
        await _send_all(list(self._patients.get(visit_id, ())), message)


class FanoutBroker(Broker):
    """Events travel through PostgreSQL to every hub process, this one included."""

    def __init__(self, channel: PgEventChannel) -> None:
        super().__init__()
        self._channel = channel
        self._origin = uuid.uuid4().hex
        # Who is online in the other processes: origin -> (expires at, line -> provider ids).
        self._remote: dict[str, tuple[float, dict[str, set[str]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def channel(self) -> PgEventChannel:
        return self._channel

    async def start(self) -> None:
        ready = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(ready)),
                       asyncio.create_task(self._report_presence())]
        await ready.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._channel.publish(self._presence(gone=True))
        await self._channel.close()

    async def publish(self, event: dict[str, Any]) -> None:
        """Best effort: the change it tells of is already committed, so a channel failure is
        logged, never turned into a failed request; the next reconnect resends the state."""
        try:
            await self._channel.publish(event)
        except Exception as exc:
            log.error("Could not publish a hub event (%s); clients catch up on reconnect",
                      type(exc).__name__)

    def add_provider(self, sock: ProviderSocket) -> None:
        super().add_provider(sock)
        self._presence_changed()

    def remove_provider(self, sock: ProviderSocket) -> None:
        super().remove_provider(sock)
        self._presence_changed()

    def providers_online(self, service_line: str) -> int:
        now = time.monotonic()
        ids = set(self._local_online().get(service_line, set()))
        for expires, lines in self._remote.values():
            if expires > now:
                ids |= lines.get(service_line, set())
        return len(ids)

    async def deliver(self, event: dict[str, Any]) -> None:
        if event.get("to") == "presence":
            origin = str(event.get("origin"))
            if origin != self._origin:
                if event.get("gone"):
                    self._remote.pop(origin, None)
                else:
                    lines = event.get("lines") or {}
                    self._remote[origin] = (
                        time.monotonic() + 3 * PRESENCE_INTERVAL,
                        {str(k): set(map(str, v)) for k, v in lines.items()})
            return
        await super().deliver(event)

    def _presence(self, *, gone: bool = False) -> dict[str, Any]:
        lines = {} if gone else {k: sorted(v) for k, v in self._local_online().items()}
        return {"to": "presence", "origin": self._origin, "lines": lines, "gone": gone}

    def _presence_changed(self) -> None:
        if self._tasks:
            task = asyncio.get_running_loop().create_task(self._publish_presence())
            task.add_done_callback(_log_failure)

    async def _publish_presence(self) -> None:
        await self._channel.publish(self._presence())

    async def _report_presence(self) -> None:
        while True:
            try:
                await self._publish_presence()
            except Exception as exc:
                log.warning("Could not report who is online (%s)", type(exc).__name__)
            await asyncio.sleep(PRESENCE_INTERVAL)

    async def _resync(self) -> None:
        log.info("Hub event channel back; sending every socket the current state")
        if self.on_resync is not None:
            await self.on_resync()

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:  # only cancellation ends it: a dead listener would silence this process
            try:
                async for event in self._channel.listen(ready, reconnected=self._resync):
                    try:
                        await self.deliver(event)
                    except Exception:
                        log.exception("Delivering a hub event failed")
            except Exception:
                log.exception("The hub event listener failed; starting it again")
                await asyncio.sleep(1.0)
                # Events sent meanwhile are lost: resend the state once listening again.
                ready = asyncio.Event()
                resync = asyncio.create_task(self._resync_when(ready))
                resync.add_done_callback(_log_failure)

    async def _resync_when(self, ready: asyncio.Event) -> None:
        await ready.wait()
        await self._resync()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("A hub background task failed (%s)", type(task.exception()).__name__)


async def _send_all(sockets: Iterable[web.WebSocketResponse], message: dict[str, Any]) -> None:
    text = json.dumps(message, separators=(",", ":"))
    targets = [ws for ws in sockets if not ws.closed]
    if not targets:
        return
    results = await asyncio.gather(*(ws.send_str(text) for ws in targets),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.debug("A socket went away during a send: %s", type(result).__name__)
