"""Two hub processes on one PostgreSQL database agree through it, never through memory.

Each hub here has its own app, port, broker, database engine and event-channel connections;
all they share is the PostgreSQL server, as two processes behind a load balancer would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from tests.conftest import fresh_pg_database
from tests.factories import checkin_body
from tests.hub_fixtures import HubContext, receive_type, running_hub
from workstation.hub.broker import FanoutBroker
from workstation.storage.database import open_store

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]


@pytest.fixture
async def two_hubs(site, resources) -> AsyncIterator[tuple[HubContext, HubContext]]:  # type: ignore[no-untyped-def]
    with fresh_pg_database("ws_scale") as url:
        store_a, store_b = open_store(url), open_store(url)
        try:
            async with running_hub(store_a, site, resources) as a, \
                    running_hub(store_b, site, resources) as b:
                assert isinstance(a.hub.service.broker, FanoutBroker)
                yield a, b
        finally:
            store_a.close()
            store_b.close()


async def test_a_check_in_on_one_hub_reaches_a_provider_on_the_other(two_hubs):
    a, b = two_hubs
    await a.add_provider("house")
    provider_ws = await a.provider_socket(await a.sign_in("house"))

    status, visit = await b.post("/api/checkins", checkin_body())

    assert status == 201
    added = await receive_type(provider_ws, "queue.added")
    assert added["entry"]["visit_id"] == visit["visit_id"]


async def test_claim_and_signaling_cross_between_hubs(two_hubs):
    a, b = two_hubs
    await a.add_provider("house")
    token = await a.sign_in("house")
    provider_ws = await a.provider_socket(token)
    _, visit = await b.post("/api/checkins", checkin_body())
    patient_ws = await b.patient_socket(visit["visit_token"])

    status, _ = await a.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
    assert status == 200
    ready = await receive_type(patient_ws, "provider_ready")
    assert ready["provider_name"] == "Dr. House"

    # An SDP offer can be larger than one PostgreSQL notification (8000 bytes).
    offer = {"type": "offer", "sdp": "v=0\r\n" + "a=candidate:x\r\n" * 2000}
    await provider_ws.send_str(json.dumps(
        {"type": "signal", "visit_id": visit["visit_id"], "data": offer}))
    relayed = await receive_type(patient_ws, "signal")
    assert relayed["data"] == offer

    answer = {"type": "answer", "sdp": "v=0\r\na=answer\r\n"}
    await patient_ws.send_str(json.dumps({"type": "signal", "data": answer}))
    back = await receive_type(provider_ws, "signal")
    assert back == {"type": "signal", "visit_id": visit["visit_id"], "data": answer}


async def test_waiting_patients_on_one_hub_move_up_when_the_other_claims(two_hubs):
    a, b = two_hubs
    await a.add_provider("house")
    token = await a.sign_in("house")
    _, first = await b.post("/api/checkins", checkin_body())
    b.clock.advance(seconds=1)
    _, second = await b.post("/api/checkins", checkin_body())
    second_ws = await b.patient_socket(second["visit_token"])

    await a.post(f"/api/visits/{first['visit_id']}/claim", token=token)

    async with asyncio.timeout(5):
        while True:
            status = await receive_type(second_ws, "status")
            if status.get("position") == 1:
                break


async def test_each_hub_counts_the_providers_online_on_the_other(two_hubs):
    a, b = two_hubs
    await a.add_provider("house")
    provider_ws = await a.provider_socket(await a.sign_in("house"))
    broker_b = b.hub.service.broker

    async with asyncio.timeout(5):
        while broker_b.providers_online("urgent_care") != 1:
            await asyncio.sleep(0.02)

    await provider_ws.close()
    async with asyncio.timeout(5):
        while broker_b.providers_online("urgent_care") != 0:
            await asyncio.sleep(0.02)


async def test_a_cut_event_channel_reconnects_and_resends_the_queue(two_hubs):
    a, b = two_hubs
    await a.add_provider("house")
    provider_ws = await a.provider_socket(await a.sign_in("house"))
    store = a.hub.service.store
    listening = text("SELECT pid FROM pg_stat_activity "
                     "WHERE datname = current_database() AND query LIKE 'LISTEN%'")
    with store.engine.connect() as conn:
        pids = conn.execute(listening).scalars().all()
        assert len(pids) == 2  # one listener per hub
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # While the channel is down, a check-in on hub B may not reach hub A as an event …
    _, missed = await b.post("/api/checkins", checkin_body())

    # … but once A listens again, its provider gets the whole queue afresh.
    snapshot = await receive_type(provider_ws, "queue.snapshot", timeout=10)
    assert missed["visit_id"] in [e["visit_id"] for e in snapshot["entries"]]
    _, later = await b.post("/api/checkins", checkin_body())
    added = await receive_type(provider_ws, "queue.added", timeout=10)
    if added["entry"]["visit_id"] == missed["visit_id"]:  # delivered after all: fine, skip it
        added = await receive_type(provider_ws, "queue.added", timeout=10)
    assert added["entry"]["visit_id"] == later["visit_id"]
