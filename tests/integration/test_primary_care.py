"""The patient's own doctor over the real hub: told at check-in or eCheck-in with permission,
the signed summary goes to them through the outbox as a FHIR document Bundle, once, and the
embedded hub's simulator shows what arrived."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, HubContext
from tests.integration.test_hub_chart import COMPLETE
from workstation.core.people import Patient, Provider, Sex
from workstation.core.primary_care import summary_document
from workstation.hub.document_sender import DocumentSender
from workstation.hub.primary_care import PRIMARY_CARE
from workstation.storage.documents import DELIVERED, FAILED, DocumentStore, outbox_row
from workstation.storage.outbox import SenderSettings

pytestmark = pytest.mark.asyncio

DOCTOR = {"name": "Dr. Ana Ruiz", "practice": "Eastside Family Medicine",
          "phone": "512-555-0170", "fax": "512-555-0188",
          "direct_address": "aruiz@direct.eastside.example.org", "share": True}
FAST = SenderSettings(timeout=1.0, first_retry=0.05, longest_retry=0.2, lease=1.5,
                      idle_poll=0.2)


async def signed_visit(hub_ctx: HubContext, primary_care: dict[str, Any] | None,
                       ) -> tuple[str, dict[str, Any]]:
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    status, visit = await hub_ctx.post("/api/checkins", checkin_body(primary_care=primary_care))
    assert status == 201, visit
    await see_and_sign(hub_ctx, token, visit["visit_id"])
    return token, visit


async def see_and_sign(hub_ctx: HubContext, token: str, visit_id: str) -> None:
    """Claim, a video call that connected and ended, and the note signed."""
    await hub_ctx.post(f"/api/visits/{visit_id}/claim", token=token)
    for event in ("started", "ended"):
        await hub_ctx.post(f"/api/visits/{visit_id}/call", {"event": event}, token)
    status, _ = await hub_ctx.post(f"/api/visits/{visit_id}/sign", COMPLETE, token)
    assert status == 200


async def delivered(hub_ctx: HubContext, visit_id: str, timeout: float = 10.0) -> None:
    store = hub_ctx.hub.app[PRIMARY_CARE].store
    async with asyncio.timeout(timeout):
        while [d.state for d in store.for_visit(visit_id)] != [DELIVERED]:
            await asyncio.sleep(0.05)


async def test_the_signed_summary_reaches_the_patients_doctor_once(hub_ctx: HubContext):
    from fhir.resources.R4B.bundle import Bundle

    token, visit = await signed_visit(hub_ctx, DOCTOR)
    vid = visit["visit_id"]
    await delivered(hub_ctx, vid)

    store = hub_ctx.hub.app[PRIMARY_CARE].store
    [(message_id, payload, _at)] = store.inbox()
    bundle = Bundle.model_validate_json(payload)
    assert bundle.type == "document" and bundle.identifier.value == f"urn:uuid:{message_id}"
    composition = bundle.entry[0].resource
    assert composition.get_resource_type() == "Composition"
    assert "J02.9 Acute pharyngitis, unspecified (primary)" in composition.section[0].text.div
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds == ["Composition", "Patient", "Practitioner"]
    # The chart says where it went and that it arrived.
    _, chart = await hub_ctx.get(f"/api/visits/{vid}/chart", token)
    assert chart["primary_care"]["label"].startswith("Dr. Ana Ruiz, Eastside Family Medicine")
    assert [d["state"] for d in chart["primary_care"]["deliveries"]] == ["delivered"]
    # Posted again (a sender that crashed before recording the answer): kept once.
    service = hub_ctx.hub.app[PRIMARY_CARE]
    async with hub_ctx.http.post(f"{hub_ctx.url}/sim/primary-care/Bundle", data=payload,
                                 headers={"Content-Type": "application/fhir+json",
                                          **service.headers()}) as r:
        assert r.status == 200
    assert len(store.inbox()) == 1
    # Nobody else may post to the simulator: only this hub's sender holds its key.
    forged = payload.replace(message_id, "6d2c1f0e-0000-4000-8000-000000000000")
    for headers in ({}, {"Authorization": "Bearer guessed"}):
        async with hub_ctx.http.post(f"{hub_ctx.url}/sim/primary-care/Bundle", data=forged,
                                     headers={"Content-Type": "application/fhir+json",
                                              **headers}) as r:
            assert r.status == 401
    assert len(store.inbox()) == 1

    # Trainers read what arrived (provider sign-in), and reading it is audited.
    async with hub_ctx.http.get(f"{hub_ctx.url}/sim/primary-care") as r:
        assert r.status == 401
    auth = base64.b64encode(f"house:{PASSWORD}".encode()).decode()
    async with hub_ctx.http.get(f"{hub_ctx.url}/sim/primary-care",
                                headers={"Authorization": f"Basic {auth}"}) as r:
        page = await r.text()
    assert r.status == 200
    assert "Quartermaine, Rosalind" in page and "Acute pharyngitis" in page
    actions = [e.action for e in hub_ctx.hub.service.store.audit_events(visit_id=vid)]
    assert "documents.simulator_view" in actions


async def test_nothing_is_sent_without_the_patients_permission(hub_ctx: HubContext):
    token, visit = await signed_visit(hub_ctx, {**DOCTOR, "share": False})
    await asyncio.sleep(0.3)  # the sender had its chance
    store = hub_ctx.hub.app[PRIMARY_CARE].store
    assert store.for_visit(visit["visit_id"]) == [] and store.inbox() == []
    _, chart = await hub_ctx.get(f"/api/visits/{visit['visit_id']}/chart", token)
    assert chart["primary_care"]["share"] is False


async def test_a_doctor_without_phone_or_fax_is_refused_with_the_field(hub_ctx: HubContext):
    doctor = {**DOCTOR, "phone": "", "fax": ""}
    status, error = await hub_ctx.post("/api/checkins", checkin_body(primary_care=doctor))
    assert status == 422
    assert "primary_care" in error["error"]["fields"]
    assert "phone or fax" in error["error"]["fields"]["primary_care"]


async def test_the_doctor_told_at_echeckin_gets_the_summary(hub_ctx: HubContext):
    await hub_ctx.add_provider("house", ("specialty_care",))
    token = await hub_ctx.sign_in("house")
    appointment = await hub_ctx.book_appointment(timedelta(hours=1))
    link = appointment["visit_token"]
    status, _ = await hub_ctx.post(f"/api/visits/{link}/echeckin", {
        "forms": {"reason": "Follow-up", "pharmacy_id": "4410011", "primary_care": DOCTOR},
        "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                      "subscriber_name": "Rosalind Quartermaine"}})
    assert status == 200
    hub_ctx.clock.advance(minutes=40)
    status, _ = await hub_ctx.post(f"/api/visits/{link}/begin")
    assert status == 200
    await see_and_sign(hub_ctx, token, appointment["visit_id"])
    await delivered(hub_ctx, appointment["visit_id"])


@contextlib.asynccontextmanager
async def receiver(statuses: list[int]) -> AsyncIterator[tuple[str, list[int]]]:
    """An endpoint answering ``statuses`` in turn (the last one from then on); yields its URL
    and the statuses it gave, in order."""
    answers: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        status = statuses[min(len(answers), len(statuses) - 1)]
        answers.append(status)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/Bundle", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/Bundle", answers
    finally:
        await runner.cleanup()


async def queued_document(hub_ctx: HubContext, message_id: str) -> str:
    """A document in the outbox, due now, for a new visit; the visit's id. The hub's own
    sender is stopped first: the test's sender alone takes it (the hub's, waking on its idle
    poll, once took it to the simulator between the test's retries)."""
    own = hub_ctx.hub.app[PRIMARY_CARE].sender
    if own is not None:
        await own.stop()
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    now = datetime.now(UTC)
    patient = Patient("p-1", "Rosalind", "Quartermaine", datetime(1985, 3, 14).date(),
                      Sex.FEMALE, "512-555-0142")
    document = summary_document(message_id=message_id, patient=patient,
                                provider=Provider("d-1", "house", "Dr. House", ()),
                                visit_id=visit["visit_id"], summary="Summary", signed_at=now,
                                site_name="Virtual Care")
    with hub_ctx.hub.service.store.sessions.begin() as s:
        s.add(outbox_row(message_id=message_id, visit_id=visit["visit_id"],
                         recipient="Dr. Ruiz", payload=json.dumps(document), now=now))
    return str(visit["visit_id"])


async def sent_until(store: DocumentStore, url: str, visit_id: str, state: str) -> None:
    sender = DocumentSender(store, lambda: url, settings=FAST, rng=random.Random(1))
    await sender.start()
    try:
        async with asyncio.timeout(10):
            while [d.state for d in store.for_visit(visit_id)] != [state]:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time enough for a retry that must not come
    finally:
        await sender.stop()


async def test_a_failing_receiver_is_retried_until_it_takes_the_document(hub_ctx: HubContext):
    store = DocumentStore(hub_ctx.hub.service.store)
    visit_id = await queued_document(hub_ctx, "m-1")
    async with receiver([503, 503, 201]) as (url, answers):
        await sent_until(store, url, visit_id, DELIVERED)
    assert answers == [503, 503, 201]
    [status] = store.for_visit(visit_id)
    assert status.attempts == 3


async def test_a_refusal_is_kept_with_its_reason_and_not_retried(hub_ctx: HubContext):
    store = DocumentStore(hub_ctx.hub.service.store)
    visit_id = await queued_document(hub_ctx, "m-2")
    async with receiver([400]) as (url, answers):
        await sent_until(store, url, visit_id, FAILED)
    assert answers == [400]
    [status] = store.for_visit(visit_id)
    assert status.last_error == "Refused by the receiver (HTTP 400)."
