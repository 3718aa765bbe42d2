"""The hubs' PostgreSQL event channel, as another database role sees it: nothing to read of a
call, and nothing it sends is acted on.

Any role that can connect may LISTEN and NOTIFY on any channel; PostgreSQL has no right to
take for that. These tests give an untrusted role the right to connect (as a DBA might for a
reporting tool) and have it listen and forge while two hubs carry a call between them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from tests.conftest import fresh_pg_database
from tests.factories import checkin_body
from tests.hub_fixtures import HubContext, receive, receive_type, running_hub
from workstation.hub.broker import FanoutBroker
from workstation.storage import privileges
from workstation.storage.database import make_engine, open_store
from workstation.storage.notify import CHANNEL

pytestmark = pytest.mark.postgres

OFFER = {"type": "offer",
         "sdp": "v=0\r\na=fingerprint:sha-256 AB:CD:EF:01:23:45\r\na=ice-pwd:secretpwd\r\n"}


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def clinic_db() -> Iterator[URL]:
    with fresh_pg_database("ws_channel") as url:
        yield url


@pytest.fixture
def intruder(clinic_db: URL) -> Iterator[URL]:
    """Another login role on the same server; it may connect only where it is granted to."""
    name = f"ws_intruder_{uuid.uuid4().hex[:8]}"
    admin = create_engine(clinic_db, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'intruder'"))
    try:
        yield clinic_db.set(username=name, password="intruder")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'REVOKE ALL ON DATABASE "{clinic_db.database}" FROM {name}'))
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name}"))
        admin.dispose()
        # The database is dropped by its fixture; the role goes once nothing refers to it.
        admin = create_engine(clinic_db.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
async def two_hubs(clinic_db, site, resources) -> AsyncIterator[tuple[HubContext, HubContext]]:  # type: ignore[no-untyped-def]
    store_a, store_b = open_store(clinic_db), open_store(clinic_db)
    try:
        async with running_hub(store_a, site, resources) as a, \
                running_hub(store_b, site, resources) as b:
            yield a, b
    finally:
        store_a.close()
        store_b.close()


def test_db_upgrade_takes_back_the_right_to_connect_from_every_other_role(clinic_db, intruder):
    engine = make_engine(clinic_db)
    try:
        open_store(clinic_db).close()  # the schema, as `workstation db upgrade` makes it
        with psycopg.connect(_conninfo(intruder)):
            pass  # PostgreSQL's default: PUBLIC may connect to a new database

        assert privileges.lock_down(engine) == []

        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(_conninfo(intruder))
        with psycopg.connect(_conninfo(clinic_db)):
            pass  # the hub's own role still connects
        assert privileges.remaining(engine) == []
    finally:
        engine.dispose()


def test_what_the_owner_cannot_take_back_is_reported_with_the_statement(clinic_db, intruder):
    engine = make_engine(clinic_db)
    try:
        open_store(clinic_db).close()
        _as_hub_role(clinic_db, f"GRANT SELECT ON hub_events TO {intruder.username}")

        left = privileges.lock_down(engine)

        assert [r.what for r in left] == ["other roles hold rights on the table hub_events"]
        assert 'REVOKE ALL ON TABLE "public"."hub_events"' in left[0].statement
    finally:
        engine.dispose()


def _as_hub_role(url: URL, statement: str) -> Any:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(statement))
            return result.scalar_one() if result.returns_rows else None
    finally:
        engine.dispose()


async def _listen(url: URL, heard: list[str], ready: asyncio.Event) -> None:
    async with await psycopg.AsyncConnection.connect(_conninfo(url), autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        ready.set()
        async for note in conn.notifies():
            heard.append(note.payload)


async def _notify(url: URL, *payloads: str) -> None:
    async with await psycopg.AsyncConnection.connect(_conninfo(url), autocommit=True) as conn:
        for payload in payloads:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


async def test_a_role_that_may_connect_hears_nothing_of_a_call_and_cannot_read_it(
        clinic_db, intruder, two_hubs):
    a, b = two_hubs
    _as_hub_role(clinic_db,
                 f'GRANT CONNECT ON DATABASE "{clinic_db.database}" TO {intruder.username}')
    heard: list[str] = []
    ready = asyncio.Event()
    listener = asyncio.create_task(_listen(intruder, heard, ready))
    await ready.wait()
    try:
        await a.add_provider("house")
        token = await a.sign_in("house")
        provider_ws = await a.provider_socket(token)
        _, visit = await b.post("/api/checkins", checkin_body())
        patient_ws = await b.patient_socket(visit["visit_token"])
        await a.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
        await provider_ws.send_str(json.dumps(
            {"type": "signal", "visit_id": visit["visit_id"], "data": OFFER}))
        assert (await receive_type(patient_ws, "signal"))["data"] == OFFER  # the hubs work
    finally:
        await asyncio.sleep(0.2)
        listener.cancel()

    assert len(heard) >= 4  # it did hear the channel: a check-in, a claim, a signal, presence
    assert all(payload.isdigit() for payload in heard)
    assert not any("fingerprint" in p or visit["visit_id"] in p for p in heard)
    async with await psycopg.AsyncConnection.connect(_conninfo(intruder)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("SELECT payload FROM hub_events")


async def test_forged_and_replayed_notifications_are_not_delivered(clinic_db, intruder, two_hubs):
    a, b = two_hubs
    _as_hub_role(clinic_db,
                 f'GRANT CONNECT ON DATABASE "{clinic_db.database}" TO {intruder.username}')
    await a.add_provider("house")
    token = await a.sign_in("house")
    provider_ws = await a.provider_socket(token)
    _, visit = await b.post("/api/checkins", checkin_body())
    patient_ws = await b.patient_socket(visit["visit_token"])
    await receive_type(provider_ws, "queue.added")
    await a.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
    await receive_type(patient_ws, "provider_ready")
    delivered = _as_hub_role(clinic_db, "SELECT max(id) FROM hub_events")

    forged_signal = {"to": "patient", "target": visit["visit_id"],
                     "message": {"type": "signal", "data": {"type": "offer", "sdp": "forged"}}}
    empty_queue = {"to": "line", "target": "urgent_care",
                   "message": {"type": "queue.snapshot", "entries": []}}
    await _notify(intruder, json.dumps(forged_signal), json.dumps(empty_queue),
                  str(delivered),  # replayed: an event both hubs already acted on
                  "999999999",  # no such event
                  "-1", "1e3", "")
    # Then a genuine event: notifications arrive in the order they were sent, so anything of
    # the intruder's that got through would reach the sockets before it.
    await provider_ws.send_str(json.dumps(
        {"type": "signal", "visit_id": visit["visit_id"], "data": OFFER}))

    first: dict[str, Any] = await receive(patient_ws)
    while first["type"] == "status":  # the waiting-room updates of the claim may trail
        first = await receive(patient_ws)
    assert first == {"type": "signal", "data": OFFER}
    brokers = [hub.hub.service.broker for hub in (a, b)]
    channels = [broker.channel for broker in brokers if isinstance(broker, FanoutBroker)]
    assert len(channels) == 2
    async with asyncio.timeout(5):  # each hub reads the channel at its own pace
        while any(channel.ignored < 7 for channel in channels):
            await asyncio.sleep(0.02)
    assert [channel.ignored for channel in channels] == [7, 7]

    await provider_ws.send_str(json.dumps({"type": "ping"}))
    provider_saw = []
    while (message := await receive(provider_ws))["type"] != "pong":
        provider_saw.append(message)
    assert not any(m["type"] == "queue.snapshot" for m in provider_saw)
