"""The patient's check-in against the real hub over real sockets, and what providers see."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp
import pytest

from tests.factories import VALID_CARD, checkin_body
from tests.hub_fixtures import HubContext, receive, receive_type

pytestmark = pytest.mark.asyncio


async def test_checkin_puts_patient_in_queue_and_pushes_to_provider(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    ws = await hub_ctx.provider_socket(token)

    status, body = await hub_ctx.post("/api/checkins", checkin_body())

    assert status == 201, body
    added = await receive_type(ws, "queue.added")
    entry = added["entry"]
    assert entry["visit_id"] == body["visit_id"]
    assert entry["condition_name"] == "Sore throat"
    assert (entry["age"], entry["sex"], entry["payment_status"]) == (41, "female", "paid")
    assert "Rosalind" not in str(added)  # the queue shows no names
    status, visit = await hub_ctx.get(f"/api/visits/{body['visit_token']}")
    assert status == 200
    assert (visit["state"], visit["position"]) == ("waiting", 1)
    status, queue = await hub_ctx.get("/api/queue", token)
    assert [e["visit_id"] for e in queue["entries"]] == [body["visit_id"]]
    await ws.close()


async def test_free_text_is_kept_exactly_as_typed(hub_ctx: HubContext):
    text = '<script>alert("x")</script> & ünïcödé — 2 days'
    status, body = await hub_ctx.post("/api/checkins", checkin_body(symptoms=text))
    assert status == 201
    intake = hub_ctx.hub.service.store.intake(body["visit_id"])
    assert intake is not None and intake.symptoms == text


async def test_only_last_four_digits_of_the_card_are_kept(hub_ctx: HubContext):
    status, body = await hub_ctx.post("/api/checkins", checkin_body())
    assert status == 201
    (payment,) = hub_ctx.hub.service.store.payments(body["visit_id"])
    assert payment.card_last4 == VALID_CARD[-4:]
    assert str(payment.amount) == "49.00"
    assert VALID_CARD not in repr(payment)


@pytest.mark.parametrize(
    ("change", "outcome", "phrase"),
    [
        ({"red_flags_yes": "chest_pain"}, "emergency", "911"),
        ({"dob": "2008-11-25"}, "too_young", "18"),
        ({"condition": "broken_leg"}, "not_listed", "walk-in"),
    ],
)
async def test_ineligible_checkin_is_refused_and_nothing_is_written(
    hub_ctx: HubContext, change, outcome, phrase
):
    body = checkin_body()
    if "red_flags_yes" in change:
        body["red_flags"][change["red_flags_yes"]] = True
    if "dob" in change:
        body["patient"]["date_of_birth"] = change["dob"]
    if "condition" in change:
        body["condition"] = change["condition"]

    status, error = await hub_ctx.post("/api/checkins", body)

    assert status == 422
    assert error["error"]["code"] == "ineligible"
    assert error["error"]["outcome"] == outcome
    assert phrase in error["error"]["message"]
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_exactly_eighteen_today_may_check_in(hub_ctx: HubContext):
    body = checkin_body()
    body["patient"]["date_of_birth"] = "2008-11-24"  # the clock says 2026-11-24 in Chicago
    status, _ = await hub_ctx.post("/api/checkins", body)
    assert status == 201


async def test_closed_hours_name_the_next_opening(hub_ctx: HubContext):
    hub_ctx.clock.advance(hours=9)  # 19:00 in Chicago
    status, error = await hub_ctx.post("/api/checkins", checkin_body())
    assert status == 422
    assert error["error"]["outcome"] == "closed"
    assert "Wednesday, November 25 at 9:00 AM CST" in error["error"]["message"]
    status, site = await hub_ctx.get("/api/site")
    assert site["open_now"] is False and "Wednesday" in site["closed_message"]


async def test_missing_and_malformed_fields_are_listed_for_the_patient(hub_ctx: HubContext):
    body = checkin_body()
    del body["patient"]["given_name"]
    body["patient"]["date_of_birth"] = "14/03/1985"
    body["callback_phone"] = "call me maybe"
    del body["red_flags"]["stroke_signs"]
    body["consent_telehealth"] = False

    status, error = await hub_ctx.post("/api/checkins", body)

    assert status == 422
    fields = error["error"]["fields"]
    assert fields["patient.given_name"] == "This is required."
    assert "patient.date_of_birth" in fields
    assert "callback_phone" in fields
    assert "Consent" in fields["consent_telehealth"]
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_unanswered_red_flag_question_is_refused(hub_ctx: HubContext):
    body = checkin_body()
    del body["red_flags"]["stroke_signs"]
    status, error = await hub_ctx.post("/api/checkins", body)
    assert status == 422
    assert error["error"]["fields"] == {"red_flags.stroke_signs": "Answer yes or no."}


async def test_declined_card_is_a_clear_402_and_nothing_is_written(hub_ctx: HubContext):
    body = checkin_body()
    body["payment"]["number"] = "4111111111111112"
    status, error = await hub_ctx.post("/api/checkins", body)
    assert status == 402
    assert error["error"]["code"] == "payment_declined"
    assert "card number is not valid" in error["error"]["message"]
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_unknown_pharmacy_is_refused(hub_ctx: HubContext):
    status, error = await hub_ctx.post("/api/checkins", checkin_body(pharmacy_id="999"))
    assert status == 422
    assert "pharmacy_id" in error["error"]["fields"]


async def test_e_visit_only_for_flagged_conditions(hub_ctx: HubContext):
    status, error = await hub_ctx.post("/api/checkins", checkin_body(mode="e_visit"))
    assert status == 422 and "mode" in error["error"]["fields"]
    status, body = await hub_ctx.post("/api/checkins",
                                      checkin_body(mode="e_visit", condition="cough"))
    assert status == 201 and body["kind"] == "e_visit"


async def test_bad_json_and_oversized_bodies_get_json_errors(hub_ctx: HubContext):
    async with hub_ctx.http.post(f"{hub_ctx.url}/api/checkins", data=b"{not json",
                                 headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "bad_json"
    big = checkin_body(symptoms="x" * 100_000)
    async with hub_ctx.http.post(f"{hub_ctx.url}/api/checkins", json=big) as r:
        assert r.status == 413
        assert (await r.json())["error"]["code"] == "too_large"
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_eligibility_endpoint(hub_ctx: HubContext):
    body = {"date_of_birth": "1990-01-01", "condition": "cough",
            "red_flags": {"trouble_breathing": True}}
    status, result = await hub_ctx.post("/api/eligibility", body)
    assert status == 200
    assert (result["eligible"], result["outcome"]) == (False, "emergency")
    body["red_flags"] = {"trouble_breathing": False}
    status, result = await hub_ctx.post("/api/eligibility", body)
    assert result["eligible"] is True


async def test_pharmacy_search_matches_name_city_zip_and_id(hub_ctx: HubContext):
    for query, expected in [("riverside", "Riverside Drug"), ("round rock", "Lakeside"),
                            ("78626", "Hilltop"), ("4410055", "Capitol")]:
        status, found = await hub_ctx.get(f"/api/pharmacies?q={query}")
        assert status == 200
        assert any(expected in p["name"] for p in found["pharmacies"]), query
    _, none = await hub_ctx.get("/api/pharmacies?q=zzzz")
    assert none["pharmacies"] == []


async def test_waiting_patients_see_their_position_change(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    _, first = await hub_ctx.post("/api/checkins", checkin_body())
    hub_ctx.clock.advance(seconds=1)
    _, second = await hub_ctx.post("/api/checkins", checkin_body())
    patient_ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/patient/{second['visit_token']}")
    hello = await receive(patient_ws)
    assert hello["position"] == 2

    status, _ = await hub_ctx.post(f"/api/visits/{first['visit_id']}/claim", token=token)
    assert status == 200
    update = await receive_type(patient_ws, "status")
    assert update["position"] == 1
    await patient_ws.close()


async def test_patient_leaving_the_line_tells_providers(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    ws = await hub_ctx.provider_socket(await hub_ctx.sign_in("house"))
    _, body = await hub_ctx.post("/api/checkins", checkin_body())
    await receive_type(ws, "queue.added")
    status, result = await hub_ctx.post(f"/api/visits/{body['visit_token']}/cancel")
    assert status == 200 and result["state"] == "cancelled"
    left = await receive_type(ws, "queue.left")
    assert (left["visit_id"], left["reason"]) == (body["visit_id"], "cancelled")
    status, _ = await hub_ctx.get(f"/api/visits/{body['visit_token']}")
    assert status == 404
    await ws.close()


async def test_real_socket_pages_are_served_without_cdn(hub_ctx: HubContext):
    async with hub_ctx.http.get(f"{hub_ctx.url}/checkin") as r:
        assert r.status == 200
        html = await r.text()
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "Content-Security-Policy" in r.headers
    assert "http://" not in html and "https://" not in html
    async with hub_ctx.http.get(f"{hub_ctx.url}/", allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/checkin"


async def test_device_test_page_is_served(hub_ctx: HubContext):
    async with hub_ctx.http.get(f"{hub_ctx.url}/device-test") as r:
        assert r.status == 200
        assert "getUserMedia" in "".join([await r.text()]) or r.content_type == "text/html"


async def test_hub_answers_over_loopback_tcp(hub_ctx: HubContext):
    assert hub_ctx.url.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession() as other, other.get(
            f"{hub_ctx.url}/api/conditions") as r:
        names = [c["name"] for c in (await r.json())["conditions"]]
    assert len(names) == 16 and "Sore throat" in names


async def test_site_hours_are_said_as_people_say_them(hub_ctx: HubContext):
    _, site = await hub_ctx.get("/api/site")
    assert site["hours_text"] == "Mon–Fri 09:00–18:00 (America/Chicago)"
    assert (site["fee"], site["open_now"]) == ("49.00", True)


async def test_patient_viewing_their_visit_is_audited(hub_ctx: HubContext):
    _, body = await hub_ctx.post("/api/checkins", checkin_body())
    await hub_ctx.get(f"/api/visits/{body['visit_token']}")
    actions = [e.action for e in hub_ctx.hub.service.store.audit_events(
        visit_id=body["visit_id"])]
    assert actions[0] == "visit.create" and "visit.view" in actions


async def test_database_errors_do_not_carry_patient_data_into_logs(hub_ctx: HubContext, caplog):
    store = hub_ctx.hub.service.store
    _, body = await hub_ctx.post("/api/checkins", checkin_body())
    visit = store.visit(body["visit_id"])
    detail = store.visit_detail(visit.id)
    from dataclasses import replace

    from tests.factories import waiting_visit

    # The same patient id for somebody else: an integrity error.
    impostor = replace(detail.patient, given_name="Rosalind", family_name="Quartermaine",
                       phone="212-555-0100", email="")
    with pytest.raises(Exception) as failure:
        waiting_visit(store, p=impostor)
    assert "Quartermaine" not in str(failure.value)
    assert "Rosalind" not in caplog.text


async def test_the_waiting_room_counts_only_video_visits_and_never_says_0_minutes(
        hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    provider_ws = await hub_ctx.provider_socket(token)  # one provider on duty
    checked_in = hub_ctx.clock.now
    _, e_visit = await hub_ctx.post("/api/checkins",
                                    checkin_body(mode="e_visit", condition="cough"))
    hub_ctx.clock.advance(seconds=1)
    _, video = await hub_ctx.post("/api/checkins", checkin_body())

    _, seen = await hub_ctx.get(f"/api/visits/{video['visit_token']}")
    # First in the video line (the E-Visit before it waits in its own), and "about 1 minute",
    # not 0, with a provider on duty.
    assert (seen["position"], seen["estimated_wait_minutes"]) == (1, 1)
    assert seen["busier_than_usual"] is False and seen["reply_by"] is None

    _, answered = await hub_ctx.get(f"/api/visits/{e_visit['visit_token']}")
    assert answered["position"] == 1 and answered["estimated_wait_minutes"] is None
    # The site promises an E-Visit a reply within 4 hours of check-in.
    assert datetime.fromisoformat(answered["reply_by"]) == checked_in + timedelta(hours=4)
    await provider_ws.close()


async def test_a_line_past_the_promise_is_called_busier_than_usual(hub_ctx: HubContext):
    tokens = []
    for _ in range(3):  # nobody on duty: 3rd in line waits 2 visits + 1 = 36 > 20 minutes
        _, body = await hub_ctx.post("/api/checkins", checkin_body())
        tokens.append(body["visit_token"])
        hub_ctx.clock.advance(seconds=1)

    _, third = await hub_ctx.get(f"/api/visits/{tokens[2]}")
    assert third["position"] == 3
    assert third["estimated_wait_minutes"] > third["promised_wait_minutes"] == 20
    assert third["busier_than_usual"] is True
