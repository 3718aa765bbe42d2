"""Slow and greedy clients: what one address may hold of the hub, and for how long.

A connection that has not sent a whole request head holds a file descriptor and nothing else
of use; hundreds of them from a few addresses used to exhaust the hub's descriptors, so that
``accept()`` failed for everyone. Here such a connection (just opened, half-sent, or idle
between requests) is *waiting*: each address may keep ``waiting_per_address`` of them and the
hub ``waiting_total``; one more is closed at once. A waiting connection is closed after
``head_seconds`` (aiohttp's keep-alive timer, which also runs from the moment a connection is
made), and a request body must arrive within ``body_seconds`` (408 otherwise). Connections in a
request, WebSockets included, are not counted: a thousand patients in the waiting room are
welcome.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ClientLimits:
    head_seconds: float = 10.0  # from connecting, or the end of the last answer, to a head
    body_seconds: float = 20.0  # to receive a whole request body (at most 1 MB)
    linger_seconds: float = 1.0  # reading what is left of a body that was not taken
    waiting_per_address: int = 128  # a clinic's workstations may share one address
    waiting_total: int = 4096


class ConnectionGuard:
    """Counts, per client address, the connections that wait, and refuses one too many."""

    def __init__(self, limits: ClientLimits) -> None:
        self.limits = limits
        self._waiting: Counter[str] = Counter()
        self.waiting = 0  # in all: kept as it changes, not summed at every connection
        self._connections: dict[RequestHandler, tuple[str, bool]] = {}  # -> address, waiting
        self.refused = 0
        self._refusals_logged_at = -60.0

    def install(self, server: web.Server) -> None:
        """Count the connections aiohttp's server makes and loses."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            if (self._waiting[address] >= self.limits.waiting_per_address
                    or self.waiting >= self.limits.waiting_total):
                self._refuse(address)
                # Once aiohttp has set the connection up (closing it inside this call would
                # leave its request task without a server).
                asyncio.get_running_loop().call_soon(transport.abort)
                return
            self._connections[handler] = (address, True)
            self._waiting[address] += 1
            self.waiting += 1

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            self._set_waiting(handler, False)
            self._connections.pop(handler, None)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A request in progress no longer waits; its body must come in time."""
        protocol = request.protocol
        self._set_waiting(protocol, False)
        try:
            if request.body_exists:
                try:
                    async with asyncio.timeout(self.limits.body_seconds):
                        await request.read()
                except TimeoutError:
                    protocol.close()  # the rest of the body is not read as a request
                    raise web.HTTPRequestTimeout(
                        text="The request's body did not arrive in time.") from None
            return await handler(request)
        finally:
            self._set_waiting(protocol, True)  # idle until its next request, or closed

    def _set_waiting(self, protocol: Any, waiting: bool) -> None:
        entry = self._connections.get(protocol)
        if entry is None or entry[1] == waiting:
            return
        address = entry[0]
        self._connections[protocol] = (address, waiting)
        if waiting:
            self._waiting[address] += 1
            self.waiting += 1
        else:
            self.waiting -= 1
            self._waiting[address] -= 1
            if self._waiting[address] <= 0:
                del self._waiting[address]

    def _refuse(self, address: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._refusals_logged_at >= 60.0:
            self._refusals_logged_at = now
            log.warning("Closed a connection: too many connections without a request "
                        "(%d refused so far)", self.refused)


def raise_open_file_limit() -> int:
    """Let the hub hold as many connections as the system allows it (the soft limit up to
    the hard one); returns the limit in force."""
    if sys.platform == "win32":
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            log.info("Could not raise the open-file limit above %d", soft)
    return soft


GUARD: web.AppKey[ConnectionGuard] = web.AppKey("guard", ConnectionGuard)
