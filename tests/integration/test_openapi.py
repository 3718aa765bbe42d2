"""The OpenAPI document covers every JSON endpoint, and fuzzing it never breaks the hub.

Schemathesis runs all its checks against a hub on a real port, once without a token and once
as a signed-in provider. Besides what it generates from the document, every date and time it
sends may be an extreme one (years 1 and 9999, offsets of ±14 hours and more), a negative case
may carry a control or invisible character, nesting 40 deep or a number of 4,000 digits in
one of its values, and every operation with a body gets JSON nested 1,000 deep and a number
of 5,000 digits. The hub's sockets get the same treatment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import keyring
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from tests.conftest import OPEN_NOW, fresh_pg_database
from tests.factories import checkin_body
from tests.memory_keyring import MemoryKeyring
from workstation.core.site import SiteConfig
from workstation.hub import auth, openapi
from workstation.hub.server import RunningHub, create_app, start_hub
from workstation.resource_files import load_resources
from workstation.storage.database import open_store
from workstation.storage.store import VisitStore

# The document describes the shape of a request; some answers depend on more than the shape
# (a listed condition, a pharmacy from the list, an NPI's check digit, eligibility, a time not
# yet past), and the hub says so with 422 naming the field, or 402 for a declined card. A
# request refused may also be one too large to read (413).
CONFIG = SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {
        "expected-statuses": ["2xx", "401", "402", "403", "404", "409", "422", "429"]},
    "negative_data_rejection": {
        "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415",
                              "422", "428", "429"]},
}})
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)

EXTREME_DATES = ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"]
EXTREME_TIMES = ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00",
                 "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                 "1899-12-31T23:59:59-23:59", "2100-12-31T23:59:59-23:59",
                 "2101-01-01T00:00:00+00:00"]


def _with_offset(moment: datetime, minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{moment.replace(microsecond=0).isoformat()}{sign}{abs(minutes) // 60:02d}:" \
        f"{abs(minutes) % 60:02d}"


# Every date and date-time schemathesis sends: any year from 1 to 9999, the extremes often.
schemathesis.openapi.format("date", st.one_of(
    st.sampled_from(EXTREME_DATES), st.dates().map(lambda d: d.isoformat())))
schemathesis.openapi.format("date-time", st.one_of(
    st.sampled_from(EXTREME_TIMES),
    st.builds(_with_offset, st.datetimes(), st.integers(-23 * 60 - 59, 23 * 60 + 59))))

# What a negative case may carry in one of its values.
HOSTILE_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u200b",
                      "\u2060", "\ufeff"]
DEEP = json.loads("[" * 40 + "]" * 40)
LONG_NUMBER = 10 ** 4000  # still readable: Python reads integers up to 4,300 digits


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _spoiled(leaf: Any) -> st.SearchStrategy[Any]:
    if isinstance(leaf, str):
        return st.builds(lambda char, at: leaf[:at] + char + leaf[at:],
                         st.sampled_from(HOSTILE_CHARACTERS), st.integers(0, len(leaf)))
    return st.sampled_from([DEEP, LONG_NUMBER])


@schema.hook
def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
    """A negative case as generated, or with one value of its body spoiled."""
    body = case.body
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    leaves = list(_leaves(body)) if isinstance(body, dict | list) else []
    if not negative or not leaves:
        return st.just(case)

    def spoil(path: tuple[Any, ...], new: Any) -> Any:
        case.body = _replaced(body, path, new)
        return case

    return st.one_of(st.just(case), st.sampled_from(leaves).flatmap(
        lambda leaf: _spoiled(leaf[1]).map(lambda new: spoil(leaf[0], new))))


def test_every_api_route_is_documented(sqlite_store, site, resources):
    app = create_app(sqlite_store, site, resources)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    documented = {
        (method, path) for path, ops in openapi.document()["paths"].items() for method in ops
    }
    assert served - {("get", "/api/openapi.json")} == documented


class LiveHub:
    """A hub on a real port, in its own thread, as a clinic would run it, with a provider
    whose sessions the fuzzing may use up (sign-out) and a patient waiting."""

    def __init__(self, hub: RunningHub, store: VisitStore, provider_id: str) -> None:
        self.hub = hub
        self.store = store
        self.provider_id = provider_id
        answer = requests.post(f"{hub.url}/api/checkins", json=checkin_body(), timeout=10)
        assert answer.status_code == 201, answer.text
        self.patient_link: str = answer.json()["visit_token"]

    @property
    def url(self) -> str:
        return self.hub.url

    def token(self) -> str:
        """A new session of the provider (so that a fuzzed sign-out ends only its own)."""
        token = auth.new_session_token()
        self.store.create_session(self.provider_id, token, OPEN_NOW, timedelta(hours=1))
        return token


@pytest.fixture(scope="module", params=["sqlite",
                                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_hub(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """The hub on SQLite and, marked postgres, on the real PostgreSQL server (which refuses
    NUL and text longer than its column)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url: Any = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'hub.db'}"
        else:
            url = stack.enter_context(fresh_pg_database("ws_fuzz"))
        yield from _live_hub(url)


def _live_hub(url: Any) -> Iterator[LiveHub]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    store = open_store(url)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(10)

    # Inside service hours (a Tuesday morning), whenever the tests run.
    hub = run(start_hub(store, SiteConfig(), load_resources(), clock=lambda: OPEN_NOW))
    provider = run(hub.service.add_provider("fuzz", "Dr. Fuzz", "correct horse battery",
                                            ("urgent_care", "specialty_care")))
    ProviderToken.hub = live = LiveHub(hub, store, provider.id)
    yield live
    ProviderToken.hub = None
    run(hub.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    store.close()
    keyring.set_keyring(previous)


@pytest.fixture
def hub_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """What the hub logged as errors (an unhandled exception is one) since the test began."""
    caplog.set_level(logging.WARNING)

    def errors() -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in caplog.records
                if r.levelno >= logging.ERROR]

    return errors


FUZZ_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


class ProviderToken:
    """Schemathesis's sign-in: a new session of the hub's provider for every case (left out
    where a case is about a missing token)."""

    hub: ClassVar[LiveHub | None] = None

    def get(self, case: Any, ctx: Any) -> str | None:
        return self.hub.token() if self.hub is not None else None  # None: while collecting

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _answered_in_words(case: Any, live_hub: LiveHub, hub_errors: Callable[[], list[str]]) -> None:
    # Every check schemathesis has: no 5xx, only documented status codes and content types,
    # bodies that match the document, invalid requests refused, valid ones taken (see CONFIG).
    response = case.call_and_validate(base_url=live_hub.url)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    assert hub_errors() == []


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_without_a_token_get_answers_people_can_read(case, live_hub,
                                                                       hub_errors):
    _answered_in_words(case, live_hub, hub_errors)


@schema.auth.apply(ProviderToken, refresh_interval=None)
@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_of_a_signed_in_provider_get_answers_people_can_read(case, live_hub,
                                                                               hub_errors):
    _answered_in_words(case, live_hub, hub_errors)


def _body_operations() -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()
            if result.ok().definition.raw.get("requestBody")]


HOSTILE_BODIES = {
    "nested 1,000 deep": ("too_deep", b"[" * 1000 + b"]" * 1000),
    "a field nested 1,000 deep": ("too_deep", b'{"a": ' + b"{\"b\": [" * 500 + b"]}" * 500 + b"}"),
    "nested 33 deep": ("too_deep", b"[" * 33 + b"]" * 33),
    "a number of 5,000 digits": ("bad_json", b'{"a": ' + b"9" * 5000 + b"}"),
    "1,000 brackets that never close": ("bad_json", b"[" * 1000),
}


@pytest.mark.parametrize("expected", HOSTILE_BODIES.values(), ids=list(HOSTILE_BODIES))
@pytest.mark.parametrize("operation", _body_operations(), ids=lambda op: op.label)
def test_hostile_json_is_refused_with_400(operation, expected, live_hub, hub_errors):
    code, raw = expected
    # Ids and links of the right shape (none of them exists): the body is read first.
    shaped = {"token": "A" * 43, "pane": "plan"}
    names = re.findall(r"{(\w+)}", operation.path)
    case = operation.Case(body=raw, media_type="application/json",
                          path_parameters={n: shaped.get(n, str(uuid.uuid4())) for n in names})
    response = case.call_and_validate(
        base_url=live_hub.url, headers={"Authorization": f"Bearer {live_hub.token()}"})
    if operation.path == "/api/practice":  # a clinic hub refuses before reading the body
        assert response.status_code == 403
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == code
    assert hub_errors() == []


def _appointment(**changes: Any) -> dict[str, Any]:
    body = {"patient": checkin_body()["patient"], "service_line": "specialty_care",
            "condition": "follow_up",
            "scheduled_for": (OPEN_NOW + timedelta(days=2)).isoformat()}
    return body | changes


def _named(given_name: str) -> dict[str, Any]:
    body = checkin_body()
    body["patient"]["given_name"] = given_name
    return body


# (operation, what to send, the status, the field its answer names): each valid request
# first, then the same with one extreme value.
EXTREME_REQUESTS: dict[str, tuple[str, dict[str, Any], int, str | None]] = {
    "a day's schedule": ("GET /api/schedule", {"query": {"date": "2100-12-31"}}, 200, None),
    "the schedule of 9999-12-31": ("GET /api/schedule", {"query": {"date": "9999-12-31"}}, 422,
                                   "date"),
    "the schedule of 0001-01-01": ("GET /api/schedule", {"query": {"date": "0001-01-01"}}, 422,
                                   "date"),
    "an appointment": ("POST /api/appointments", {"body": _appointment()}, 201, None),
    "an appointment at 9999-12-31": (
        "POST /api/appointments", {"body": _appointment(scheduled_for=EXTREME_TIMES[0])}, 422,
        "scheduled_for"),
    "an appointment at 0001-01-01+14:00": (
        "POST /api/appointments", {"body": _appointment(scheduled_for=EXTREME_TIMES[2])}, 422,
        "scheduled_for"),
    "an appointment an hour ago": (
        "POST /api/appointments",
        {"body": _appointment(scheduled_for=(OPEN_NOW - timedelta(hours=1)).isoformat())},
        422, "scheduled_for"),
    "an appointment for a reason of 41 characters": (
        "POST /api/appointments", {"body": _appointment(condition="c" * 41)}, 422, "condition"),
    "eligibility": ("POST /api/eligibility", {"body": {
        "date_of_birth": "1985-03-14", "condition": "sore_throat", "red_flags": {}}}, 200, None),
    "a date of birth of 0": ("POST /api/eligibility", {"body": {
        "date_of_birth": 0, "condition": "sore_throat", "red_flags": {}}}, 422,
        "date_of_birth"),
    "a date of birth of 9999-12-31": ("POST /api/eligibility", {"body": {
        "date_of_birth": "9999-12-31", "condition": "sore_throat", "red_flags": {}}}, 422,
        "date_of_birth"),
    "a check-in": ("POST /api/checkins", {"body": checkin_body()}, 201, None),
    "NUL in a name": ("POST /api/checkins", {"body": _named("Ros\x00a")}, 422,
                      "patient.given_name"),
    "ESC in a name": ("POST /api/checkins", {"body": _named("Ros\x1ba")}, 422,
                      "patient.given_name"),
    "a right-to-left override in a name": ("POST /api/checkins", {"body": _named("Ros\u202ea")},
                                           422, "patient.given_name"),
    "a zero-width space in a name": ("POST /api/checkins", {"body": _named("Ros\u200ba")}, 422,
                                     "patient.given_name"),
    "NUL in a username": ("POST /api/auth/sign-in", {"body": {
        "username": "fuzz\x00", "password": "correct horse battery"}}, 422, "username"),
}


@pytest.mark.parametrize("request_", EXTREME_REQUESTS.values(), ids=list(EXTREME_REQUESTS))
def test_extreme_values_are_refused_naming_the_field(request_, live_hub, hub_errors):
    label, parts, status, field = request_
    method, path = label.split(" ")
    case = schema[path][method].Case(media_type="application/json" if "body" in parts else None,
                                     headers={"Authorization": f"Bearer {live_hub.token()}"},
                                     **parts)
    response = case.call_and_validate(base_url=live_hub.url)
    assert response.status_code == status, response.text
    if field is not None:
        assert field in response.json()["error"]["fields"], response.text
    assert hub_errors() == []


# -- the WebSockets -----------------------------------------------------------------------------

_hostile_text = st.text(st.one_of(st.characters(), st.sampled_from(HOSTILE_CHARACTERS)),
                        max_size=20)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | _hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_hostile_text, inner,
                                                                max_size=4),
    max_leaves=20)
_messages = st.one_of(
    # Messages of the hub's own types, with anything in them.
    st.fixed_dictionaries({"type": st.sampled_from(["signal", "subscribe", "ping", "x"])},
                          optional={"visit_id": _json_values, "data": _json_values,
                                    "service_lines": _json_values}).map(json.dumps),
    _json_values.map(json.dumps),
    st.sampled_from([
        "[" * 1000 + "]" * 1000,
        '{"type": "signal", "data": ' + '{"a": [' * 500 + "]}" * 500 + "}",
        '{"type": "ping", "n": ' + "9" * 5000 + "}",
        '{"type": "signal", "visit_id": "a\\u0000b", "data": {}}',
        '{"type": "signal", "visit_id": "\\ud800", "data": {}}',
        '{"type": "subscribe", "service_lines": ["urgent_care\\u0000"]}',
    ]),
    _hostile_text,
)
CLEAN_CLOSES = {4400, 4403}  # a malformed message; a visit or queue not the sender's


async def _send(url: str, headers: dict[str, str], message: str) -> int | None:
    """Send one message over a new socket; the close code when the hub closed the socket,
    None when it stayed open (the hub answered, or had nothing to say)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
        await ws.send_str(message)
        # Then a ping, so that a message the hub takes silently is answered too (a socket
        # closed meanwhile takes nothing more).
        with contextlib.suppress(aiohttp.ClientConnectionResetError, ConnectionResetError):
            await ws.send_str(json.dumps({"type": "ping"}))
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type is aiohttp.WSMsgType.TEXT:
                if json.loads(msg.data)["type"] == "pong":
                    return None
                continue
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING), msg
            return ws.close_code


@FUZZ_SETTINGS
@given(message=_messages)
def test_fuzzed_socket_messages_are_answered_or_closed_cleanly(message, live_hub, hub_errors):
    provider = asyncio.run(_send(f"{live_hub.url}/ws/provider",
                                 {"Authorization": f"Bearer {live_hub.token()}"}, message))
    assert provider is None or provider in CLEAN_CLOSES, provider
    patient = asyncio.run(_send(f"{live_hub.url}/ws/patient/{live_hub.patient_link}", {},
                                message))
    assert patient is None or patient in CLEAN_CLOSES, patient
    assert hub_errors() == []
