"""HubClient against a small real aiohttp server that answers as the hub's contract says."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from workstation.client.hub_answers import HubError
from workstation.client.hub_client import HubClient
from workstation.client.hub_events import (
    ConnectionChanged,
    HubEvent,
    QueueAdded,
    QueueClaimed,
    QueueLeft,
    QueueSnapshot,
    Signal,
)

TOKEN = "token-of-dr-house"
PASSWORD = "correct horse battery"
PROVIDER = {"id": "p-1", "username": "house", "display_name": "Dr. House",
            "service_lines": ["urgent_care"]}


def entry(visit_id: str, minute: int = 0, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "visit_id": visit_id, "kind": "on_demand", "service_line": "urgent_care",
        "condition": "sore_throat", "condition_name": "Sore throat", "age": 41,
        "sex": "female", "waiting_since": f"2026-11-24T16:{minute:02d}:00+00:00",
        "payment_status": "paid", "echeckin_complete": False, "e_visit": False,
        "state": "waiting"}
    data.update(overrides)
    return data


def error(status: int, code: str, message: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code}
    if message is not None:
        body["message"] = message
    return web.json_response({"error": body}, status=status)


class CannedHub:
    """Just enough of the hub: canned answers, a record of what was asked, open sockets."""

    def __init__(self) -> None:
        self.entries = [entry("v-2", 5), entry("v-1", 1)]
        self.claimed: set[str] = {"v-taken"}
        self.needs_first_provider = False
        self.revoked = False
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self.received: list[dict[str, Any]] = []
        self.signed_out = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/setup", self.setup)
        app.router.add_post("/api/setup/first-provider", self.first_provider)
        app.router.add_post("/api/auth/sign-in", self.sign_in)
        app.router.add_post("/api/auth/sign-out", self.sign_out)
        app.router.add_get("/api/queue", self.queue)
        app.router.add_post("/api/visits/{visit_id}/claim", self.claim)
        app.router.add_post("/api/queue/claim-next", self.claim_next)
        app.router.add_post("/api/visits/{visit_id}/release", self.release)
        app.router.add_get("/api/broken", self.broken)
        app.router.add_get("/ws/provider", self.provider_socket)
        app.on_shutdown.append(self.close_sockets)
        return app

    def _authorized(self, request: web.Request) -> bool:
        return not self.revoked and request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def setup(self, _request: web.Request) -> web.Response:
        return web.json_response({"needs_first_provider": self.needs_first_provider})

    async def first_provider(self, request: web.Request) -> web.Response:
        body = await request.json()
        if len(body["password"]) < 10:
            return web.json_response({"error": {
                "code": "invalid", "message": "Some answers need attention.",
                "fields": {"password": "Use at least 10 characters."}}}, status=422)
        self.needs_first_provider = False
        return web.json_response({"provider": {**PROVIDER, "username": body["username"],
                                               "display_name": body["display_name"],
                                               "service_lines": body["service_lines"]}},
                                 status=201)

    async def sign_in(self, request: web.Request) -> web.Response:
        body = await request.json()
        if {k: body.get(k) for k in ("username", "password")} != {"username": "house",
                                                                "password": PASSWORD}:
            return error(401, "bad_credentials", "The username or password is not right.")
        return web.json_response({"token": TOKEN, "expires_at": "2026-11-25T04:00:00+00:00",
                                  "provider": PROVIDER})

    async def sign_out(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return error(401, "unauthorized", "Your session has ended. Sign in again.")
        self.signed_out += 1
        self.revoked = True
        return web.Response(status=204)

    async def queue(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return error(401, "unauthorized", "Your session has ended. Sign in again.")
        return web.json_response({"entries": self.entries})

    async def claim(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return error(401, "unauthorized", "Your session has ended. Sign in again.")
        visit_id = request.match_info["visit_id"]
        if visit_id in self.claimed:
            return error(409, "already_claimed",
                         "Another provider has already claimed this patient.")
        self.claimed.add(visit_id)
        return web.json_response({"visit_id": visit_id, "state": "claimed",
                                  "provider_id": "p-1"})

    async def claim_next(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return error(401, "unauthorized", "Your session has ended. Sign in again.")
        body = await request.json() if request.can_read_body else {}
        waiting = [e for e in self.entries if e["visit_id"] not in self.claimed
                   and e["service_line"] == body.get("service_line", e["service_line"])]
        if not waiting:
            return error(404, "queue_empty")  # the contract lets the message out
        first = min(waiting, key=lambda e: e["waiting_since"])
        self.claimed.add(first["visit_id"])
        return web.json_response({"visit_id": first["visit_id"], "state": "claimed",
                                  "provider_id": "p-1"})

    async def release(self, request: web.Request) -> web.Response:
        self.claimed.discard(request.match_info["visit_id"])
        return web.json_response({"visit_id": request.match_info["visit_id"],
                                  "state": "waiting"})

    async def broken(self, _request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad gateway</html>",
                            content_type="text/html")

    async def provider_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        if not self._authorized(request):
            await ws.close(code=4401, message=b"sign in first")
            return ws
        self.sockets.append(ws)
        try:
            await ws.send_json({"type": "queue.snapshot", "entries": self.entries})
            async for msg in ws:
                self.received.append(json.loads(msg.data))
        finally:
            self.sockets.remove(ws)
        return ws

    async def push(self, message: dict[str, Any]) -> None:
        for ws in list(self.sockets):
            await ws.send_json(message)

    async def close_sockets(self, _app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close()


@pytest.fixture
async def canned() -> AsyncIterator[tuple[CannedHub, str]]:
    hub = CannedHub()
    server = TestServer(hub.app())
    await server.start_server()
    yield hub, str(server.make_url("/")).rstrip("/")
    await server.close()


@pytest.fixture
async def client(canned: tuple[CannedHub, str]) -> AsyncIterator[HubClient]:
    async with HubClient(canned[1], reconnect_delay=lambda _attempt: 0.0) as c:
        yield c


@pytest.fixture
def hub(canned: tuple[CannedHub, str]) -> CannedHub:
    return canned[0]


async def next_event(stream: AsyncIterator[HubEvent]) -> HubEvent:
    return await asyncio.wait_for(anext(stream), 5.0)


# -- sign-in and first run ----------------------------------------------------------------


async def test_sign_in_gives_the_provider_and_authorizes_later_calls(client: HubClient):
    session = await client.sign_in("house", PASSWORD)

    assert session.provider.display_name == "Dr. House"
    assert session.provider.service_lines == ("urgent_care",)
    assert session.expires_at == datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    assert TOKEN not in repr(session)  # never in a log line
    assert len(await client.queue()) == 2


async def test_wrong_password_carries_the_hubs_message(client: HubClient):
    with pytest.raises(HubError) as caught:
        await client.sign_in("house", "not the password")

    assert caught.value.status == 401
    assert caught.value.code == "bad_credentials"
    assert caught.value.message == "The username or password is not right."
    assert not client.signed_in


async def test_calls_before_sign_in_are_refused_without_asking_the_hub(client: HubClient):
    with pytest.raises(HubError, match="Sign in first"):
        await client.queue()


async def test_first_run_setup(client: HubClient, hub: CannedHub):
    hub.needs_first_provider = True
    assert (await client.setup_status()).needs_first_provider

    provider = await client.create_first_provider("ada", "Dr. Ada", "long enough pw",
                                                  ["urgent_care"])

    assert provider.display_name == "Dr. Ada"
    assert not (await client.setup_status()).needs_first_provider


async def test_field_messages_come_with_the_error(client: HubClient):
    with pytest.raises(HubError) as caught:
        await client.create_first_provider("ada", "Dr. Ada", "short", ["urgent_care"])

    assert caught.value.message == "Some answers need attention."
    assert caught.value.fields == {"password": "Use at least 10 characters."}


async def test_sign_out_revokes_the_token_and_forgets_it(client: HubClient, hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    await client.sign_out()

    assert hub.signed_out == 1
    assert not client.signed_in
    with pytest.raises(HubError, match="Sign in first"):
        await client.queue()


# -- queue and claims ---------------------------------------------------------------------


async def test_queue_entries_are_typed(client: HubClient):
    await client.sign_in("house", PASSWORD)

    entries = await client.queue()

    first = next(e for e in entries if e.visit_id == "v-1")
    assert first.condition_name == "Sore throat"
    assert first.age == 41
    assert first.waiting_since == datetime(2026, 11, 24, 16, 1, tzinfo=UTC)
    assert first.e_visit is False


async def test_claim_won_and_claim_lost(client: HubClient):
    await client.sign_in("house", PASSWORD)

    claim = await client.claim("v-1")
    assert (claim.visit_id, claim.state, claim.provider_id) == ("v-1", "claimed", "p-1")

    with pytest.raises(HubError) as caught:
        await client.claim("v-taken")
    assert caught.value.status == 409
    assert caught.value.code == "already_claimed"
    assert str(caught.value) == "Another provider has already claimed this patient."


async def test_claim_next_takes_the_longest_waiting_then_says_the_queue_is_empty(
        client: HubClient):
    await client.sign_in("house", PASSWORD)

    assert (await client.claim_next()).visit_id == "v-1"
    assert (await client.claim_next("urgent_care")).visit_id == "v-2"
    with pytest.raises(HubError) as caught:
        await client.claim_next()
    assert caught.value.code == "queue_empty"
    assert caught.value.message  # a fallback when the hub gives no message


async def test_release_puts_the_visit_back(client: HubClient, hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    await client.claim("v-1")

    await client.release("v-1")

    assert "v-1" not in hub.claimed


async def test_an_error_page_that_is_not_json_still_gives_a_message(client: HubClient):
    with pytest.raises(HubError) as caught:
        await client._request("GET", "/api/broken", auth=False)

    assert caught.value.status == 502
    assert "HTTP 502" in caught.value.message


async def test_unreachable_hub_says_so():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with HubClient(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(HubError) as caught:
            await c.sign_in("house", PASSWORD)

    assert caught.value.status == 0
    assert caught.value.code == "unreachable"
    assert f"Cannot reach the hub at http://127.0.0.1:{port}" in caught.value.message


# -- the event stream ---------------------------------------------------------------------


async def test_events_start_with_the_snapshot_then_follow_the_queue(client: HubClient,
                                                                    hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    stream = client.events()

    assert await next_event(stream) == ConnectionChanged(True)
    snapshot = await next_event(stream)
    assert isinstance(snapshot, QueueSnapshot)
    assert {e.visit_id for e in snapshot.entries} == {"v-1", "v-2"}

    await hub.push({"type": "queue.added", "entry": entry("v-3", 9, e_visit=True)})
    added = await next_event(stream)
    assert isinstance(added, QueueAdded)
    assert added.entry.visit_id == "v-3" and added.entry.e_visit

    await hub.push({"type": "queue.claimed", "visit_id": "v-1", "provider_id": "p-2"})
    await hub.push({"type": "queue.left", "visit_id": "v-2", "reason": "cancelled"})
    await hub.push({"type": "signal", "visit_id": "v-3", "data": {"sdp": "x"}})
    assert await next_event(stream) == QueueClaimed("v-1", "p-2")
    assert await next_event(stream) == QueueLeft("v-2", "cancelled")
    assert await next_event(stream) == Signal("v-3", {"sdp": "x"})
    await stream.aclose()


async def test_messages_that_break_the_contract_are_skipped(client: HubClient,
                                                            hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    stream = client.events()
    await next_event(stream)
    await next_event(stream)

    await hub.push({"type": "queue.added", "entry": {"visit_id": "v-9"}})  # fields missing
    await hub.push({"type": "pong"})
    await hub.push({"type": "queue.left", "visit_id": "v-2", "reason": "expired"})

    assert await next_event(stream) == QueueLeft("v-2", "expired")
    await stream.aclose()


async def test_events_reconnect_after_the_hub_closes_the_socket(client: HubClient,
                                                                hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    stream = client.events()
    await next_event(stream)
    await next_event(stream)

    await hub.sockets[0].close()

    assert await next_event(stream) == ConnectionChanged(False)
    assert await next_event(stream) == ConnectionChanged(True)
    assert isinstance(await next_event(stream), QueueSnapshot)
    assert hub.connections == 2
    await stream.aclose()


async def test_subscribing_to_some_service_lines(client: HubClient, hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    stream = client.events(service_lines=["urgent_care"])
    await next_event(stream)
    await next_event(stream)

    assert hub.received == [{"type": "subscribe", "service_lines": ["urgent_care"]}]
    await client.send_signal("v-1", {"candidate": "c"})
    await hub.push({"type": "queue.left", "visit_id": "v-2", "reason": "expired"})
    await next_event(stream)  # the round trip guarantees the signal arrived first
    assert hub.received[-1] == {"type": "signal", "visit_id": "v-1", "data": {"candidate": "c"}}
    await stream.aclose()


async def test_a_session_the_hub_no_longer_accepts_ends_the_stream(client: HubClient,
                                                                   hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    hub.revoked = True
    stream = client.events()

    with pytest.raises(HubError) as caught:
        await next_event(stream)

    assert caught.value.status == 401
    assert caught.value.message == "Your session has ended. Sign in again."


async def test_signing_out_ends_the_stream(client: HubClient, hub: CannedHub):
    await client.sign_in("house", PASSWORD)
    stream = client.events()
    await next_event(stream)
    await next_event(stream)

    await client.sign_out()

    with pytest.raises(StopAsyncIteration):
        await next_event(stream)


async def test_a_hub_that_is_down_reports_disconnected_and_keeps_trying():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempts: list[int] = []

    def delay(attempt: int) -> float:
        attempts.append(attempt)
        return 0.01

    async with HubClient(f"http://127.0.0.1:{port}", reconnect_delay=delay) as c:
        c._token = TOKEN  # signed in earlier; the hub went away since
        stream = c.events()
        assert await next_event(stream) == ConnectionChanged(False)
        with pytest.raises(TimeoutError):  # no repeated "disconnected" while retrying
            await asyncio.wait_for(anext(stream), 0.3)
        await stream.aclose()

    assert attempts[:3] == [0, 1, 2]  # backing off: the delay grows with each attempt
