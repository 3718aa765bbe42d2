"""E-prescribing over the real hub: checks, the outbox and its sender, the pharmacy network
simulator, live status to the provider and the patient, and delivery exactly once through a
gateway that fails, times out and answers nonsense."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock, HubContext, receive_type
from workstation.core import ncpdp
from workstation.core.people import Address
from workstation.core.prescribing import RxStatus
from workstation.erx.sender import OutboxSender, SenderSettings, sender_factory
from workstation.hub.prescription_api import PRESCRIPTIONS
from workstation.hub.server import start_hub
from workstation.storage.prescriptions import DELIVERED, FAILED, SENDING

pytestmark = pytest.mark.asyncio

FAST = SenderSettings(timeout=1.0, first_retry=0.05, longest_retry=0.2, lease=1.5,
                      idle_poll=0.2)
NPI = "1234567893"
AZITHROMYCIN, AMOXICILLIN, CODEINE = "308460", "308191", "993781"
CHOSEN = checkin_body()["pharmacy_id"]


def clinic_site(site: Any, **changes: Any) -> Any:
    settings = {"clinic_address": Address("500 Clinic Way", "Austin", "TX", "78702"),
                "clinic_phone": "512-555-0100", "erx_simulator_delay_seconds": 0.05,
                **changes}
    return dataclasses.replace(site, **settings)


@contextlib.asynccontextmanager
async def erx_hub(store: Any, site: Any, resources: Any, *, gateway: str = "",
                  settings: SenderSettings = FAST, npi: str = NPI, embedded: bool = True,
                  ) -> AsyncIterator[tuple[HubContext, str, dict[str, Any]]]:
    """A hub with its sender running, a signed-in provider and a claimed visit (the
    workstation's embedded hub, or with ``embedded=False`` a clinic's)."""
    config = site if site.clinic_address is not None else clinic_site(site)
    hub = await start_hub(store, dataclasses.replace(config, erx_gateway_url=gateway), resources,
                          embedded=embedded, clock=Clock(), outbox=sender_factory(settings))
    try:
        async with aiohttp.ClientSession() as http:
            ctx = HubContext(hub, Clock(), http)
            await hub.service.add_provider("house", "Gregory House, MD", PASSWORD,
                                           ("urgent_care",), npi)
            token = await ctx.sign_in("house")
            _, visit = await ctx.post("/api/checkins", checkin_body())
            status, _ = await ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
            assert status == 200
            yield ctx, token, visit
    finally:
        await hub.close()


def script(rxcui: str = AZITHROMYCIN, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": uuid.uuid4().hex, "rxcui": rxcui,
        "sig": {"dose": "2", "dose_unit": "tablet", "frequency": "QD", "duration_days": 3},
        "quantity": "6", "quantity_unit": "tablet", "days_supply": 3, "refills": 0,
        "substitution_allowed": True, "note": "", "pharmacy_ncpdp_id": CHOSEN}
    body.update(changes)
    return body


async def wait_status(ctx: HubContext, token: str, visit_id: str, rx_id: str,
                      wanted: set[str], timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            _, listed = await ctx.get(f"/api/visits/{visit_id}/prescriptions", token)
            found = next(p for p in listed["prescriptions"] if p["id"] == rx_id)
            if found["status"] in wanted:
                return found  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def wait_delivered(store: Any, timeout: float = 15.0) -> None:
    """Until every message in the outbox is delivered (the pharmacy's own answer may settle a
    script's status before its sender has recorded the network's)."""
    async with asyncio.timeout(timeout):
        while any(state != DELIVERED for _i, state, _e in store.outbox()):
            await asyncio.sleep(0.05)


def simulator_key(simulator: list[str]) -> dict[str, str]:
    """A test's own gateway passes messages on to the hub's simulator with the hub's key."""
    return {"Authorization": f"Bearer {simulator[1]}"}


async def restart_and_deliver(ctx: HubContext, token: str, visit_id: str, rx_id: str) -> None:
    """A new sender (the app started again) takes the message over once its lease ran out,
    posts it again under the same MessageID, and the pharmacy still has it once."""
    service = prescriptions(ctx)
    restarted = OutboxSender(service.store, service.gateway_url, listener=service.changed,
                             settings=FAST, gateway_headers=service.gateway_headers)
    service.outbox = restarted
    await restarted.start()
    try:
        await wait_delivered(service.store)
        await wait_status(ctx, token, visit_id, rx_id, {"accepted"})
    finally:
        await restarted.stop()
    assert len(service.store.inbox()) == 1
    [(item, state, _e)] = service.store.outbox()
    assert state == DELIVERED and item.attempts == 2


def prescriptions(ctx: HubContext) -> Any:
    return ctx.hub.app[PRESCRIPTIONS]


async def test_a_script_reaches_the_pharmacy_and_everyone_sees_it_accepted(
        store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(store, site, resources) as (ctx, token, visit):
        provider_ws = await ctx.provider_socket(token)
        patient_ws = await ctx.patient_socket(visit["visit_token"])
        vid = visit["visit_id"]

        status, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)

        assert status == 201, rx
        assert rx["status"] == "queued" and rx["pharmacy"]["name"] == "Main Street Pharmacy"
        assert rx["sig_text"] == "Take 2 tablets by mouth once a day for 3 days."
        while (await receive_type(provider_ws, "prescription"))["prescription"]["status"] \
                != "accepted":
            pass
        seen = (await receive_type(patient_ws, "prescription"))["prescription"]
        while seen["status"] != "accepted":
            seen = (await receive_type(patient_ws, "prescription"))["prescription"]
        assert seen["pharmacy"]["name"] == "Main Street Pharmacy"
        _, page = await ctx.get(f"/api/visits/{visit['visit_token']}")
        assert [p["status"] for p in page["prescriptions"]] == ["accepted"]
        [kept] = prescriptions(ctx).store.inbox(CHOSEN)
        received = ncpdp.parse_prescription(kept.payload)
        assert received.medication.rxcui == AZITHROMYCIN
        assert received.patient.last_name == "Quartermaine"
        assert received.prescriber.npi == NPI and received.prescriber.last_name == "House"
        actions = [e.action for e in store.audit_events(visit_id=vid)]
        assert "erx.prescribe" in actions


async def test_an_allergy_needs_a_reason_and_the_reason_is_audited(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        amox = script(AMOXICILLIN, sig={"dose": "1", "dose_unit": "capsule",
                                         "frequency": "TID", "duration_days": 10},
                      quantity="30", quantity_unit="capsule", days_supply=10)

        status, answer = await ctx.post(f"/api/visits/{vid}/prescriptions", amox, token)
        assert status == 409 and answer["error"]["code"] == "needs_override"
        assert [f["kind"] for f in answer["error"]["findings"]] == ["allergy"]
        assert prescriptions(ctx).store.for_visit(vid) == []  # nothing written

        amox["override_reason"] = "Tolerated amoxicillin in 2024 per patient"
        status, answer = await ctx.post(f"/api/visits/{vid}/prescriptions", amox, token)
        assert status == 409  # a reason covers only the warnings the provider was shown
        amox["acknowledged"] = [f["message"] for f in answer["error"]["findings"]]
        status, _rx = await ctx.post(f"/api/visits/{vid}/prescriptions", amox, token)
        assert status == 201
        [override] = [e for e in sqlite_store.audit_events(visit_id=vid)
                      if e.action == "erx.override"]
        assert "allergy" in override.detail
        assert "Tolerated amoxicillin in 2024 per patient" in override.detail


async def test_a_controlled_substance_is_refused_with_the_reason(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        body = script(CODEINE, override_reason="any", sig={
            "dose": "1", "dose_unit": "tablet", "frequency": "Q6H", "duration_days": 3,
            "prn": True}, quantity="12", days_supply=3)
        status, answer = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions",
                                        body, token)
        assert status == 422 and answer["error"]["code"] == "refused"
        assert "two-factor" in answer["error"]["message"]
        assert prescriptions(ctx).store.outbox() == []


@pytest.mark.parametrize(("embedded", "who"), [(True, "set it in Settings > Practice."),
                                               (False, "ask IT to add it.")])
async def test_the_pre_send_check_lists_what_the_pharmacy_needs_instead_of_sending(
        sqlite_store, site, resources, embedded: bool, who: str,
        ) -> None:  # type: ignore[no-untyped-def]
    """The hint says who fixes it: on the workstation's own hub the provider is IT."""
    site = dataclasses.replace(site, erx_simulator=True)  # a clinic's hub with its simulator
    async with erx_hub(sqlite_store, site, resources, npi="", embedded=embedded) as (
            ctx, token, visit):
        vid = visit["visit_id"]
        status, checked = await ctx.post(f"/api/visits/{vid}/prescriptions/check", script(),
                                         token)
        assert status == 200
        assert {p["label"] for p in checked["problems"]} >= {"prescriber NPI",
                                                              "from (prescriber NPI)"}
        status, answer = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        assert status == 422 and answer["error"]["code"] == "incomplete"
        assert "prescriber NPI missing" in answer["error"]["message"]
        assert who in answer["error"]["message"]
        assert checked["hints"] == [f"Your NPI is kept with your provider account: {who}"]
        assert prescriptions(ctx).store.outbox() == []


async def test_another_pharmacy_needs_a_reason_which_is_recorded(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        elsewhere = script(pharmacy_ncpdp_id="4410022")
        status, answer = await ctx.post(f"/api/visits/{vid}/prescriptions", elsewhere, token)
        assert status == 409 and answer["error"]["code"] == "pharmacy_change_reason"
        elsewhere["pharmacy_change_reason"] = "Patient is travelling"
        status, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", elsewhere, token)
        assert status == 201 and rx["pharmacy"]["ncpdp_id"] == "4410022"
        [change] = [e for e in sqlite_store.audit_events(visit_id=vid)
                    if e.action == "erx.pharmacy_change"]
        assert f"from {CHOSEN} to 4410022" in change.detail
        assert "Patient is travelling" in change.detail


async def test_sending_the_same_script_twice_makes_one(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid, body = visit["visit_id"], script()
        first = await ctx.post(f"/api/visits/{vid}/prescriptions", body, token)
        again = await ctx.post(f"/api/visits/{vid}/prescriptions", body, token)
        assert (first[0], again[0]) == (201, 200)
        assert first[1]["id"] == again[1]["id"]
        assert len(prescriptions(ctx).store.outbox()) == 1


async def test_a_closed_pharmacy_keeps_the_script_queued_with_the_reason_until_it_opens(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, clinic_site(site, erx_simulator_closed=(CHOSEN,)),
                       resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        service = ctx.hub.service
        async with asyncio.timeout(10):
            while "closed" not in (await wait_status(ctx, token, vid, rx["id"],
                                                     {"queued"}))["reason"]:
                await asyncio.sleep(0.05)
        assert prescriptions(ctx).store.inbox() == []
        service.config = dataclasses.replace(service.config, erx_simulator_closed=())
        done = await wait_status(ctx, token, vid, rx["id"], {"accepted"})
        assert done["reason"].startswith("Received by")
        assert len(prescriptions(ctx).store.inbox()) == 1


async def test_cancel_a_sent_script_sends_a_cancel_rx(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        await wait_status(ctx, token, vid, rx["id"], {"accepted"})
        status, cancelled = await ctx.post(f"/api/prescriptions/{rx['id']}/cancel",
                                           {"reason": "Wrong drug"}, token)
        assert status == 200 and cancelled["status"] == "cancelling"
        await wait_status(ctx, token, vid, rx["id"], {"cancelled"})
        kinds = [m.kind for m in prescriptions(ctx).store.inbox(CHOSEN)]
        assert kinds == ["NewRx", "CancelRx"]


async def test_a_gateway_refusal_leaves_a_readable_reason_and_no_retry(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        root = ncpdp.parse_xml(await request.read())
        message_id = ncpdp.text_at(root.find("Header"), "MessageID")
        calls.append(message_id)
        return web.Response(body=ncpdp.build_answer(
            ncpdp.Answer("Error", "900", message_id, "Unknown pharmacy NCPDP ID 4410011."),
            message_id="x1", sent_time=datetime.now(UTC), to="me", sender="net"),
            content_type="application/xml")

    async with gateway_app(refuse) as url, \
            erx_hub(sqlite_store, site, resources, gateway=url) as (ctx, token, visit):
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        failed = await wait_status(ctx, token, vid, rx["id"], {"error"})
        assert "error 900" in failed["reason"] and "Unknown pharmacy" in failed["reason"]
        await asyncio.sleep(0.5)
        assert len(calls) == 1
        [(_item, state, reason)] = prescriptions(ctx).store.outbox()
        assert state == FAILED and "Unknown pharmacy" in reason


@contextlib.asynccontextmanager
async def gateway_app(handler: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/gateway", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/gateway"
    finally:
        await runner.cleanup()


async def test_through_a_failing_gateway_every_script_reaches_the_pharmacy_once(
        store, site, resources) -> None:  # type: ignore[no-untyped-def]
    """Half of the first attempts fail (HTTP 503, a dropped connection or an answer that is
    not SCRIPT); some are passed on and then answered too late. Every script still reaches
    the simulated pharmacy, once."""
    forwarded: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    simulator: list[str] = []
    order: list[str] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        data = await request.read()
        message_id = ncpdp.text_at(ncpdp.parse_xml(data).find("Header"), "MessageID")
        attempts[message_id] += 1
        first = attempts[message_id] == 1
        if first:
            order.append(message_id)
        n = order.index(message_id)  # the scripts' order of arrival decides their fate
        if first and n % 2 == 0:  # half of the first attempts fail outright
            mode = n // 2 % 3
            if mode == 0:
                return web.Response(status=503, text="busy")
            if mode == 1:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        forwarded[message_id] += 1
        async with aiohttp.ClientSession() as http, \
                http.post(simulator[0], data=data, headers=simulator_key(simulator)) as answer:
            body = await answer.read()
        if first and n % 4 == 1:  # passed on, then answered after the sender gave up
            await asyncio.sleep(FAST.timeout * 2)
        return web.Response(body=body, content_type="application/xml")

    async with gateway_app(flaky) as url, \
            erx_hub(store, site, resources, gateway=url) as (ctx, token, visit):
        simulator += [f"{ctx.url}/erx/gateway", prescriptions(ctx).simulator_key]
        vid = visit["visit_id"]
        drugs = ["308460", "248656", "1649988", "309309", "311681", "310273", "1014678",
                 "876193", "312935", "978010"]
        ids = []
        for rxcui in drugs:
            drug = ctx.hub.service.resources.formulary.get(rxcui)
            body = script(rxcui, sig={"dose": str(drug.sig.dose),
                                      "dose_unit": drug.sig.dose_unit,
                                      "frequency": drug.sig.frequency,
                                      "duration_days": drug.sig.duration_days,
                                      "prn": drug.sig.prn},
                          quantity=str(drug.quantity), quantity_unit=drug.quantity_unit,
                          days_supply=drug.days_supply, override_reason="training case")
            _, checked = await ctx.post(f"/api/visits/{vid}/prescriptions/check", body, token)
            body["acknowledged"] = [f["message"] for f in checked["findings"]]
            status, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", body, token)
            assert status == 201, rx
            ids.append(rx["id"])
        for rx_id in ids:
            await wait_status(ctx, token, vid, rx_id, {"accepted"}, timeout=30)

        store = prescriptions(ctx).store
        assert [state for _item, state, _e in store.outbox()] == [DELIVERED] * len(drugs)
        inbox = Counter(m.message_id for m in store.inbox())
        sent = {item.message_id for item, _s, _e in store.outbox()}
        assert set(inbox) == sent and set(inbox.values()) == {1}
        assert sum(1 for n in attempts.values() if n >= 2) >= len(drugs) // 2 + 2  # retried
        assert sum(1 for n in forwarded.values() if n >= 2) >= 2  # repeats reached the network


async def test_a_sender_stopped_mid_send_leaves_it_for_the_next_which_delivers_it_once(
        store, site, resources) -> None:  # type: ignore[no-untyped-def]
    """The sender dies after the gateway has the script but before the answer is written;
    the sender that starts next posts it again under the same MessageID."""
    arrived = asyncio.Event()
    release = asyncio.Event()
    simulator: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        data = await request.read()
        async with aiohttp.ClientSession() as http, \
                http.post(simulator[0], data=data, headers=simulator_key(simulator)) as answer:
            body = await answer.read()
        arrived.set()
        await release.wait()
        return web.Response(body=body, content_type="application/xml")

    async with gateway_app(slow) as url, \
            erx_hub(store, site, resources, gateway=url,
                    settings=dataclasses.replace(FAST, timeout=3)) as (ctx, token, visit):
        simulator += [f"{ctx.url}/erx/gateway", prescriptions(ctx).simulator_key]
        service = prescriptions(ctx)
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        await asyncio.wait_for(arrived.wait(), 10)

        await service.outbox.stop()  # the app closes (or dies) mid-send
        [(_item, state, _e)] = service.store.outbox()
        assert state == SENDING and len(service.store.inbox()) == 1
        release.set()  # the next sender takes it over once the lease (6 s) runs out

        await restart_and_deliver(ctx, token, vid, rx["id"])


async def test_the_simulator_pages_need_a_provider_and_list_what_arrived(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        _, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(),
                               token)
        await wait_status(ctx, token, visit["visit_id"], rx["id"], {"accepted"})
        async with ctx.http.get(f"{ctx.url}/erx/pharmacies/{CHOSEN}") as r:
            assert r.status == 401
        signed = base64.b64encode(f"house:{PASSWORD}".encode()).decode()
        auth = {"Authorization": f"Basic {signed}"}
        async with ctx.http.get(f"{ctx.url}/erx/pharmacies/{CHOSEN}", headers=auth) as r:
            page = await r.text()
        assert r.status == 200
        assert "Quartermaine, Rosalind" in page and "azithromycin 250 MG Oral Tablet" in page
        async with ctx.http.get(f"{ctx.url}/erx/pharmacies", headers=auth) as r:
            assert "Main Street Pharmacy" in await r.text()


async def test_a_repeated_message_gets_the_first_answer_and_is_kept_once(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        _, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(),
                               token)
        await wait_status(ctx, token, visit["visit_id"], rx["id"], {"accepted"})
        [(item, _state, _e)] = prescriptions(ctx).store.outbox()
        async with ctx.http.post(f"{ctx.url}/erx/gateway", data=item.payload,
                                 headers=prescriptions(ctx).gateway_headers()) as r:
            again = ncpdp.parse_answer(await r.read())
        assert again.accepted and again.relates_to_message_id == item.message_id
        assert len(prescriptions(ctx).store.inbox()) == 1



SENDER_PROCESS = """
import asyncio, sys
from workstation.erx.sender import OutboxSender, SenderSettings
from workstation.storage.database import open_store
from workstation.storage.prescriptions import PrescriptionStore

async def main():
    store = open_store(sys.argv[1], upgrade_schema=False)
    sender = OutboxSender(PrescriptionStore(store), lambda: sys.argv[2],
                          settings=SenderSettings(timeout=3, lease=2))  # leased 6 s
    await sender.start()
    await sender.send_due()  # never returns: the gateway does not answer

asyncio.run(main())
"""


@pytest.mark.postgres
async def test_a_sender_process_killed_mid_send_leaves_the_script_to_be_delivered_once(
        pg_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    """A real process is killed (SIGKILL) while its post is in flight and the pharmacy already
    has the script; the sender that runs next delivers it, and the pharmacy has it once."""
    arrived = asyncio.Event()
    hang = [True]
    simulator: list[str] = []

    async def gateway(request: web.Request) -> web.Response:
        data = await request.read()
        async with aiohttp.ClientSession() as http, \
                http.post(simulator[0], data=data, headers=simulator_key(simulator)) as answer:
            body = await answer.read()
        if hang[0]:
            arrived.set()
            await asyncio.sleep(3600)
        return web.Response(body=body, content_type="application/xml")

    async with gateway_app(gateway) as url, \
            erx_hub(pg_store, site, resources, gateway=url,
                    settings=dataclasses.replace(FAST, idle_poll=3600)) as (ctx, token, visit):
        service = prescriptions(ctx)
        await service.outbox.stop()  # this hub's own sender stays out of it
        simulator += [f"{ctx.url}/erx/gateway", prescriptions(ctx).simulator_key]
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        db_url = pg_store.engine.url.render_as_string(hide_password=False)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER_PROCESS, db_url, url)
        try:
            await asyncio.wait_for(arrived.wait(), 30)
        finally:
            child.kill()
            await child.wait()
        [(item, state, _e)] = service.store.outbox()
        assert state == SENDING and item.attempts == 1
        assert len(service.store.inbox()) == 1  # the pharmacy has it; nobody recorded that

        hang[0] = False
        await restart_and_deliver(ctx, token, vid, rx["id"])


async def test_a_sender_whose_lease_ran_out_cannot_overwrite_the_sender_that_took_over(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        service = prescriptions(ctx)
        await service.outbox.stop()
        _, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(),
                               token)
        store, now = service.store, datetime.now(UTC)
        slow = store.claim_one(now, timedelta(seconds=0))  # its lease is over at once
        fast = store.claim_one(now, timedelta(seconds=60))  # another sender takes over
        assert slow is not None and fast is not None and slow.attempts == 1
        assert fast.attempts == slow.attempts + 1

        store.delivered(fast, RxStatus.ACCEPTED, "Received by Main Street Pharmacy.", now)
        late = store.retry_later(slow, "The pharmacy network did not answer in time.",
                                 now + timedelta(seconds=5), now)

        assert late.status is RxStatus.ACCEPTED
        assert late.status_reason == "Received by Main Street Pharmacy."
        [(_item, state, error)] = store.outbox()
        assert (state, error) == (DELIVERED, "")
        assert store.get(rx["id"]).status is RxStatus.ACCEPTED

        # And the other way round: the one that took over fails, the late one was delivered.
        _, rx2 = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions",
                                script("1014678", sig={"dose": "1", "dose_unit": "tablet",
                                                       "frequency": "QD",
                                                       "duration_days": 30},
                                       quantity="30", days_supply=30), token)
        slow = store.claim_one(now, timedelta(seconds=0))
        fast = store.claim_one(now, timedelta(seconds=60))
        assert slow is not None and fast is not None
        store.failed(fast, RxStatus.ERROR, "Duplicate message.", now)
        late = store.delivered(slow, RxStatus.ACCEPTED, "Received by Main Street Pharmacy.", now)
        assert late.status is RxStatus.ACCEPTED
        assert store.get(rx2["id"]).status is RxStatus.ACCEPTED


async def test_a_clinic_hub_without_a_gateway_sends_nothing_and_runs_no_simulator(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources, embedded=False) as (ctx, token, visit):
        status, answer = await ctx.post(
            f"/api/visits/{visit['visit_id']}/prescriptions", script(), token)
        assert status == 409 and answer["error"]["code"] == "no_gateway"
        assert "erx_gateway_url" in answer["error"]["message"]
        async with ctx.http.post(f"{ctx.url}/erx/gateway", data=b"<Message/>") as r:
            assert r.status == 404
        assert prescriptions(ctx).store.outbox() == []


async def test_a_warning_the_provider_was_not_shown_is_asked_about_first(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    """An interaction with a script sent from elsewhere is not covered by a reason given for
    other warnings."""
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        first = script("1014678", sig={"dose": "1", "dose_unit": "tablet", "frequency": "QD",
                                       "duration_days": 30}, quantity="30", days_supply=30)
        assert (await ctx.post(f"/api/visits/{vid}/prescriptions", first, token))[0] == 201
        second = script("311372", sig={"dose": "1", "dose_unit": "tablet", "frequency": "QD",
                                       "duration_days": 30}, quantity="30", days_supply=30,
                        override_reason="Patient prefers it", acknowledged=[])
        status, answer = await ctx.post(f"/api/visits/{vid}/prescriptions", second, token)
        assert status == 409 and answer["error"]["code"] == "needs_override"
        assert [f["kind"] for f in answer["error"]["findings"]] == ["duplicate"]
        second["acknowledged"] = [f["message"] for f in answer["error"]["findings"]]
        assert (await ctx.post(f"/api/visits/{vid}/prescriptions", second, token))[0] == 201


async def test_a_script_whose_send_got_no_answer_is_not_withdrawn(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        service = prescriptions(ctx)
        await service.outbox.stop()
        _, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(),
                               token)
        now = datetime.now(UTC)
        item = service.store.claim_one(now, timedelta(seconds=60))
        assert item is not None
        service.store.retry_later(item, "The pharmacy network did not answer in time.",
                                  now + timedelta(seconds=5), now)  # it may have arrived
        status, answer = await ctx.post(f"/api/prescriptions/{rx['id']}/cancel",
                                        {"reason": "Wrong drug"}, token)
        assert status == 409 and answer["error"]["code"] == "may_have_arrived"
        assert service.store.get(rx["id"]).status is RxStatus.QUEUED


async def test_the_pharmacy_confirms_later_and_the_status_moves_from_sent_to_accepted(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, clinic_site(site, erx_simulator_delay_seconds=0.5),
                       resources) as (ctx, token, visit):
        provider_ws = await ctx.provider_socket(token)
        await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(), token)
        seen = []
        while not seen or seen[-1] != "accepted":
            pushed = (await receive_type(provider_ws, "prescription"))["prescription"]
            seen.append(pushed["status"])
        assert seen == ["queued", "sent", "accepted"]
        actions = [e.action for e in sqlite_store.audit_events(visit_id=visit["visit_id"])]
        assert "erx.answer" in actions


async def test_later_answers_from_a_gateway_need_its_token_and_settle_the_script(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    settings = clinic_site(site, erx_inbound_token="s3cret-gateway-token",
                           erx_simulator_delay_seconds=3600)  # the simulator stays silent
    async with erx_hub(sqlite_store, settings, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        await wait_status(ctx, token, vid, rx["id"], {"sent"})
        [(item, _s, _e)] = prescriptions(ctx).store.outbox()
        refused = ncpdp.build_answer(
            ncpdp.Answer("Error", "900", item.message_id, "Patient not known at this store."),
            message_id="p1", sent_time=datetime.now(UTC), to=NPI, sender=CHOSEN)
        async with ctx.http.post(f"{ctx.url}/erx/inbound", data=refused) as r:
            assert r.status == 404  # no token, no route
        headers = {"Authorization": "Bearer s3cret-gateway-token"}
        async with ctx.http.post(f"{ctx.url}/erx/inbound", data=b"<nonsense",
                                 headers=headers) as r:
            assert r.status == 400
        async with ctx.http.post(f"{ctx.url}/erx/inbound", data=refused,
                                 headers=headers) as r:
            assert r.status == 200
            assert ncpdp.parse_answer(await r.read()).code == ncpdp.STATUS_RECEIVED
        failed = await wait_status(ctx, token, vid, rx["id"], {"error"})
        assert "Patient not known at this store" in failed["reason"]


async def test_a_cancel_the_pharmacy_denies_says_so(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    settings = clinic_site(site, erx_inbound_token="t0ken", erx_simulator_delay_seconds=3600)
    async with erx_hub(sqlite_store, settings, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        service = prescriptions(ctx)
        _, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        await wait_status(ctx, token, vid, rx["id"], {"sent"})
        await ctx.post(f"/api/prescriptions/{rx['id']}/cancel", {"reason": "Wrong"}, token)
        async with asyncio.timeout(10):  # the network took the CancelRx; the pharmacy not yet
            while "waiting for the pharmacy" not in (await wait_status(
                    ctx, token, vid, rx["id"], {"cancelling"}))["reason"]:
                await asyncio.sleep(0.05)
        cancel_id = next(i.message_id for i, _s, _e in service.store.outbox()
                         if i.kind == "CancelRx")
        denied = ncpdp.build_answer(
            ncpdp.Answer("CancelRxResponse", "Denied", cancel_id, "Already picked up."),
            message_id="p2", sent_time=datetime.now(UTC), to=NPI, sender=CHOSEN)
        async with ctx.http.post(f"{ctx.url}/erx/inbound", data=denied,
                                 headers={"Authorization": "Bearer t0ken"}) as r:
            assert r.status == 200
        refused = await wait_status(ctx, token, vid, rx["id"], {"cancel_failed"})
        assert "Already picked up" in refused["reason"] and "Phone the pharmacy" in \
            refused["reason"]


async def test_allergies_told_at_echeckin_are_checked_for_a_scheduled_visit(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, _visit):
        when = ctx.hub.service.clock() + timedelta(minutes=20)  # Begin is open
        body = {"patient": checkin_body()["patient"], "service_line": "urgent_care",
                "condition": "painful_urination", "scheduled_for": when.isoformat()}
        status, appt = await ctx.post("/api/appointments", body, token)
        assert status == 201, appt
        forms = {"reason": "Burning when passing urine", "allergies": "Sulfa (hives)",
                 "medications": "", "pharmacy_id": CHOSEN}
        insurance = {"payer": "Acme Health", "member_id": "XZ1", "group_number": "",
                     "subscriber_name": "Rosalind Quartermaine"}
        status, _ = await ctx.post(f"/api/visits/{appt['visit_token']}/echeckin",
                                   {"forms": forms, "insurance": insurance})
        assert status == 200
        status, _ = await ctx.post(f"/api/visits/{appt['visit_id']}/claim", token=token)
        assert status == 200

        _, chart = await ctx.get(f"/api/visits/{appt['visit_id']}/chart", token)
        assert chart["told"]["allergies"] == "Sulfa (hives)"
        assert chart["pharmacy"]["ncpdp_id"] == CHOSEN  # the eCheck-in's choice
        smx_tmp = script("198335", sig={"dose": "1", "dose_unit": "tablet",
                                        "frequency": "BID", "duration_days": 3},
                         quantity="6", days_supply=3)
        status, checked = await ctx.post(
            f"/api/visits/{appt['visit_id']}/prescriptions/check", smx_tmp, token)
        assert status == 200
        assert any(f["kind"] == "allergy" for f in checked["findings"]), checked["findings"]


async def test_the_signed_summary_lists_each_script_and_the_link_keeps_its_live_status(
        store, site, resources) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_hub_chart import COMPLETE

    async with erx_hub(store, site, resources) as (ctx, token, visit):
        vid = visit["visit_id"]
        await ctx.post(f"/api/visits/{vid}/call", {"event": "started"}, token)
        status, rx = await ctx.post(f"/api/visits/{vid}/prescriptions", script(), token)
        assert status == 201
        await wait_status(ctx, token, vid, rx["id"], {"accepted"})

        status, note = await ctx.post(f"/api/visits/{vid}/sign", COMPLETE, token)

        assert status == 200
        summary = note["summary"]
        assert f"Prescriptions:\n  {rx['drug']}: Take 2 tablets by mouth once a day for 3 " \
            "days. Quantity: 6 tablets." in summary
        assert "Pharmacy: Main Street Pharmacy" in summary
        assert "Status: Accepted by the pharmacy." in summary
        assert "Outcome: Treated" in summary and "Treatment plan:" in summary
        _, page = await ctx.get(f"/api/visits/{visit['visit_token']}")
        assert page["summary"] == summary
        assert [(p["drug"], p["status"]) for p in page["prescriptions"]] == [
            (rx["drug"], "accepted")]


async def test_only_the_hubs_own_sender_may_post_to_its_simulator(
        sqlite_store, site, resources) -> None:  # type: ignore[no-untyped-def]
    async with erx_hub(sqlite_store, site, resources) as (ctx, token, visit):
        _, rx = await ctx.post(f"/api/visits/{visit['visit_id']}/prescriptions", script(),
                               token)
        await wait_status(ctx, token, visit["visit_id"], rx["id"], {"accepted"})
        [(item, _state, _e)] = prescriptions(ctx).store.outbox()
        forged = item.payload.replace(item.message_id, "forged-message-1")
        for headers in ({}, {"Authorization": "Bearer guessed"},
                        {"Authorization": f"Basic {prescriptions(ctx).simulator_key}"}):
            async with ctx.http.post(f"{ctx.url}/erx/gateway", data=forged,
                                     headers=headers) as r:
                assert r.status == 401
        assert len(prescriptions(ctx).store.inbox()) == 1  # the hub's own script only
