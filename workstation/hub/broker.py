"""Who is connected, and pushing events to them as they happen (no polling).

One broker per hub process. Queue events go to every provider socket subscribed to the
visit's service line; visit events go to the sockets of that visit's patient.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ProviderSocket:
    ws: web.WebSocketResponse
    provider_id: str
    service_lines: set[str] = field(default_factory=set)


class Broker:
    def __init__(self) -> None:
        self._providers: set[ProviderSocket] = set()
        self._patients: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    # -- registration -----------------------------------------------------------------------

    def add_provider(self, sock: ProviderSocket) -> None:
        self._providers.add(sock)

    def remove_provider(self, sock: ProviderSocket) -> None:
        self._providers.discard(sock)

    def add_patient(self, visit_id: str, ws: web.WebSocketResponse) -> None:
        self._patients[visit_id].add(ws)

    def remove_patient(self, visit_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._patients.get(visit_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._patients[visit_id]

    def providers_online(self, service_line: str) -> int:
        return len({s.provider_id for s in self._providers if service_line in s.service_lines})

    def provider_sockets(self, provider_id: str) -> list[ProviderSocket]:
        return [s for s in self._providers if s.provider_id == provider_id]

    def patient_visit_ids(self) -> list[str]:
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
        await _send_all((s.ws for s in list(self._providers)
                         if service_line in s.service_lines), message)

    async def to_provider(self, provider_id: str, message: dict[str, Any]) -> None:
        await _send_all((s.ws for s in self.provider_sockets(provider_id)), message)

    async def to_patient(self, visit_id: str, message: dict[str, Any]) -> None:
        await _send_all(list(self._patients.get(visit_id, ())), message)


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
