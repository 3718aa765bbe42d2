"""A real hub on a loopback port, with a clock the test can move."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.conftest import OPEN_NOW
from workstation.core.people import Provider
from workstation.hub.server import RunningHub, start_hub

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self, now: datetime = OPEN_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class HubContext:
    hub: RunningHub
    clock: Clock
    http: aiohttp.ClientSession
    desk_token: str = ""  # the front desk's session, once book_appointment has signed it in

    @property
    def url(self) -> str:
        return self.hub.url

    async def add_provider(self, username: str, service_lines: tuple[str, ...] = (
            "urgent_care", "specialty_care")) -> Provider:
        return await self.hub.service.add_provider(username, f"Dr. {username.title()}",
                                                   PASSWORD, service_lines)

    async def sign_in(self, username: str) -> str:
        async with self.http.post(f"{self.url}/api/auth/sign-in",
                                  json={"username": username, "password": PASSWORD}) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["token"])

    async def book_appointment(self, starts_in: timedelta) -> dict[str, Any]:
        """A specialty-care follow-up of the factories' patient, ``starts_in`` from now, booked
        by a provider of its own (the clinic's front desk)."""
        from tests.factories import checkin_body

        if not self.desk_token:
            await self.add_provider("desk")
            self.desk_token = await self.sign_in("desk")
        body = {"patient": checkin_body()["patient"], "service_line": "specialty_care",
                "condition": "follow_up",
                "scheduled_for": (self.clock.now + starts_in).isoformat()}
        status, appointment = await self.post("/api/appointments", body, self.desk_token)
        assert status == 201, appointment
        return dict(appointment)

    async def provider_socket(self, token: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{self.url}/ws/provider",
                                        headers={"Authorization": f"Bearer {token}"})
        snapshot = await receive(ws)
        assert snapshot["type"] == "queue.snapshot"
        return ws

    async def patient_socket(self, token: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{self.url}/ws/patient/{token}")
        status = await receive(ws)
        assert status["type"] == "status"
        # The ICE servers for the video page; a newer place in the line may come first when
        # an event of another hub process arrives meanwhile.
        while (message := await receive(ws))["type"] == "status":
            pass
        assert message["type"] == "rtc"
        return ws

    async def post(self, path: str, body: Any = None, token: str | None = None,
                   ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(f"{self.url}{path}", json=body, headers=headers) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None

    async def put(self, path: str, body: Any = None, token: str | None = None,
                  ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.put(f"{self.url}{path}", json=body, headers=headers) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(f"{self.url}{path}", headers=headers) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a message, got {msg.type} {msg.data}"
    return json.loads(msg.data)  # type: ignore[no-any-return]


async def receive_type(ws: aiohttp.ClientWebSocketResponse, kind: str,
                       timeout: float = 5.0) -> dict[str, Any]:
    """The next message of this type, passing over others (e.g. position updates)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await receive(ws, timeout)
            if message["type"] == kind:
                return message


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> int | None:
    """Read until the server closes the socket; return its close code."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING):
                return ws.close_code


@contextlib.asynccontextmanager
async def running_hub(store, site, resources, *,  # type: ignore[no-untyped-def]
                      processor: Any = None, demo: bool = False,
                      ) -> AsyncIterator[HubContext]:
    """The embedded hub on a real port, with its clock and an HTTP session; ``processor``
    replaces the simulated payment processor; ``demo``: the demo's hub."""
    clock = Clock()
    hub = await start_hub(store, site, resources, embedded=True, clock=clock,
                          processor=processor, demo=demo)
    try:
        async with aiohttp.ClientSession() as http:
            yield HubContext(hub, clock, http)
    finally:
        await hub.close()


@pytest.fixture
async def hub_ctx(sqlite_store, site, resources) -> AsyncIterator[HubContext]:  # type: ignore[no-untyped-def]
    async with running_hub(sqlite_store, site, resources) as ctx:
        yield ctx


@pytest.fixture
async def any_db_hub_ctx(store, site, resources) -> AsyncIterator[HubContext]:  # type: ignore[no-untyped-def]
    """The hub on SQLite and, marked postgres, on the real PostgreSQL server."""
    async with running_hub(store, site, resources) as ctx:
        yield ctx
