"""Slow and greedy clients over real sockets: half-sent heads and trickled bodies are cut off,
one address cannot hold the hub's connections, and other clients are served meanwhile."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from tests.factories import checkin_body
from tests.hub_fixtures import Clock
from workstation.hub.guard import GUARD, ClientLimits
from workstation.hub.server import RunningHub, start_hub
from workstation.log_limits import RateLimitedLog

LIMITS = ClientLimits(head_seconds=1.0, body_seconds=0.5, waiting_per_address=8,
                      waiting_total=100)


@pytest.fixture
async def hub(sqlite_store, site, resources) -> AsyncIterator[RunningHub]:  # type: ignore[no-untyped-def]
    running = await start_hub(sqlite_store, site, resources, embedded=True, clock=Clock(),
                              limits=LIMITS)
    try:
        yield running
    finally:
        await running.close()


async def _half_sent(url: str, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that sends a request line and one header, and never the rest."""
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port,
                                                   local_addr=(source, 0))
    writer.write(b"GET /api/site HTTP/1.1\r\nHost: hub\r\n")
    await writer.drain()
    return reader, writer


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    """Whether the server ends the connection within ``timeout`` (what it sent before is read
    and left aside)."""
    try:
        await asyncio.wait_for(reader.read(), timeout)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


async def _site_from(url: str, source: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http, \
            http.get(f"{url}/api/site") as response:
        return response.status


async def test_one_address_cannot_hold_more_than_its_share_of_waiting_connections(hub, caplog):
    caplog.set_level(logging.WARNING, logger="workstation.hub.guard")
    connections = [await _half_sent(hub.url, "127.0.0.1") for _ in range(60)]
    guard = hub.app[GUARD]
    async with asyncio.timeout(5):
        while guard.refused < 52:
            await asyncio.sleep(0.01)

    assert guard.refused == 52  # all beyond the address's 8
    assert guard.waiting == 8
    assert await _site_from(hub.url, "127.0.0.2") == 200  # another address is served at once
    guard_lines = [r for r in caplog.records if r.name == "workstation.hub.guard"]
    assert len(guard_lines) == 1  # one line for 52 refusals
    for _, writer in connections:
        writer.close()


async def test_a_half_sent_request_is_closed_after_the_head_timeout(hub):
    reader, writer = await _half_sent(hub.url, "127.0.0.1")

    assert not await _closed_by_server(reader, LIMITS.head_seconds / 2)  # it may still finish
    assert await _closed_by_server(reader, LIMITS.head_seconds * 3)
    assert hub.app[GUARD].waiting == 0
    writer.close()


async def test_the_hub_total_of_waiting_connections_is_bounded(hub):
    connections = [await _half_sent(hub.url, f"127.0.1.{i}") for i in range(1, 121)]
    guard = hub.app[GUARD]
    async with asyncio.timeout(5):
        while guard.refused < 20:
            await asyncio.sleep(0.01)

    assert guard.waiting == LIMITS.waiting_total
    for _, writer in connections:
        writer.close()
    async with asyncio.timeout(5):  # closed connections give their places back
        while guard.waiting:
            await asyncio.sleep(0.01)
    assert await _site_from(hub.url, "127.0.1.1") == 200


async def test_a_trickled_body_gets_408_and_nothing_is_saved(hub):
    target = URL(hub.url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    body = json.dumps(checkin_body()).encode()
    writer.write(b"POST /api/checkins HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json"
                 b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:20])
    await writer.drain()

    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMITS.body_seconds * 6)

    assert head.startswith(b"HTTP/1.1 408")
    assert await _closed_by_server(reader, 5)  # after the answer, the connection is closed
    writer.close()
    assert hub.service.store.waiting_visits() == []


async def test_connections_in_a_request_are_not_counted_as_waiting(hub):
    async with aiohttp.ClientSession() as http:
        status = []
        for _ in range(3):
            async with http.post(f"{hub.url}/api/checkins", json=checkin_body()) as r:
                status.append(r.status)
        visit = await (await http.post(f"{hub.url}/api/checkins", json=checkin_body())).json()
        sockets = [await http.ws_connect(f"{hub.url}/ws/patient/{visit['visit_token']}")
                   for _ in range(3 * LIMITS.waiting_per_address)]
        for ws in sockets:
            assert (await ws.receive_json(timeout=5))["type"] == "status"
        assert status == [201, 201, 201]
        assert hub.app[GUARD].waiting <= 1  # the session's one idle keep-alive connection
        for ws in sockets:
            await ws.close()


def test_a_flood_of_one_log_line_is_cut_to_a_burst_and_a_count():
    limiter = RateLimitedLog(burst=10, seconds=0.2)
    record = logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                               "socket.accept() out of system resource", None, None)

    passed = sum(limiter.filter(record) for _ in range(10_000))
    assert passed == 10
    other = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "another", None, None)
    assert limiter.filter(other)  # another message has its own burst

    time.sleep(0.25)
    assert limiter.filter(record)
    assert record.msg.endswith("[9990 like this left out]")
