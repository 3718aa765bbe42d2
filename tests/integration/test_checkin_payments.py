"""The fee is authorised, the visit saved, then the fee captured; a check-in sent again is the
same check-in. On a real hub over real sockets, on SQLite and (marked postgres) PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import checkin_body
from tests.hub_fixtures import HubContext, running_hub
from workstation.core.payment import (
    CardDetails,
    PaymentMethod,
    PaymentStatus,
    PaymentUnavailable,
    RecordingProcessor,
)
from workstation.hub.patient_api import PATIENTS
from workstation.hub.patient_desk import PatientDesk
from workstation.storage.payments import HoldState


@pytest.fixture
async def paying(store, site, resources) -> AsyncIterator[tuple[HubContext, RecordingProcessor]]:  # type: ignore[no-untyped-def]
    processor = RecordingProcessor()
    async with running_hub(store, site, resources, processor=processor) as ctx:
        yield ctx, processor


def desk(ctx: HubContext) -> PatientDesk:
    return ctx.hub.app[PATIENTS]


def keyed(key: str | None = None) -> dict[str, Any]:
    return {**checkin_body(), "idempotency_key": key or str(uuid.uuid4())}


def captured(processor: RecordingProcessor) -> list[str]:
    return [ref for ref, state in processor.states.items() if state == "captured"]


def payments(ctx: HubContext, visit_id: str) -> list[tuple[PaymentStatus, Decimal]]:
    return [(p.status, p.amount) for p in ctx.hub.service.store.payments(visit_id)]


async def test_a_check_in_sent_again_is_one_visit_and_one_charge(paying):
    ctx, processor = paying
    body = keyed()

    first_status, first = await ctx.post("/api/checkins", body)
    again_status, again = await ctx.post("/api/checkins", body)  # the first answer was lost

    assert first_status == again_status == 201
    assert again["visit_id"] == first["visit_id"]
    assert [v.id for v in ctx.hub.service.store.waiting_visits()] == [first["visit_id"]]
    assert len(processor.holds) == 1 and len(captured(processor)) == 1
    assert payments(ctx, first["visit_id"]) == [(PaymentStatus.PAID, Decimal("49.00"))]
    # The link in the answer the page did get works; the lost one no longer does.
    assert (await ctx.get(f"/api/visits/{again['visit_token']}"))[0] == 200
    assert (await ctx.get(f"/api/visits/{first['visit_token']}"))[0] == 404


async def test_the_same_check_in_sent_five_times_at_once_is_one_visit(paying):
    ctx, processor = paying
    body = keyed()

    answers = await asyncio.gather(*(ctx.post("/api/checkins", body) for _ in range(5)))

    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses
    busy = [a for s, a in answers if s == 409]
    assert all(a["error"]["code"] == "in_progress" for a in busy)
    assert len(ctx.hub.service.store.waiting_visits()) == 1
    assert len(processor.holds) == 1 and len(captured(processor)) == 1


async def test_with_the_database_down_the_hold_is_released_and_the_patient_told(
        paying, monkeypatch: pytest.MonkeyPatch):
    ctx, processor = paying
    store = ctx.hub.service.store
    real_create = store.create_visit

    def database_down(**kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(store, "create_visit", database_down)
    body = keyed()
    status, answer = await ctx.post("/api/checkins", body)

    assert status == 503
    assert answer["error"]["message"].startswith(
        "Nothing was saved and your card was not charged.")
    assert list(processor.states.values()) == ["voided"]
    assert store.waiting_visits() == []

    # The page tries again with the same key once the database is back: a new hold, kept.
    monkeypatch.setattr(store, "create_visit", real_create)
    status, visit = await ctx.post("/api/checkins", body)
    assert status == 201
    assert sorted(processor.states.values()) == ["captured", "voided"]
    assert payments(ctx, visit["visit_id"]) == [(PaymentStatus.PAID, Decimal("49.00"))]


async def test_a_failed_capture_is_taken_later_and_the_visit_goes_ahead(
        paying, monkeypatch: pytest.MonkeyPatch):
    ctx, processor = paying
    real_capture = processor.capture

    def unavailable(reference: str, *, key: str) -> None:
        raise PaymentUnavailable("timed out")

    monkeypatch.setattr(processor, "capture", unavailable)
    status, visit = await ctx.post("/api/checkins", keyed())

    assert status == 201  # saved with its hold: the patient waits for the provider
    assert payments(ctx, visit["visit_id"]) == [(PaymentStatus.AUTHORIZED, Decimal("49.00"))]
    assert await desk(ctx).settle_payments() == 1  # still unavailable: kept for later
    assert captured(processor) == []

    monkeypatch.setattr(processor, "capture", real_capture)
    assert await desk(ctx).settle_payments() == 1
    assert len(captured(processor)) == 1
    assert payments(ctx, visit["visit_id"]) == [(PaymentStatus.PAID, Decimal("49.00"))]
    assert await desk(ctx).settle_payments() == 0


async def test_holds_left_by_a_stopped_hub_are_released(paying):
    """The hub stopped between authorising and saving: once the request is long over, the
    hold is released, whether its reference was written down or only the processor has it."""
    ctx, processor = paying
    holds = desk(ctx).holds
    now = ctx.clock()
    card = CardDetails("4111111111111111", 12, 2099, "Rosalind Quartermaine")
    written = holds.begin("checkin:written", purpose="visit_fee", visit_id=str(uuid.uuid4()),
                          now=now)
    reference = processor.authorize(amount=Decimal("49.00"), currency="USD",
                                    method=PaymentMethod.CARD, card=card, now=now,
                                    key=written.processor_key("authorize"))
    holds.authorized(written.key, reference, now)
    unwritten = holds.begin("checkin:unwritten", purpose="visit_fee",
                            visit_id=str(uuid.uuid4()), now=now)
    processor.authorize(amount=Decimal("49.00"), currency="USD", method=PaymentMethod.CARD,
                        card=card, now=now, key=unwritten.processor_key("authorize"))
    never = holds.begin("checkin:never", purpose="visit_fee", visit_id=str(uuid.uuid4()),
                        now=now)

    assert await desk(ctx).settle_payments() == 0  # still young: their requests may be at it
    ctx.clock.advance(minutes=6)
    assert await desk(ctx).settle_payments() == 3

    assert sorted(processor.states.values()) == ["voided", "voided"]
    for hold in (written, unwritten, never):
        found = holds.get(hold.key)
        assert found is not None and found.state is HoldState.VOIDED
    assert ctx.hub.service.store.waiting_visits() == []


async def test_a_processor_that_does_not_answer_saves_nothing(
        paying, monkeypatch: pytest.MonkeyPatch):
    ctx, processor = paying

    def unavailable(**kwargs: Any) -> str:
        raise PaymentUnavailable("timed out")

    monkeypatch.setattr(processor, "authorize", unavailable)
    body = keyed()
    status, answer = await ctx.post("/api/checkins", body)

    assert status == 503 and answer["error"]["code"] == "payment_unavailable"
    assert ctx.hub.service.store.waiting_visits() == []
    # Retried at once: that request may still be at the processor, so wait a moment.
    status, answer = await ctx.post("/api/checkins", body)
    assert status == 409 and answer["error"]["code"] == "in_progress"
    # Once that request is long over, a retry takes the payment over (no sweep needed).
    ctx.clock.advance(minutes=3)
    monkeypatch.undo()
    status, _ = await ctx.post("/api/checkins", body)
    assert status == 201
    assert len(captured(processor)) == 1


async def test_a_declined_card_can_be_replaced_under_the_same_check_in(paying):
    ctx, processor = paying
    body = keyed()
    declined = {**body, "payment": {**body["payment"], "number": "4111111111111112"}}

    status, answer = await ctx.post("/api/checkins", declined)
    assert status == 402 and answer["error"]["code"] == "payment_declined"
    status, _ = await ctx.post("/api/checkins", body)

    assert status == 201
    assert len(captured(processor)) == 1
    assert len(ctx.hub.service.store.waiting_visits()) == 1


async def test_an_echeckin_sent_twice_pays_the_copay_once_and_keeps_the_last_forms(paying):
    ctx, processor = paying
    await ctx.add_provider("desk")
    desk_token = await ctx.sign_in("desk")
    status, appointment = await ctx.post("/api/appointments", {
        "patient": checkin_body()["patient"], "service_line": "specialty_care",
        "condition": "follow_up", "copay": "25.00",
        "scheduled_for": (ctx.clock.now + timedelta(hours=2)).isoformat()}, desk_token)
    assert status == 201, appointment
    link = appointment["visit_token"]
    form = {"forms": {"reason": "Follow-up of eczema", "pharmacy_id": "4410011"},
            "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                          "subscriber_name": "Rosalind Quartermaine"},
            "copay": checkin_body()["payment"]}

    first = await ctx.post(f"/api/visits/{link}/echeckin", form)
    form["forms"]["reason"] = "Follow-up of eczema, now on both arms"
    second = await ctx.post(f"/api/visits/{link}/echeckin", form)

    assert first[0] == second[0] == 200, (first, second)
    visit_id = appointment["visit_id"]
    assert payments(ctx, visit_id) == [(PaymentStatus.PAID, Decimal("25.00"))]
    assert len(processor.holds) == 1 and len(captured(processor)) == 1
    forms, _ = ctx.hub.service.store.echeckin(visit_id) or ({}, {})
    assert forms["reason"] == "Follow-up of eczema, now on both arms"


async def test_a_check_in_sent_again_after_a_failed_capture_takes_the_fee(
        paying, monkeypatch: pytest.MonkeyPatch):
    """The hub saved the visit but stopped before capturing (here: the capture failed); the
    page's retry with the same key captures it, without waiting for the sweep."""
    ctx, processor = paying
    real_capture = processor.capture

    def unavailable(reference: str, *, key: str) -> None:
        raise PaymentUnavailable("timed out")

    monkeypatch.setattr(processor, "capture", unavailable)
    body = keyed()
    _, visit = await ctx.post("/api/checkins", body)
    monkeypatch.setattr(processor, "capture", real_capture)

    status, again = await ctx.post("/api/checkins", body)

    assert status == 201 and again["visit_id"] == visit["visit_id"]
    assert payments(ctx, visit["visit_id"]) == [(PaymentStatus.PAID, Decimal("49.00"))]
    assert len(captured(processor)) == 1
    assert await desk(ctx).settle_payments() == 0
