"""A patient checks in from Chromium; the provider's socket sees them arrive."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.factories import checkin_body
from tests.hub_fixtures import Clock, HubContext, receive_type
from tests.stripe_double import PUBLISHABLE_KEY, SECRET_KEY, running_double
from workstation.core.eligibility import RED_FLAGS
from workstation.hub.server import start_hub
from workstation.payments.stripe_processor import StripeProcessor

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]


async def _page(browser: Browser, width: int = 390) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 844})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def _eligibility(page: Page, hub_url: str, *, emergency: str | None = None) -> None:
    await page.goto(f"{hub_url}/checkin")
    await page.select_option("#condition", "sore_throat")
    await page.fill("#dob", "1985-03-14")
    for flag in RED_FLAGS:
        answer = "yes" if flag.code == emergency else "no"
        await page.check(f"#rf_{flag.code}_{answer}")
    await page.click("#next_eligibility")


async def _to_payment(page: Page, hub_url: str) -> None:
    """The shortest way through the form to its payment step (no own doctor given)."""
    await _eligibility(page, hub_url)
    for field, value in (("#given_name", "Rosalind"), ("#family_name", "Quartermaine"),
                         ("#phone", "512-555-0142"), ("#address_line1", "12 Elm St"),
                         ("#address_city", "Austin"), ("#address_postal_code", "78701"),
                         ("#symptoms", "Sore throat"), ("#onset", "2 days ago"),
                         ("#callback_phone", "512-555-0142")):
        await page.fill(field, value)
    await page.select_option("#sex", "female")
    await page.select_option("#address_state", "TX")
    await page.select_option("#location_state", "TX")
    await page.click("#next_details")
    await page.fill("#pharmacy_search", "Main Street")
    await page.check("#pharmacy_4410011")
    await page.check("#pcp_has_no")
    await page.click("#next_pharmacy")
    await page.check("#consent")
    await page.click("#next_consent")


async def _pay_by_card(page: Page) -> None:
    """The payment step, with a test card typed in (the simulated processor), and submit."""
    await page.fill("#card_number", "4111 1111 1111 1111")
    await page.select_option("#card_exp_month", "12")
    await page.select_option("#card_exp_year", "2030")
    await page.fill("#card_holder", "Rosalind Quartermaine")
    await page.click("#submit_checkin")


async def test_patient_checks_in_and_reaches_the_waiting_room(hub_ctx: HubContext,
                                                              browser: Browser):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    provider_ws = await hub_ctx.provider_socket(token)
    page = await _page(browser)

    await _eligibility(page, hub_ctx.url)
    await page.fill("#given_name", "Rosalind")
    await page.fill("#family_name", "Quartermaine <b>")
    await page.select_option("#sex", "female")
    await page.fill("#phone", "512-555-0142")
    await page.fill("#email", "rq@example.org")
    await page.fill("#address_line1", "12 Elm St")
    await page.fill("#address_city", "Austin")
    await page.select_option("#address_state", "TX")
    await page.fill("#address_postal_code", "78701")
    await page.fill("#symptoms", "Sore throat, fever 38.4 °C")
    await page.fill("#onset", "2 days ago")
    await page.fill("#allergies", "Penicillin")
    await page.fill("#medications", "None")
    await page.select_option("#location_state", "TX")
    await page.fill("#callback_phone", "512-555-0142")
    await page.click("#next_details")
    await page.fill("#pharmacy_search", "Main Street")
    await page.check("#pharmacy_4410011")
    # The patient's own doctor: asked on the same step; phone or fax is needed.
    await page.check("#pcp_has_yes")
    await page.fill("#pcp_name", "Dr. Ana Ruiz")
    await page.fill("#pcp_practice", "Eastside Family Medicine")
    await page.click("#next_pharmacy")
    await expect(page.locator("#pcp_phone_error")).to_contain_text(
        "Enter the practice's phone or fax number.")
    await page.fill("#pcp_fax", "512-555-0188")
    await page.check("#pcp_share")
    await page.click("#next_pharmacy")
    await page.check("#consent")
    await page.click("#next_consent")
    await expect(page.locator("#fee_text")).to_contain_text("$49.00")
    await _pay_by_card(page)

    await page.wait_for_url(re.compile(r"/v/[A-Za-z0-9_-]{40,}$"))
    await expect(page.locator("#position")).to_have_text("#1")
    added = await receive_type(provider_ws, "queue.added")
    assert (added["entry"]["condition_name"], added["entry"]["age"]) == ("Sore throat", 41)
    visit_id = added["entry"]["visit_id"]
    intake = hub_ctx.hub.service.store.intake(visit_id)
    assert intake is not None and intake.symptoms == "Sore throat, fever 38.4 °C"
    detail = hub_ctx.hub.service.store.visit_detail(visit_id)
    assert detail.patient.family_name == "Quartermaine <b>"  # stored as typed
    assert hub_ctx.hub.service.store.primary_care(visit_id) == {
        "name": "Dr. Ana Ruiz", "practice": "Eastside Family Medicine", "phone": "",
        "fax": "512-555-0188", "direct_address": "", "share": True}

    # The provider claims: the waiting room says so without a reload.
    status, _ = await hub_ctx.post(f"/api/visits/{visit_id}/claim", token=token)
    assert status == 200
    await expect(page.locator("#ready_banner")).to_be_visible()
    await expect(page.locator("#ready_banner")).to_contain_text("Dr. House")
    assert page.errors == []  # type: ignore[attr-defined]
    await provider_ws.close()


async def test_red_flag_stops_check_in_with_911(hub_ctx: HubContext, browser: Browser):
    page = await _page(browser)
    await _eligibility(page, hub_ctx.url, emergency="chest_pain")
    await expect(page.locator("#ineligible")).to_be_visible()
    await expect(page.locator("#ineligible_message")).to_contain_text("911")
    await expect(page.locator("#call_911")).to_have_attribute("href", "tel:911")
    await expect(page.locator("#call_988")).to_be_hidden()
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_thoughts_of_self_harm_offer_the_988_lifeline_beside_911(
        hub_ctx: HubContext, browser: Browser):
    page = await _page(browser)
    await _eligibility(page, hub_ctx.url, emergency="suicidal_thoughts")
    await expect(page.locator("#ineligible_message")).to_contain_text("urgent care facility")
    await expect(page.locator("#ineligible_message")).to_contain_text("988")
    await expect(page.locator("#call_911")).to_be_visible()
    await expect(page.locator("#call_988")).to_be_visible()
    await expect(page.locator("#call_988")).to_have_attribute("href", "tel:988")


async def test_unknown_link_shows_the_expired_page(hub_ctx: HubContext, browser: Browser):
    page = await _page(browser)
    response = await page.goto(f"{hub_ctx.url}/v/{'Z' * 43}")
    assert response is not None and response.status == 404
    await expect(page.locator("body")).to_contain_text("expired")


async def test_the_waiting_room_gives_an_e_visit_its_reply_time_and_a_long_line_its_reason(
        hub_ctx: HubContext, browser: Browser):
    _, e_visit = await hub_ctx.post("/api/checkins",
                                    checkin_body(mode="e_visit", condition="cough"))
    tokens = []
    for _ in range(3):  # nobody on duty: the third waits past the 20-minute promise
        hub_ctx.clock.advance(seconds=1)
        _, body = await hub_ctx.post("/api/checkins", checkin_body())
        tokens.append(body["visit_token"])
    page = await _page(browser)

    await page.goto(f"{hub_ctx.url}/v/{e_visit['visit_token']}")
    await expect(page.locator("#estimated_wait_label")).to_have_text("Reply by")
    await expect(page.locator("#promise")).to_contain_text("reply by")
    await expect(page.locator("#position")).to_have_text("#1")  # its own line

    await page.goto(f"{hub_ctx.url}/v/{tokens[2]}")
    await expect(page.locator("#position")).to_have_text("#3")  # the E-Visit is not ahead
    await expect(page.locator("#promise")).to_contain_text("busier than usual")
    await expect(page.locator("#estimated_wait")).to_have_text("20+")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.errors == []  # type: ignore[attr-defined]


async def test_an_appointment_s_page_says_when_echeckin_opens(hub_ctx: HubContext,
                                                                browser: Browser):
    appt = await hub_ctx.book_appointment(timedelta(days=5))
    page = await _page(browser)

    await page.goto(f"{hub_ctx.url}/v/{appt['visit_token']}")

    await expect(page.locator("#echeckin_opens")).to_be_visible()
    await expect(page.locator("#echeckin_opens")).to_contain_text("eCheck-in opens on")
    await expect(page.locator("#echeckin_form")).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_echeckin_asks_for_the_pharmacy_and_the_chart_gets_it(hub_ctx: HubContext,
                                                                     browser: Browser):
    appt = await hub_ctx.book_appointment(timedelta(hours=2))
    page = await _page(browser)
    await page.goto(f"{hub_ctx.url}/v/{appt['visit_token']}")
    await expect(page.locator("#echeckin_form")).to_be_visible()

    await page.fill("#ec_reason", "Follow-up of eczema")
    await page.fill("#ins_payer", "Acme Health")
    await page.fill("#ins_member_id", "XZ123")
    await page.fill("#ins_subscriber_name", "Rosalind Quartermaine")
    await page.click("#submit_echeckin")  # no pharmacy yet: said next to its search
    await expect(page.locator("#ec_pharmacy_search_error")).to_contain_text(
        "Choose a pharmacy from the list.")

    await page.fill("#ec_pharmacy_search", "Riverside")
    await expect(page.locator("#ec_pharmacy_status")).to_have_text("1 pharmacy found.")
    await page.locator("#ec_pharmacy_results input").first.check()
    await expect(page.locator("#ec_pharmacy_selected_text")).to_contain_text("Riverside")
    await page.check("#ec_pcp_has_yes")
    await page.fill("#ec_pcp_name", "Dr. Ana Ruiz")
    await page.fill("#ec_pcp_practice", "Eastside Family Medicine")
    await page.fill("#ec_pcp_phone", "512-555-0170")
    await page.fill("#ec_pcp_direct", "not an address")
    await page.click("#submit_echeckin")
    await expect(page.locator("#ec_pcp_direct_error")).to_contain_text("name@direct.example.org")
    await page.fill("#ec_pcp_direct", "")
    await page.click("#submit_echeckin")
    await expect(page.locator("#echeckin_done")).to_be_visible()

    chosen = hub_ctx.hub.service.store.chosen_pharmacy_id(appt["visit_id"])
    assert hub_ctx.hub.service.resources.pharmacy(chosen).name.startswith("Riverside")
    told = hub_ctx.hub.service.store.primary_care(appt["visit_id"])
    assert told is not None and told["name"] == "Dr. Ana Ruiz" and told["share"] is False
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_check_in_whose_answer_is_lost_is_sent_again_and_charged_once(
        hub_ctx: HubContext, browser: Browser):
    """The hub saves the check-in, but its answer never reaches the phone (the connection
    drops): the page sends the same check-in again by itself and lands in the waiting room of
    that one visit."""
    page = await _page(browser)
    answers_lost: list[dict[str, object]] = []

    async def lose_the_first_answer(route: Route) -> None:
        if answers_lost:
            await route.continue_()
            return
        answered = await route.fetch()  # the hub has it, and answers
        answers_lost.append(await answered.json())
        await route.abort("connectionreset")

    await page.route("**/api/checkins", lose_the_first_answer)
    await _to_payment(page, hub_ctx.url)
    await _pay_by_card(page)

    await page.wait_for_url(re.compile(r"/v/[A-Za-z0-9_-]{40,}$"))
    await expect(page.locator("#position")).to_have_text("#1")
    store = hub_ctx.hub.service.store
    [visit] = store.waiting_visits()
    assert [a["visit_id"] for a in answers_lost] == [visit.id]  # the one the hub saved
    assert [(p.status.value, str(p.amount)) for p in store.payments(visit.id)] == [
        ("paid", "49.00")]
    errors = page.errors  # type: ignore[attr-defined]
    assert [e for e in errors if "ERR_CONNECTION_RESET" not in e] == []  # only the lost one


async def test_where_stripe_takes_cards_the_number_goes_to_stripe_and_never_to_the_hub(
        sqlite_store, site, resources, browser: Browser):
    """The page loads the processor's script (here the local double of Stripe.js), its card
    box posts the card to the processor, and the hub gets only the PaymentMethod's id."""
    async with running_double() as (fake, api):
        config = dataclasses.replace(
            site, payment="stripe", stripe_publishable_key=PUBLISHABLE_KEY,
            stripe_api_base=api, stripe_js_url=f"{api}/v3/")
        hub = await start_hub(sqlite_store, config, resources, embedded=True, clock=Clock(),
                              processor=StripeProcessor(SECRET_KEY, api_base=api))
        try:
            page = await _page(browser)
            to_hub: list[str] = []
            page.on("request", lambda r: to_hub.append(r.post_data or "")
                    if r.url.startswith(hub.url) else None)
            await _to_payment(page, hub.url)
            await expect(page.locator("#card_number")).to_be_hidden()
            await page.fill("#double_card_number", "4242 4242 4242 4242")
            await page.fill("#double_card_expiry", "12 / 30")
            await page.fill("#card_holder", "Rosalind Quartermaine")
            await page.click("#submit_checkin")

            await page.wait_for_url(re.compile(r"/v/[A-Za-z0-9_-]{40,}$"))
            [visit] = sqlite_store.waiting_visits()
            [intent] = fake.intents.values()
            assert (intent["status"], intent["amount"]) == ("succeeded", 4900)
            [payment] = sqlite_store.payments(visit.id)
            assert (payment.card_last4, payment.status.value) == ("4242", "paid")
            assert not any("4242424242424242" in body or "4242 4242" in body
                           for body in to_hub)  # the number never went to the hub
            assert page.errors == []  # type: ignore[attr-defined]
        finally:
            await hub.close()
