"""The Stripe processor, through Stripe's own Python library, against a local server that
answers as Stripe's documented API does (tests/stripe_double.py); and a hub that takes its
fees through it. Nothing here reaches Stripe itself."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import checkin_body
from tests.hub_fixtures import Clock, HubContext
from tests.stripe_double import (
    DECLINED_CARD,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    StripeDouble,
)
from workstation.core.payment import (
    PaymentDeclined,
    PaymentMethod,
    PaymentStatus,
    PaymentUnavailable,
    ProcessorCard,
)
from workstation.hub.server import start_hub
from workstation.payments.choice import NO_PROCESSOR, processor_for
from workstation.payments.stripe_processor import StripeProcessor

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


@pytest.fixture
def double(stripe_double: tuple[StripeDouble, str]) -> tuple[StripeDouble, str]:
    return stripe_double


async def card_from_element(api: str, number: str = "4242424242424242") -> dict[str, str]:
    """What Stripe.js does in the page: the card goes to Stripe with the publishable key."""
    async with aiohttp.ClientSession() as http, http.post(
            f"{api}/v1/payment_methods", headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
            data={"type": "card", "card[number]": number, "card[exp_month]": "12",
                  "card[exp_year]": "2030"}) as r:
        method = await r.json()
    return {"payment_method": method["id"], "last4": method["card"]["last4"]}


async def authorize(processor: StripeProcessor, card: dict[str, str], key: str) -> str:
    return await asyncio.to_thread(
        processor.authorize, amount=Decimal("49.00"), currency="USD",
        method=PaymentMethod.CARD, card=ProcessorCard(card["payment_method"], card["last4"],
                                                      "Rosalind Quartermaine"),
        now=NOW, key=key)


async def test_a_hold_is_captured_and_a_retry_with_its_key_is_the_same_hold(double):
    fake, api = double
    processor = StripeProcessor(SECRET_KEY, api_base=api)
    card = await card_from_element(api)

    reference = await authorize(processor, card, "checkin:a:1:authorize")
    again = await authorize(processor, card, "checkin:a:1:authorize")

    # The second call was Stripe's replay of the first answer: one PaymentIntent made.
    assert again == reference and fake.calls["payment_intents.create"] == 1
    [intent] = fake.intents.values()
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (
        4900, "usd", "manual")
    assert intent["status"] == "requires_capture"
    assert intent["metadata"]["hold_key"] == "checkin:a:1:authorize"
    await asyncio.to_thread(processor.capture, reference, key="checkin:a:1:capture")
    await asyncio.to_thread(processor.capture, reference, key="checkin:a:1:capture-again")
    assert intent["status"] == "succeeded"
    await asyncio.to_thread(processor.void, reference, key="checkin:a:1:void")
    assert intent["status"] == "succeeded"  # taken: releasing it changes nothing


async def test_a_hold_is_released_and_found_again_by_its_key(double):
    fake, api = double
    processor = StripeProcessor(SECRET_KEY, api_base=api)
    reference = await authorize(processor, await card_from_element(api), "checkin:b:1:authorize")

    assert await asyncio.to_thread(processor.hold_for, "checkin:b:1:authorize") == reference
    assert await asyncio.to_thread(processor.hold_for, "checkin:never:1:authorize") is None
    await asyncio.to_thread(processor.void, reference, key="checkin:b:1:void")
    await asyncio.to_thread(processor.void, reference, key="checkin:b:1:void-again")
    assert fake.intents[reference]["status"] == "canceled"
    with pytest.raises(PaymentUnavailable):
        await asyncio.to_thread(processor.capture, reference, key="checkin:b:1:capture")


async def test_a_declined_card_and_a_processor_down_are_told_apart(double):
    fake, api = double
    processor = StripeProcessor(SECRET_KEY, api_base=api)
    declined = await card_from_element(api, DECLINED_CARD)

    with pytest.raises(PaymentDeclined, match=r"^Your card was declined\.$"):
        await authorize(processor, declined, "checkin:c:1:authorize")
    fake.down = True
    with pytest.raises(PaymentUnavailable):
        await authorize(processor, declined, "checkin:c:2:authorize")
    fake.down = False
    wrong_key = StripeProcessor("sk_test_not_this_one", api_base=api)
    with pytest.raises(PaymentUnavailable):
        await authorize(wrong_key, await card_from_element(api), "checkin:c:3:authorize")


StripeHub = tuple[HubContext, StripeDouble, str]


@pytest.fixture
async def stripe_hub(double, sqlite_store, site, resources) -> AsyncIterator[StripeHub]:  # type: ignore[no-untyped-def]
    fake, api = double
    config = dataclasses.replace(site, payment="stripe", stripe_publishable_key=PUBLISHABLE_KEY,
                                 stripe_api_base=api, stripe_js_url=f"{api}/v3/")
    hub = await start_hub(sqlite_store, config, resources, embedded=True, clock=Clock(),
                          processor=StripeProcessor(SECRET_KEY, api_base=api))
    try:
        async with aiohttp.ClientSession() as http:
            yield HubContext(hub, Clock(), http), fake, api
    finally:
        await hub.close()


def with_card(card: dict[str, str]) -> dict[str, Any]:
    return {**checkin_body(), "idempotency_key": str(uuid.uuid4()),
            "payment": {"method": "card", "holder": "Rosalind Quartermaine", **card}}


async def test_a_hub_on_stripe_takes_the_fee_once_and_never_a_card_number(stripe_hub):
    ctx, fake, api = stripe_hub
    body = with_card(await card_from_element(api))

    first = await ctx.post("/api/checkins", body)
    again = await ctx.post("/api/checkins", body)  # the page's retry after a lost answer

    assert first[0] == again[0] == 201 and first[1]["visit_id"] == again[1]["visit_id"]
    [intent] = fake.intents.values()
    assert (intent["status"], intent["amount"]) == ("succeeded", 4900)
    [payment] = ctx.hub.service.store.payments(first[1]["visit_id"])
    assert (payment.status, payment.card_last4, payment.processor_reference) == (
        PaymentStatus.PAID, "4242", intent["id"])
    # A card number typed into the hub is refused before anything is sent to Stripe.
    status, answer = await ctx.post("/api/checkins", {**checkin_body(),
                                                      "idempotency_key": str(uuid.uuid4())})
    assert status == 422 and "payment box" in answer["error"]["message"]
    assert len(fake.intents) == 1
    _, site_facts = await ctx.get("/api/site")
    assert site_facts["payment"] == {"processor": "stripe", "publishable_key": PUBLISHABLE_KEY,
                                     "js_url": f"{api}/v3/"}
    async with ctx.http.get(f"{ctx.url}/checkin") as r:
        policy = r.headers["Content-Security-Policy"]
    assert f"script-src 'self' {api};" in policy and f"connect-src 'self' {api};" in policy


async def test_with_the_database_down_the_stripe_hold_is_cancelled(
        stripe_hub, monkeypatch: pytest.MonkeyPatch):
    ctx, fake, api = stripe_hub

    def database_down(**kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(ctx.hub.service.store, "create_visit", database_down)
    status, answer = await ctx.post("/api/checkins", with_card(await card_from_element(api)))

    assert status == 503 and "not charged" in answer["error"]["message"]
    assert [i["status"] for i in fake.intents.values()] == ["canceled"]


def test_a_clinic_hub_needs_a_processor_chosen_on_purpose(site, tmp_path):
    with pytest.raises(ValueError) as refused:
        processor_for(site, embedded=False)
    assert str(refused.value) == NO_PROCESSOR
    assert processor_for(site, embedded=True) is not None  # the workstation's own hub
    assert processor_for(dataclasses.replace(site, payment="none", payment_note="At the desk."),
                         embedded=False) is not None
    key_file = tmp_path / "stripe-secret"
    key_file.write_text(SECRET_KEY + "\n")
    chosen = processor_for(dataclasses.replace(
        site, payment="stripe", stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_secret_key_file=str(key_file)), embedded=False)
    assert isinstance(chosen, StripeProcessor)


async def test_where_no_fee_is_taken_online_the_page_is_told_how(sqlite_store, site, resources):
    config = dataclasses.replace(site, payment="none",
                                 payment_note="Pay the $49 fee at the front desk.")
    hub = await start_hub(sqlite_store, config, resources, embedded=False, clock=Clock())
    try:
        async with aiohttp.ClientSession() as http:
            ctx = HubContext(hub, Clock(), http)
            _, facts = await ctx.get("/api/site")
            body = {k: v for k, v in checkin_body().items() if k != "payment"}
            body["idempotency_key"] = str(uuid.uuid4())
            first = await ctx.post("/api/checkins", body)
            again = await ctx.post("/api/checkins", body)
    finally:
        await hub.close()
    assert facts["payment"] == {"processor": "none",
                                "note": "Pay the $49 fee at the front desk."}
    assert first[0] == again[0] == 201 and first[1]["visit_id"] == again[1]["visit_id"]
    assert sqlite_store.payments(first[1]["visit_id"]) == []
