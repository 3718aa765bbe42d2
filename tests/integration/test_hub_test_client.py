"""The hub through aiohttp's in-process test client: the same app, without a listening port."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.factories import checkin_body
from workstation.hub.server import create_app

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(sqlite_store, site, resources, embedded=True))


async def test_unknown_api_paths_and_methods_answer_json(client):
    r = await client.get("/api/no-such-thing")
    assert r.status == 404
    assert (await r.json())["error"] == {"code": "not_found",
                                         "message": "There is nothing at this address."}
    r = await client.delete("/api/checkins")
    assert r.status == 405
    assert (await r.json())["error"]["code"] == "method_not_allowed"


async def test_pages_carry_a_strict_content_security_policy(client):
    r = await client.get("/checkin")
    assert r.status == 200
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"  # visit links never leak onwards


async def test_a_body_over_the_limit_is_refused_and_nothing_is_written(client, sqlite_store):
    r = await client.post("/api/checkins", json=checkin_body(symptoms="x" * 100_000))
    assert r.status == 413
    assert (await r.json())["error"]["code"] == "too_large"
    assert sqlite_store.waiting_visits() == []


async def test_provider_socket_without_a_token_is_closed_with_4401(client):
    ws = await client.ws_connect("/ws/provider")
    msg = await ws.receive()
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 4401
