"""Provider sign-in, sessions, claims, scheduled visits and signaling on the real hub."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.factories import VALID_CARD, checkin_body
from tests.hub_fixtures import PASSWORD, HubContext, closed_with, receive, receive_type
from workstation.hub import auth
from workstation.hub.server import start_hub
from workstation.storage.orm import ProviderRow

pytestmark = pytest.mark.asyncio


async def test_wrong_password_is_refused_and_audited(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    status, error = await hub_ctx.post("/api/auth/sign-in",
                                       {"username": "house", "password": "wrong password"})
    assert status == 401
    assert error["error"]["message"] == "The username or password is not right."
    status, error = await hub_ctx.post("/api/auth/sign-in",
                                       {"username": "nobody", "password": PASSWORD})
    assert status == 401
    denied = [e for e in hub_ctx.hub.service.store.audit_events()
              if e.action == "provider.sign_in" and e.outcome == "denied"]
    assert len(denied) == 2


async def test_session_expires_and_sign_out_revokes(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    assert (await hub_ctx.get("/api/queue", token))[0] == 200
    hub_ctx.clock.advance(hours=hub_ctx.hub.service.config.session_hours, seconds=1)
    status, error = await hub_ctx.get("/api/queue", token)
    assert status == 401 and "Sign in again" in error["error"]["message"]

    hub_ctx.clock.advance(hours=-hub_ctx.hub.service.config.session_hours)
    token = await hub_ctx.sign_in("house")
    assert (await hub_ctx.post("/api/auth/sign-out", token=token))[0] == 204
    assert (await hub_ctx.get("/api/queue", token))[0] == 401  # reuse after sign-out


async def test_signing_out_closes_the_sessions_open_sockets_at_once(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    other = await hub_ctx.sign_in("house")  # the same provider on another workstation
    ws = await hub_ctx.provider_socket(token)
    stays = await hub_ctx.provider_socket(other)

    assert (await hub_ctx.post("/api/auth/sign-out", token=token))[0] == 204

    assert await closed_with(ws) == 4401
    # Nothing more reaches it; the other workstation's session goes on hearing the queue.
    await hub_ctx.post("/api/checkins", checkin_body())
    assert (await receive_type(stays, "queue.added"))["entry"]["condition_name"]
    await stays.close()


@pytest.mark.parametrize("how", ["expired", "signed out elsewhere", "account switched off"])
async def test_a_socket_closes_when_its_session_ends_elsewhere(hub_ctx: HubContext, how: str):
    provider = await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    hub_ctx.hub.service.session_recheck_seconds = 0.05
    ws = await hub_ctx.provider_socket(token)
    store = hub_ctx.hub.service.store
    if how == "expired":
        hub_ctx.clock.advance(hours=hub_ctx.hub.service.config.session_hours, seconds=1)
    elif how == "signed out elsewhere":  # another hub of the clinic revoked it
        store.revoke_session(token)
    else:
        with store.sessions.begin() as s:
            s.get(ProviderRow, provider.id).active = False  # type: ignore[union-attr]
    assert await closed_with(ws) == 4401


async def test_every_provider_request_needs_a_token(hub_ctx: HubContext):
    for path in ("/api/queue", "/api/schedule"):
        assert (await hub_ctx.get(path))[0] == 401
        assert (await hub_ctx.get(path, token="made-up"))[0] == 401
    for path in ("/api/queue/claim-next", "/api/visits/x/claim", "/api/appointments"):
        assert (await hub_ctx.post(path, {}))[0] == 401


async def test_provider_socket_without_sign_in_is_closed(hub_ctx: HubContext):
    ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/provider")
    assert await closed_with(ws) == 4401
    ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/provider",
                                       headers={"Authorization": "Bearer nonsense"})
    assert await closed_with(ws) == 4401


async def test_two_providers_claim_one_patient_one_wins(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    await hub_ctx.add_provider("wilson")
    house, wilson = await hub_ctx.sign_in("house"), await hub_ctx.sign_in("wilson")
    house_ws, wilson_ws = await hub_ctx.provider_socket(house), await hub_ctx.provider_socket(
        wilson)
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])

    results = await asyncio.gather(
        hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=house),
        hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=wilson),
    )

    statuses = sorted(r[0] for r in results)
    assert statuses == [200, 409]
    loser = next(r[1] for r in results if r[0] == 409)
    assert "Another provider has already claimed this patient" in loser["error"]["message"]
    for ws in (house_ws, wilson_ws):
        claimed = await receive_type(ws, "queue.claimed")
        assert claimed["visit_id"] == visit["visit_id"]
    ready = await receive_type(patient_ws, "provider_ready")
    assert ready["provider_name"] in ("Dr. House", "Dr. Wilson")
    for ws in (house_ws, wilson_ws, patient_ws):
        await ws.close()


async def test_claim_next_takes_the_longest_waiting(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    status, error = await hub_ctx.post("/api/queue/claim-next", token=token)
    assert status == 404 and error["error"]["code"] == "queue_empty"
    _, first = await hub_ctx.post("/api/checkins", checkin_body())
    hub_ctx.clock.advance(seconds=30)
    await hub_ctx.post("/api/checkins", checkin_body())
    status, claimed = await hub_ctx.post("/api/queue/claim-next", token=token)
    assert status == 200 and claimed["visit_id"] == first["visit_id"]


async def test_release_returns_patient_to_the_queue(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    await hub_ctx.add_provider("wilson")
    house = await hub_ctx.sign_in("house")
    wilson = await hub_ctx.sign_in("wilson")
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    await hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=house)
    status, _ = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/release", token=wilson)
    assert status == 403  # not Wilson's to release
    status, body = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/release", token=house)
    assert status == 200 and body["state"] == "waiting"
    _, queue = await hub_ctx.get("/api/queue", wilson)
    assert [e["visit_id"] for e in queue["entries"]] == [visit["visit_id"]]


async def test_provider_sees_only_their_service_lines(hub_ctx: HubContext):
    await hub_ctx.add_provider("derm", ("specialty_care",))
    ws = await hub_ctx.provider_socket(await hub_ctx.sign_in("derm"))
    await hub_ctx.post("/api/checkins", checkin_body())
    ping = json.dumps({"type": "ping"})
    await ws.send_str(ping)
    assert (await receive(ws))["type"] == "pong"  # nothing about the urgent-care patient
    await ws.send_str(json.dumps({"type": "subscribe", "service_lines": ["urgent_care"]}))
    assert await closed_with(ws) == 4403


# -- signaling ----------------------------------------------------------------------------------


async def _claimed_visit(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    await hub_ctx.add_provider("wilson")
    house, wilson = await hub_ctx.sign_in("house"), await hub_ctx.sign_in("wilson")
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    await hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=house)
    return house, wilson, visit


async def test_signaling_relays_between_the_two_peers_of_a_visit(hub_ctx: HubContext):
    house, _, visit = await _claimed_visit(hub_ctx)
    provider_ws = await hub_ctx.provider_socket(house)
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])
    offer = {"type": "offer", "sdp": "v=0\r\n..."}

    await provider_ws.send_str(json.dumps({"type": "signal", "visit_id": visit["visit_id"],
                                           "data": offer}))
    assert (await receive_type(patient_ws, "signal"))["data"] == offer

    answer = {"type": "answer", "sdp": "v=0\r\n..."}
    await patient_ws.send_str(json.dumps({"type": "signal", "data": answer}))
    got = await receive_type(provider_ws, "signal")
    assert (got["visit_id"], got["data"]) == (visit["visit_id"], answer)
    await provider_ws.close()
    await patient_ws.close()


async def test_signal_about_someone_elses_visit_closes_the_socket(hub_ctx: HubContext):
    _, wilson, visit = await _claimed_visit(hub_ctx)
    intruder = await hub_ctx.provider_socket(wilson)
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])

    await intruder.send_str(json.dumps({"type": "signal", "visit_id": visit["visit_id"],
                                        "data": {"type": "offer", "sdp": "evil"}}))

    assert await closed_with(intruder) == 4403
    await patient_ws.send_str(json.dumps({"type": "ping"}))
    assert (await receive(patient_ws))["type"] == "pong"  # the offer never reached the patient
    await patient_ws.close()


@pytest.mark.parametrize("raw", ["not json", "[1,2]", '{"type": "launch"}',
                                 '{"type": "signal", "data": "x"}', '{"no": "type"}',
                                 "[" * 1000 + "]" * 1000, '{"type": "ping", "n": ' + "9" * 5000
                                 + "}", '{"type": "signal", "visit_id": "\\u0000", "data": {}}'],
                         ids=["not JSON", "a list", "unknown type", "data not an object",
                              "no type", "nested 1,000 deep", "a number of 5,000 digits",
                              "NUL in the visit id"])
async def test_malformed_messages_close_with_4400(hub_ctx: HubContext, raw: str):
    house, _, visit = await _claimed_visit(hub_ctx)
    provider_ws = await hub_ctx.provider_socket(house)
    await provider_ws.send_str(raw)
    assert await closed_with(provider_ws) == 4400
    patient_ws = await hub_ctx.patient_socket(visit["visit_token"])
    await patient_ws.send_str(raw)
    assert await closed_with(patient_ws) == 4400
    status, body = await hub_ctx.get(f"/api/visits/{visit['visit_token']}")
    assert status == 200 and body["state"] == "claimed"  # nothing changed


async def test_patient_socket_with_unknown_link_is_closed(hub_ctx: HubContext):
    ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/patient/{'A' * 43}")
    assert await closed_with(ws) == 4404


# -- visit links --------------------------------------------------------------------------------


async def test_link_expires_after_its_lifetime_and_reveals_nothing(hub_ctx: HubContext):
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    token = visit["visit_token"]
    assert len(token) >= 22  # >= 128 bits in URL-safe base64
    hub_ctx.clock.advance(hours=hub_ctx.hub.service.config.link_lifetime_hours, seconds=1)
    status, body = await hub_ctx.get(f"/api/visits/{token}")
    assert status == 404
    assert body["error"]["code"] == "link_expired"
    assert "Rosalind" not in json.dumps(body)
    _, unknown = await hub_ctx.get(f"/api/visits/{'B' * 43}")
    assert unknown == body  # expired and unknown look the same
    expired = await hub_ctx.hub.service.expire_stale()
    assert expired == 1


# -- scheduled visits ---------------------------------------------------------------------------


async def test_scheduled_visit_needs_echeckin_and_the_30_minute_window(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    provider_ws = await hub_ctx.provider_socket(token)
    when = hub_ctx.clock.now + timedelta(hours=2)
    body = {"patient": checkin_body()["patient"], "service_line": "specialty_care",
            "condition": "follow_up", "scheduled_for": when.isoformat(), "copay": "25.00"}
    status, appt = await hub_ctx.post("/api/appointments", body, token=token)
    assert status == 201, appt
    link = appt["visit_token"]

    status, error = await hub_ctx.post(f"/api/visits/{link}/begin")
    assert status == 409 and error["error"]["message"] == "Complete eCheck-in first."

    echeckin = {
        "forms": {"reason": "Follow-up of eczema", "allergies": "", "medications": "",
                  "pharmacy_id": "4410011"},
        "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                      "subscriber_name": "Rosalind Quartermaine"},
    }
    status, error = await hub_ctx.post(f"/api/visits/{link}/echeckin", echeckin)
    assert status == 422 and "copay" in error["error"]["fields"]
    echeckin["copay"] = {"method": "hsa", "number": VALID_CARD, "expiry_month": 1,
                         "expiry_year": 2031, "holder": "R Q"}
    status, state = await hub_ctx.post(f"/api/visits/{link}/echeckin", echeckin)
    assert status == 200 and state["echeckin_complete"] is True
    assert state["condition_name"] == "Follow up"
    assert state["can_begin"] is False and "30 minutes" in state["begin_blocked_reason"]

    status, _ = await hub_ctx.post(f"/api/visits/{link}/begin")
    assert status == 409
    hub_ctx.clock.advance(hours=1, minutes=30)  # exactly 30 minutes before
    status, state = await hub_ctx.post(f"/api/visits/{link}/begin")
    assert status == 200 and state["state"] == "waiting"
    added = await receive_type(provider_ws, "queue.added")
    assert (added["entry"]["kind"], added["entry"]["echeckin_complete"]) == ("scheduled", True)

    _, schedule = await hub_ctx.get(f"/api/schedule?date={when.date().isoformat()}", token)
    assert [a["visit_id"] for a in schedule["appointments"]] == [appt["visit_id"]]
    payments = hub_ctx.hub.service.store.payments(appt["visit_id"])
    assert [(p.method, str(p.amount)) for p in payments] == [("hsa", "25.00")]
    await provider_ws.close()


async def test_appointment_needs_an_aware_time(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    body = {"patient": checkin_body()["patient"], "service_line": "specialty_care",
            "condition": "follow_up", "scheduled_for": "2026-11-24T15:00:00"}
    status, error = await hub_ctx.post("/api/appointments", body, token=token)
    assert status == 422 and "UTC offset" in error["error"]["fields"]["scheduled_for"]


# -- first run -----------------------------------------------------------------------------------


async def test_first_provider_can_be_created_once_on_the_embedded_hub(hub_ctx: HubContext):
    assert (await hub_ctx.get("/api/setup"))[1] == {
        "needs_first_provider": True, "practice": {"address": None, "phone": ""}}
    body = {"username": "house", "display_name": "Dr. House", "password": "short",
            "service_lines": ["urgent_care"], "npi": "1234567893",
            "practice": {"address": {"line1": "500 Clinic Way", "city": "Austin",
                                     "state": "TX", "postal_code": "78702"},
                         "phone": "512-555-0100"}}
    status, error = await hub_ctx.post("/api/setup/first-provider", body)
    assert status == 422 and "password" in error["error"]["fields"]
    body["password"] = PASSWORD
    assert (await hub_ctx.post("/api/setup/first-provider", body))[0] == 201
    assert (await hub_ctx.get("/api/setup"))[1] == {"needs_first_provider": False}
    body["username"] = "mallory"
    assert (await hub_ctx.post("/api/setup/first-provider", body))[0] == 403
    assert (await hub_ctx.sign_in("house"))


async def test_queue_ages_are_counted_on_the_clinic_calendar(hub_ctx: HubContext):
    """Late evening in Chicago is already tomorrow in UTC; the age must not tick over early."""
    await hub_ctx.add_provider("house")
    body = checkin_body()
    body["patient"]["date_of_birth"] = "1990-11-25"  # 36 on Nov 25; check-in is Nov 24, 10:00
    status, _ = await hub_ctx.post("/api/checkins", body)
    assert status == 201
    # 2026-11-25 05:00 UTC is 2026-11-24 23:00 in the site's zone (America/Chicago).
    hub_ctx.clock.now = hub_ctx.clock.now.replace(day=25, hour=5)

    _, queue = await hub_ctx.get("/api/queue", await hub_ctx.sign_in("house"))

    assert [e["age"] for e in queue["entries"]] == [35]


async def test_remember_me_is_a_single_use_token_that_is_not_a_session(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    status, plain = await hub_ctx.post("/api/auth/sign-in",
                                       {"username": "house", "password": PASSWORD})
    assert status == 200 and plain["refresh_token"] is None
    _, remembered = await hub_ctx.post("/api/auth/sign-in", {
        "username": "house", "password": PASSWORD, "remember": True})
    refresh = remembered["refresh_token"]
    assert refresh and remembered["refresh_expires_at"]
    # It opens nothing by itself: only /api/auth/refresh takes it.
    assert (await hub_ctx.get("/api/queue", refresh))[0] == 401

    status, renewed = await hub_ctx.post("/api/auth/refresh", {"refresh_token": refresh})
    assert status == 200 and renewed["provider"]["username"] == "house"
    assert (await hub_ctx.get("/api/queue", renewed["token"]))[0] == 200
    assert renewed["refresh_token"] not in (None, refresh)
    # Spent: a copy of the old token is refused.
    status, error = await hub_ctx.post("/api/auth/refresh", {"refresh_token": refresh})
    assert status == 401 and "Sign in again" in error["error"]["message"]

    # Signing out with it forgets it for good.
    await hub_ctx.post("/api/auth/sign-out", {"refresh_token": renewed["refresh_token"]},
                       token=renewed["token"])
    status, _ = await hub_ctx.post("/api/auth/refresh",
                                   {"refresh_token": renewed["refresh_token"]})
    assert status == 401
    outcomes = [(e.action, e.outcome) for e in hub_ctx.hub.service.store.audit_events()
                if e.action in ("provider.refresh", "provider.sign_out")]
    assert outcomes == [("provider.refresh", "success"), ("provider.refresh", "denied"),
                        ("provider.sign_out", "success"), ("provider.refresh", "denied")]


async def test_remember_me_expires_after_the_site_setting(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    _, remembered = await hub_ctx.post("/api/auth/sign-in", {
        "username": "house", "password": PASSWORD, "remember": True})
    hub_ctx.clock.advance(days=hub_ctx.hub.service.config.remember_days, seconds=1)
    status, _ = await hub_ctx.post("/api/auth/refresh",
                                   {"refresh_token": remembered["refresh_token"]})
    assert status == 401


async def test_the_provider_begins_an_appointment_from_the_schedule(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    when = hub_ctx.clock.now + timedelta(hours=1)
    body = {"patient": checkin_body()["patient"], "service_line": "urgent_care",
            "condition": "sore_throat", "scheduled_for": when.isoformat()}
    _, appt = await hub_ctx.post("/api/appointments", body, token=token)
    vid, link = appt["visit_id"], appt["visit_token"]
    patient_ws = await hub_ctx.patient_socket(link)

    status, error = await hub_ctx.post(f"/api/visits/{vid}/claim", token=token)
    assert status == 409 and error["error"]["message"] == \
        "The patient has not completed eCheck-in yet."
    echeckin = {"forms": {"reason": "Sore throat", "allergies": "", "medications": "",
                  "pharmacy_id": "4410011"},
                "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                              "subscriber_name": "Rosalind Quartermaine"}}
    assert (await hub_ctx.post(f"/api/visits/{link}/echeckin", echeckin))[0] == 200
    status, error = await hub_ctx.post(f"/api/visits/{vid}/claim", token=token)
    assert status == 409 and "30 minutes before" in error["error"]["message"]
    assert hub_ctx.hub.service.store.visit(vid).state == "checking_in"

    hub_ctx.clock.advance(minutes=30)  # the begin window opens
    status, claimed = await hub_ctx.post(f"/api/visits/{vid}/claim", token=token)

    assert status == 200 and claimed["state"] == "claimed"
    ready = await receive_type(patient_ws, "provider_ready")
    assert ready["provider_name"] == "Dr. House"
    moves = [(a, b) for a, b, _at, _actor in hub_ctx.hub.service.store.transitions(vid)]
    assert moves[-2:] == [("checking_in", "waiting"), ("waiting", "claimed")]
    await patient_ws.close()


async def test_claim_next_keeps_video_visits_and_e_visits_apart(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    _, e_visit = await hub_ctx.post("/api/checkins", checkin_body(mode="e_visit",
                                                                  condition="cough"))
    hub_ctx.clock.advance(minutes=5)
    _, video = await hub_ctx.post("/api/checkins", checkin_body())

    status, first = await hub_ctx.post("/api/queue/claim-next", {}, token=token)
    assert status == 200 and first["visit_id"] == video["visit_id"]  # not the older E-Visit
    status, error = await hub_ctx.post("/api/queue/claim-next", {}, token=token)
    assert status == 404 and error["error"]["message"] == "No patients are waiting."
    status, second = await hub_ctx.post("/api/queue/claim-next", {"e_visit": True}, token=token)
    assert status == 200 and second["visit_id"] == e_visit["visit_id"]


async def test_a_visit_of_another_service_line_cannot_be_claimed_by_its_id(hub_ctx: HubContext):
    await hub_ctx.add_provider("derm", ("specialty_care",))
    token = await hub_ctx.sign_in("derm")
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())  # urgent care

    status, error = await hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)

    assert status == 403 and "service line" in error["error"]["message"]
    assert hub_ctx.hub.service.store.visit(visit["visit_id"]).state == "waiting"
    status, _ = await hub_ctx.get(f"/api/visits/{visit['visit_id']}/chart", token)
    assert status == 403
    denied = [e for e in hub_ctx.hub.service.store.audit_events(visit_id=visit["visit_id"])
              if e.action == "visit.claim"]
    assert [e.outcome for e in denied] == ["denied"]


async def test_password_guessing_is_stopped_for_a_while(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    wrong = {"username": "house", "password": "not the password"}
    for _ in range(5):
        assert (await hub_ctx.post("/api/auth/sign-in", wrong))[0] == 401

    status, error = await hub_ctx.post("/api/auth/sign-in",
                                       {"username": "HOUSE", "password": PASSWORD})
    assert status == 429 and "Too many wrong passwords" in error["error"]["message"]

    hub_ctx.clock.advance(minutes=15)
    assert (await hub_ctx.post("/api/auth/sign-in",
                               {"username": "house", "password": PASSWORD}))[0] == 200
    throttled = [e for e in hub_ctx.hub.service.store.audit_events()
                 if e.detail == "too many wrong passwords"]
    assert len(throttled) == 1


async def _sign_in_from(hub_ctx: HubContext, address: str, password: str, *,
                        username: str = "house") -> int:
    """A sign-in from another loopback address (another computer, as the hub sees it)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http, http.post(
            f"{hub_ctx.url}/api/auth/sign-in",
            json={"username": username, "password": password}) as r:
        return r.status


async def test_a_burst_of_guesses_sent_at_once_gets_no_more_than_five_checked(
        hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    wrong = {"username": "house", "password": "not the password"}
    answers = await asyncio.gather(
        *(hub_ctx.post("/api/auth/sign-in", wrong) for _ in range(100)),
        hub_ctx.post("/api/auth/sign-in", {"username": "house", "password": PASSWORD}))
    statuses = [status for status, _ in answers]
    # Each attempt is counted before its password is checked: at most five were checked.
    assert len([s for s in statuses if s != 429]) <= 5, statuses
    assert statuses.count(429) >= 96
    # And the right password now waits like any other from this computer.
    assert (await hub_ctx.post("/api/auth/sign-in",
                               {"username": "house", "password": PASSWORD}))[0] == 429


async def test_guesses_from_one_computer_do_not_lock_out_another(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    for _ in range(5):
        assert await _sign_in_from(hub_ctx, "127.0.0.2", "not the password") == 401
    assert await _sign_in_from(hub_ctx, "127.0.0.2", PASSWORD) == 429
    assert await _sign_in_from(hub_ctx, "127.0.0.3", PASSWORD) == 200


async def test_the_count_is_kept_in_the_database_for_every_hub(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    for _ in range(5):
        assert (await hub_ctx.post("/api/auth/sign-in", {
            "username": "house", "password": "not the password"}))[0] == 401
    # Another hub process on the same database (or this one restarted) knows.
    other = await start_hub(hub_ctx.hub.service.store, hub_ctx.hub.service.config,
                            hub_ctx.hub.service.resources, clock=hub_ctx.clock)
    try:
        async with hub_ctx.http.post(f"{other.url}/api/auth/sign-in",
                                     json={"username": "house", "password": PASSWORD}) as r:
            assert r.status == 429
    finally:
        await other.close()


async def test_unlocking_and_the_simulator_page_count_as_sign_ins(hub_ctx: HubContext):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    for _ in range(5):
        status, _ = await hub_ctx.post("/api/auth/verify", {"password": "nope nope"}, token)
        assert status == 401
    status, _ = await hub_ctx.post("/api/auth/verify", {"password": PASSWORD}, token)
    assert status == 429
    # The trainers' page (Basic auth) says so too, instead of asking for the password again.
    auth = base64.b64encode(f"house:{PASSWORD}".encode()).decode()
    async with hub_ctx.http.get(f"{hub_ctx.url}/erx/pharmacies",
                                headers={"Authorization": f"Basic {auth}"}) as r:
        assert r.status == 429 and "Too many wrong passwords" in await r.text()


# -- the call's course --------------------------------------------------------------------------


async def test_call_events_move_the_visit_and_keep_the_interruption_on_record(
        hub_ctx: HubContext):
    house, wilson, visit = await _claimed_visit(hub_ctx)
    visit_id = visit["visit_id"]
    patient_ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/patient/{visit['visit_token']}")
    rtc = await receive_type(patient_ws, "rtc")
    assert rtc["ice_servers"] == []  # sent even when the site has none
    status, page = await _page(hub_ctx, f"/v/{visit['visit_token']}/video")
    assert status == 200 and "Video visit" in page

    path = f"/api/visits/{visit_id}/call"
    assert (await hub_ctx.post(path, {"event": "started"}, wilson))[0] == 403
    for event, state in [("started", "in_call"), ("interrupted", "reconnecting"),
                         ("resumed", "in_call")]:
        status, body = await hub_ctx.post(path, {"event": event}, house)
        assert (status, body["state"]) == (200, state), body
        assert (await receive_type(patient_ws, "status"))["state"] == state
    for repeated in ("started", "resumed"):  # an event that already holds changes nothing
        status, body = await hub_ctx.post(path, {"event": repeated}, house)
        assert status == 200 and body["state"] == "in_call"
    assert (await hub_ctx.post(path, {"event": "paused"}, house))[0] == 422

    status, body = await hub_ctx.post(path, {"event": "ended"}, house)
    assert (status, body["state"]) == (200, "documenting")
    assert (await receive_type(patient_ws, "status"))["state"] == "documenting"
    status, body = await hub_ctx.post(path, {"event": "resumed"}, house)
    assert status == 409 and body["error"]["code"] == "illegal_transition"

    states = [to for _from, to, _at, _actor in
              hub_ctx.hub.service.store.transitions(visit_id)]
    assert states[-4:] == ["in_call", "reconnecting", "in_call", "documenting"]
    # While the visit is open the video room stays open: the provider may call again.
    status, page = await _page(hub_ctx, f"/v/{visit['visit_token']}/video")
    assert status == 200 and "Rejoin the video" in page
    status, body = await hub_ctx.post(path, {"event": "started"}, house)
    assert (status, body["state"]) == (200, "in_call")
    await hub_ctx.post(path, {"event": "ended"}, house)
    # Once signed, the video page leads to the summary instead.
    from tests.integration.test_hub_chart import COMPLETE

    assert (await hub_ctx.post(f"/api/visits/{visit_id}/sign", COMPLETE, house))[0] == 200
    async with hub_ctx.http.get(f"{hub_ctx.url}/v/{visit['visit_token']}/video",
                                allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == f"/v/{visit['visit_token']}"
    await patient_ws.close()


async def _page(hub_ctx: HubContext, path: str) -> tuple[int, str]:
    async with hub_ctx.http.get(f"{hub_ctx.url}{path}") as r:
        return r.status, await r.text()


async def test_chat_lines_are_kept_with_the_visit_once_and_only_by_its_provider(
        hub_ctx: HubContext):
    house, wilson, visit = await _claimed_visit(hub_ctx)
    path = f"/api/visits/{visit['visit_id']}/chat"
    line = {"id": "6f1c-1", "sender": "provider", "text": "Cetirizine: C-E-T-I-R-I-Z-I-N-E",
            "sent_at": "2026-11-24T16:05:00+00:00"}
    assert (await hub_ctx.post(path, line, house))[0] == 201
    assert (await hub_ctx.post(path, line, house))[0] == 200  # sent again: kept once
    reply = {**line, "id": "6f1c-2", "sender": "patient", "text": "<script>ok</script>",
             "sent_at": "2026-11-24T16:05:09+00:00"}
    assert (await hub_ctx.post(path, reply, house))[0] == 201
    assert (await hub_ctx.post(path, {**line, "id": "x-3"}, wilson))[0] == 403
    for bad in ({**line, "text": ""}, {**line, "sender": "nurse"},
                {**line, "sent_at": "2026-11-24T16:05:00"}, {**line, "id": "../x"}):
        assert (await hub_ctx.post(path, bad, house))[0] == 422, bad

    status, chart = await hub_ctx.get(f"/api/visits/{visit['visit_id']}/chart", house)
    assert status == 200
    assert [(c["sender"], c["text"]) for c in chart["chat"]] == [
        ("provider", "Cetirizine: C-E-T-I-R-I-Z-I-N-E"), ("patient", "<script>ok</script>")]
    events = hub_ctx.hub.service.store.audit_events(visit_id=visit["visit_id"])
    assert sum(e.action == "chart.chat" for e in events) == 2


async def test_a_browser_signs_the_provider_socket_in_with_a_subprotocol(hub_ctx: HubContext):
    # A browser cannot set Authorization on a WebSocket: the token rides in the subprotocol
    # offer, never in the URL; the hub answers with the plain protocol name.
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/provider",
                                       protocols=("workstation", f"workstation.bearer.{token}"))
    assert ws.protocol == "workstation"
    assert (await receive(ws))["type"] == "queue.snapshot"
    await ws.close()

    ws = await hub_ctx.http.ws_connect(f"{hub_ctx.url}/ws/provider",
                                       protocols=("workstation", "workstation.bearer.made-up"))
    assert await closed_with(ws) == 4401


async def test_the_provider_test_page_is_served_only_by_a_hub_started_for_benchmarks(
        hub_ctx: HubContext, sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    async with hub_ctx.http.get(f"{hub_ctx.url}/provider-test") as r:
        assert r.status == 404
    bench_hub = await start_hub(sqlite_store, site, resources, provider_test_page=True)
    try:
        async with hub_ctx.http.get(f"{bench_hub.url}/provider-test") as r:
            assert r.status == 200
            assert "Provider test call" in await r.text()
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    finally:
        await bench_hub.close()


async def test_echeckin_opens_three_days_before_the_appointment_and_says_when(
        hub_ctx: HubContext):
    when = hub_ctx.clock.now + timedelta(days=5)
    appt = await hub_ctx.book_appointment(timedelta(days=5))
    link = appt["visit_token"]
    echeckin = {
        "forms": {"reason": "Follow-up of eczema", "allergies": "", "medications": "",
                  "pharmacy_id": "4410011"},
        "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                      "subscriber_name": "Rosalind Quartermaine"},
    }

    _, state = await hub_ctx.get(f"/api/visits/{link}")
    assert state["echeckin_open"] is False
    opens = datetime.fromisoformat(state["echeckin_opens_at"])
    assert opens == when - timedelta(days=3)
    status, error = await hub_ctx.post(f"/api/visits/{link}/echeckin", echeckin)
    assert status == 409 and error["error"]["code"] == "not_open"
    assert "3 days before your appointment" in error["error"]["message"]
    assert opens.astimezone(hub_ctx.hub.service.config.zone).strftime("%m/%d/%Y") \
        in error["error"]["message"]  # in the clinic's time

    hub_ctx.clock.advance(days=2)  # now exactly three days before
    _, state = await hub_ctx.get(f"/api/visits/{link}")
    assert state["echeckin_open"] is True
    status, state = await hub_ctx.post(f"/api/visits/{link}/echeckin", echeckin)
    assert status == 200 and state["echeckin_complete"] is True


async def test_a_flood_of_sign_ins_hashes_only_a_few_passwords_at_a_time(
        hub_ctx: HubContext, monkeypatch: pytest.MonkeyPatch):
    """Each hash takes 64 MiB and a core: sixteen sign-ins at once wait their turn."""
    running, most = 0, 0
    lock = threading.Lock()
    real_verify = auth.verify_password

    def counted_verify(password_hash: str | None, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real_verify(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(auth, "verify_password", counted_verify)
    answers = await asyncio.gather(
        *(_sign_in_from(hub_ctx, f"127.0.4.{i}", "not the password", username=f"user{i}")
          for i in range(1, 17)),
        hub_ctx.post("/api/checkins", checkin_body()))

    assert answers[:16] == [401] * 16  # every one was checked, none refused unheard
    assert answers[16][0] == 201  # a patient checks in meanwhile
    assert most == auth.HASHES_AT_ONCE


@pytest.mark.parametrize("side", ["provider", "patient"])
async def test_a_socket_gone_while_its_pong_is_sent_ends_quietly(
        hub_ctx: HubContext, side: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture):
    """The client vanished between its ping and the hub's pong: the socket's handler ends
    without a traceback (aiohttp raises ConnectionResetError on the write)."""
    caplog.set_level(logging.INFO)
    if side == "provider":
        await hub_ctx.add_provider("house")
        ws = await hub_ctx.provider_socket(await hub_ctx.sign_in("house"))
    else:
        _, visit = await hub_ctx.post("/api/checkins", checkin_body())
        ws = await hub_ctx.patient_socket(visit["visit_token"])
    real_send = web.WebSocketResponse.send_json

    async def gone(self: web.WebSocketResponse, data: Any, *args: Any, **kwargs: Any) -> None:
        if data == {"type": "pong"}:
            raise ConnectionResetError("Cannot write to closing transport")
        await real_send(self, data, *args, **kwargs)

    monkeypatch.setattr(web.WebSocketResponse, "send_json", gone)
    await ws.send_str(json.dumps({"type": "ping"}))

    assert await closed_with(ws) is not None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "went away while being written to" in caplog.text
