"""Bad input gets a 4xx that names the field, never a server error: JSON nested too deeply,
dates far out of range, control and invisible characters, numbers for dates, times past.
Against the real hub over real sockets, on SQLite and (marked postgres) on PostgreSQL, which
refuses NUL and text longer than its columns."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from yarl import URL

from tests.factories import checkin_body
from tests.hub_fixtures import HubContext, closed_with, receive_type, running_hub
from workstation.core.payment import RecordingProcessor

pytestmark = pytest.mark.asyncio

DEEP = "[" * 1000 + "]" * 1000
FAR_TIMES = ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00",
             "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59+00:00",
             "2101-01-01T00:00:00+00:00"]


class WatchedProcessor:
    """The embedded payment processor, with every call made to it written down: a request
    refused for what it holds must not reach the card at all."""

    def __init__(self) -> None:
        self._processor = RecordingProcessor()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._processor, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return found(*args, **kwargs)

        return call


@pytest.fixture
async def paying_hub(store, site, resources) -> AsyncIterator[tuple[HubContext, WatchedProcessor]]:  # type: ignore[no-untyped-def]
    """The hub on SQLite and, marked postgres, on PostgreSQL, its processor watched."""
    processor = WatchedProcessor()
    async with running_hub(store, site, resources, processor=processor) as ctx:
        yield ctx, processor


@pytest.fixture
def logged_errors(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """What the hub logged as errors (a traceback, a refund needed) during the test."""
    caplog.set_level(logging.WARNING)
    return lambda: [f"{r.name}: {r.getMessage()}" for r in caplog.records
                    if r.levelno >= logging.ERROR]


async def post_raw(ctx: HubContext, path: str, raw: str, token: str | None = None,
                   ) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with ctx.http.post(f"{ctx.url}{path}", data=raw.encode(), headers=headers) as r:
        return r.status, await r.json()


async def claimed_visit(ctx: HubContext) -> tuple[str, str, str]:
    """(provider token, visit id, visit link) of a checked-in patient claimed by "house"."""
    await ctx.add_provider("house")
    token = await ctx.sign_in("house")
    status, visit = await ctx.post("/api/checkins", checkin_body())
    assert status == 201, visit
    status, _ = await ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)
    assert status == 200
    return token, visit["visit_id"], visit["visit_token"]


def appointment(ctx: HubContext, **changes: Any) -> dict[str, Any]:
    body = {"patient": checkin_body()["patient"], "service_line": "specialty_care",
            "condition": "follow_up", "scheduled_for": (ctx.clock.now + timedelta(days=2))
            .isoformat()}
    body.update(changes)
    return body


def chat_line(**changes: Any) -> dict[str, Any]:
    line = {"id": "line-1", "sender": "patient", "text": "Is it contagious?",
            "sent_at": "2026-11-24T16:02:00+00:00"}
    line.update(changes)
    return line


def field_error(body: Any, field: str) -> str:
    """The message for ``field`` of a 422 answer (fails when another field is blamed)."""
    fields = body["error"]["fields"]
    assert field in fields, fields
    return str(fields[field])


# -- JSON nested too deeply ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/eligibility", "/api/checkins", "/api/auth/sign-in",
                                  "/api/setup/first-provider"])
async def test_json_nested_1000_deep_is_refused_with_400(hub_ctx: HubContext, logged_errors,
                                                         path: str):
    status, body = await post_raw(hub_ctx, path, DEEP)
    assert status == 400
    assert body["error"]["code"] == "too_deep"
    assert "more than 32 deep" in body["error"]["message"]
    status, body = await post_raw(hub_ctx, path, '{"a": ' + "9" * 5000 + "}")
    assert (status, body["error"]["code"]) == (400, "bad_json")
    assert logged_errors() == []


async def test_nesting_up_to_32_deep_is_read(hub_ctx: HubContext):
    def body_with_extra(levels: int) -> str:  # the body's own object is the first level
        nested = "[" * (levels - 1) + '"] is text"' + "]" * (levels - 1)
        return json.dumps(checkin_body())[:-1] + f', "extra": {nested}}}'

    # 32 levels are read, and refused for what they hold, naming the field.
    status, body = await post_raw(hub_ctx, "/api/checkins", body_with_extra(32))
    assert status == 422
    assert field_error(body, "extra") == "This field is not expected."
    status, body = await post_raw(hub_ctx, "/api/checkins", body_with_extra(33))
    assert (status, body["error"]["code"]) == (400, "too_deep")


async def test_sockets_close_4400_on_json_nested_1000_deep_without_a_traceback(
        hub_ctx: HubContext, logged_errors):
    token, _, link = await claimed_visit(hub_ctx)
    provider_ws = await hub_ctx.provider_socket(token)
    await provider_ws.send_str(DEEP)
    assert await closed_with(provider_ws) == 4400
    patient_ws = await hub_ctx.patient_socket(link)
    await patient_ws.send_str('{"type": "signal", "data": ' + '{"a": [' * 500 + "]}" * 500
                              + "}")
    assert await closed_with(patient_ws) == 4400
    assert logged_errors() == []


# -- dates and times ------------------------------------------------------------------------------


@pytest.mark.parametrize("when", FAR_TIMES)
async def test_appointments_far_out_of_range_are_refused(hub_ctx: HubContext, logged_errors,
                                                         when: str):
    await hub_ctx.add_provider("desk")
    token = await hub_ctx.sign_in("desk")
    status, body = await hub_ctx.post("/api/appointments",
                                      appointment(hub_ctx, scheduled_for=when), token)
    assert status == 422
    assert "between 1900 and 2100" in field_error(body, "scheduled_for")
    assert logged_errors() == []


async def test_appointments_in_the_past_are_refused_after_a_few_minutes(hub_ctx: HubContext):
    await hub_ctx.add_provider("desk")
    token = await hub_ctx.sign_in("desk")
    past = appointment(hub_ctx, scheduled_for=(hub_ctx.clock.now - timedelta(minutes=6))
                       .isoformat())
    status, body = await hub_ctx.post("/api/appointments", past, token)
    assert status == 422
    assert field_error(body, "scheduled_for") == "Choose a time from now on."
    _, today = await hub_ctx.get("/api/schedule", token)
    assert today["appointments"] == []
    # The front desk typing "now" a moment late is fine.
    just_now = appointment(hub_ctx, scheduled_for=(hub_ctx.clock.now - timedelta(minutes=4))
                           .isoformat())
    status, body = await hub_ctx.post("/api/appointments", just_now, token)
    assert status == 201, body


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", ""])
async def test_the_schedule_of_a_day_out_of_range_is_refused(hub_ctx: HubContext, logged_errors,
                                                             day: str):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    status, body = await hub_ctx.get(f"/api/schedule?date={day}", token)
    assert status == 422
    assert field_error(body, "date")
    status, _ = await hub_ctx.get("/api/schedule?date=2100-12-31", token)
    assert status == 200
    assert logged_errors() == []


async def test_chat_times_out_of_range_are_refused(any_db_hub_ctx: HubContext, logged_errors):
    token, visit_id, _ = await claimed_visit(any_db_hub_ctx)
    for index, when in enumerate(FAR_TIMES):
        status, body = await any_db_hub_ctx.post(
            f"/api/visits/{visit_id}/chat", chat_line(id=f"far-{index}", sent_at=when), token)
        assert status == 422, when
        assert "between 1900 and 2100" in field_error(body, "sent_at")
    status, body = await any_db_hub_ctx.post(
        f"/api/visits/{visit_id}/chat", chat_line(sent_at=0), token)
    assert status == 422 and "UTC offset" in field_error(body, "sent_at")
    assert logged_errors() == []


@pytest.mark.parametrize("given", [0, 19850314, 1.5, "0", "19850314", "1985-03-14T00:00:00",
                                   "1899-12-31", "9999-12-31", None])
async def test_a_date_of_birth_is_an_iso_date_of_this_world(hub_ctx: HubContext, given: Any):
    body = checkin_body()
    body["patient"]["date_of_birth"] = given
    status, answer = await hub_ctx.post("/api/checkins", body)
    assert status == 422
    assert field_error(answer, "patient.date_of_birth")
    status, answer = await hub_ctx.post("/api/eligibility", {
        "date_of_birth": given, "condition": "sore_throat", "red_flags": {}})
    assert status == 422
    assert field_error(answer, "date_of_birth")
    assert hub_ctx.hub.service.store.waiting_visits() == []


# -- control and invisible characters --------------------------------------------------------------


async def test_nul_in_a_name_is_refused_before_the_fee_is_charged(paying_hub, logged_errors):
    ctx, processor = paying_hub
    body = checkin_body()
    body["patient"]["given_name"] = "Rosa\x00lind"
    status, answer = await ctx.post("/api/checkins", body)
    assert status == 422
    assert "U+0000" in field_error(answer, "patient.given_name")
    assert processor.calls == []
    assert ctx.hub.service.store.waiting_visits() == []
    assert logged_errors() == []  # no "refund needed", no traceback
    status, answer = await ctx.post("/api/checkins", checkin_body())
    assert status == 201 and processor.calls != []


@pytest.mark.parametrize("where", ["patient.given_name", "patient.family_name",
                                   "payment.holder", "patient.address.city", "symptoms",
                                   "allergies", "onset", "primary_care.name"])
async def test_nul_anywhere_in_a_checkin_is_refused_naming_the_field(paying_hub, where: str):
    ctx, processor = paying_hub
    body = checkin_body(primary_care={"name": "Dr. Ada Lee", "practice": "Elm Clinic",
                                      "phone": "512-555-0100", "share": True})
    *parents, name = where.split(".")
    target = body
    for part in parents:
        target = target[part]
    target[name] = "before\x00after"
    status, answer = await ctx.post("/api/checkins", body)
    assert status == 422
    assert "U+0000" in field_error(answer, where)
    assert processor.calls == []


async def test_nul_in_chat_text_is_refused(any_db_hub_ctx: HubContext, logged_errors):
    token, visit_id, _ = await claimed_visit(any_db_hub_ctx)
    status, body = await any_db_hub_ctx.post(f"/api/visits/{visit_id}/chat",
                                             chat_line(text="see\x00you"), token)
    assert status == 422
    assert "U+0000" in field_error(body, "text")
    # Lines and tabs are what several lines are made of.
    status, body = await any_db_hub_ctx.post(f"/api/visits/{visit_id}/chat",
                                             chat_line(text="see\n\tyou"), token)
    assert status == 201, body
    assert logged_errors() == []


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x7f", "\x85", "\t", "\n", "\u202e",
                                  "\u202a", "\u2066", "\u2069", "\u200b", "\u200c", "\u200d",
                                  "\u2060", "\ufeff"])
async def test_names_refuse_control_and_invisible_characters(hub_ctx: HubContext, char: str):
    body = checkin_body()
    body["patient"]["family_name"] = f"Quarter{char}maine"
    status, answer = await hub_ctx.post("/api/checkins", body)
    assert status == 422
    said = field_error(answer, "patient.family_name")
    assert said == "Keep this on one line." if char == "\n" else f"U+{ord(char):04X}" in said
    assert hub_ctx.hub.service.store.waiting_visits() == []


async def test_names_in_any_script_are_kept(hub_ctx: HubContext):
    body = checkin_body()
    body["patient"]["given_name"] = "Zoë-Åsa"
    body["patient"]["family_name"] = "O’Brien Nguyễn 王 أحمد"
    status, answer = await hub_ctx.post("/api/checkins", body)
    assert status == 201, answer
    patient = hub_ctx.hub.service.store.visit_detail(answer["visit_id"]).patient
    assert (patient.given_name, patient.family_name) == ("Zoë-Åsa", "O’Brien Nguyễn 王 أحمد")


async def test_free_text_keeps_lines_and_tabs_and_nothing_else_unseen(hub_ctx: HubContext):
    status, body = await hub_ctx.post("/api/checkins",
                                      checkin_body(symptoms="Fever\n\tsince Monday\x1b[2J"))
    assert status == 422
    assert "U+001B" in field_error(body, "symptoms")
    status, body = await hub_ctx.post("/api/checkins", checkin_body(onset="2 days\nago"))
    assert status == 422
    assert field_error(body, "onset") == "Keep this on one line."
    # Invisible formatting in free text is the patient's to write (a right-to-left phrase).
    text = "Fever\n\tsince Monday \u2067\u05d0\u05d1\u2069"
    status, body = await hub_ctx.post("/api/checkins", checkin_body(symptoms=text))
    assert status == 201, body
    intake = hub_ctx.hub.service.store.intake(body["visit_id"])
    assert intake is not None and intake.symptoms == text


async def test_an_appointment_reason_longer_than_a_visit_keeps_is_refused(
        any_db_hub_ctx: HubContext, logged_errors):
    await any_db_hub_ctx.add_provider("desk")
    token = await any_db_hub_ctx.sign_in("desk")
    status, body = await any_db_hub_ctx.post(
        "/api/appointments", appointment(any_db_hub_ctx, condition="c" * 41), token)
    assert status == 422
    assert "at most 40" in field_error(body, "condition")
    body = appointment(any_db_hub_ctx)
    body["patient"]["given_name"] = "Ro\x00sa"
    status, answer = await any_db_hub_ctx.post("/api/appointments", body, token)
    assert status == 422 and "U+0000" in field_error(answer, "patient.given_name")
    assert logged_errors() == []


async def test_sign_in_with_nul_in_the_username_is_refused(any_db_hub_ctx: HubContext,
                                                           logged_errors):
    status, body = await any_db_hub_ctx.post("/api/auth/sign-in",
                                             {"username": "house\x00", "password": "x"})
    assert status == 422
    assert "U+0000" in field_error(body, "username")
    status, body = await any_db_hub_ctx.post("/api/auth/sign-in",
                                             {"username": "house\ud800", "password": "x"})
    assert status == 422
    assert field_error(body, "username") == "This holds something that is not text. " \
                                            "Type it again."
    assert logged_errors() == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/visits/a%00b/chart"), ("POST", "/api/visits/a%00b/claim"),
    ("POST", "/api/visits/a%00b/release"), ("GET", "/api/visits/a%00b/prescriptions"),
    ("POST", "/api/prescriptions/a%00b/cancel"), ("GET", "/api/visits/a%00b/fhir")])
async def test_an_id_with_a_control_character_names_nothing(any_db_hub_ctx: HubContext,
                                                            logged_errors, method: str,
                                                            path: str):
    await any_db_hub_ctx.add_provider("house")
    token = await any_db_hub_ctx.sign_in("house")
    async with any_db_hub_ctx.http.request(
            method, URL(any_db_hub_ctx.url + path, encoded=True), json={} if method == "POST"
            else None, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 404
        assert (await r.json())["error"]["code"] == "not_found"
    assert logged_errors() == []


@pytest.mark.parametrize("message", [
    {"type": "signal", "visit_id": "a\x00b", "data": {"type": "offer", "sdp": "v=0"}},
    {"type": "signal", "visit_id": "\ud800", "data": {"type": "offer", "sdp": "v=0"}},
    {"type": "subscribe", "service_lines": ["urgent_care\x00"]},
])
async def test_socket_messages_with_nul_close_4400_without_a_traceback(
        any_db_hub_ctx: HubContext, logged_errors, message: dict[str, Any]):
    await any_db_hub_ctx.add_provider("house")
    ws = await any_db_hub_ctx.provider_socket(await any_db_hub_ctx.sign_in("house"))
    await ws.send_str(json.dumps(message))
    assert await closed_with(ws) == 4400
    assert logged_errors() == []


async def test_the_signal_relay_still_carries_sdp_line_breaks(hub_ctx: HubContext):
    token, visit_id, link = await claimed_visit(hub_ctx)
    provider_ws = await hub_ctx.provider_socket(token)
    patient_ws = await hub_ctx.patient_socket(link)
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
    await provider_ws.send_str(json.dumps({"type": "signal", "visit_id": visit_id,
                                           "data": offer}))
    assert (await receive_type(patient_ws, "signal"))["data"] == offer
    await provider_ws.close()
    await patient_ws.close()
