"""The provider's JSON API: sign-in, queue, claims, appointments, the practice. Bearer token on
every call but the first run's and sign-in's."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from workstation.core.people import Address, Provider
from workstation.core.practice import Practice
from workstation.hub import sockets
from workstation.hub.auth import bearer_token
from workstation.hub.errors import ApiError, parse_body
from workstation.hub.patient_api import SERVICE
from workstation.hub.provider_accounts import IssuedSession
from workstation.hub.schemas import (
    AppointmentIn,
    CallEventIn,
    ClaimNextIn,
    FirstProviderSetupIn,
    PracticeSettingsIn,
    RefreshIn,
    SignInIn,
    SignOutIn,
    VerifyPasswordIn,
    year_problem,
)
from workstation.hub.visit_service import VisitService, entry_json
from workstation.storage.store import VisitNotFound

routes = web.RouteTableDef()


def _service(request: web.Request) -> VisitService:
    return request.app[SERVICE]


async def _provider(request: web.Request) -> Provider:
    return await _service(request).authenticate(bearer_token(request.headers.get("Authorization")))


def _provider_json(p: Provider) -> dict[str, object]:
    return {"id": p.id, "username": p.username, "display_name": p.display_name,
            "service_lines": list(p.service_lines), "npi": p.npi}


def _address_json(a: Address | None) -> dict[str, str] | None:
    if a is None:
        return None
    return {"line1": a.line1, "line2": a.line2, "city": a.city, "state": a.state,
            "postal_code": a.postal_code}


def _practice_json(practice: Practice, npi: str) -> dict[str, object]:
    return {"npi": npi, "address": _address_json(practice.address), "phone": practice.phone}


@routes.get("/api/setup", name="setup_status")
async def setup_status(request: web.Request) -> web.Response:
    service = _service(request)
    needed = await service.setup_needed()
    if not needed:
        return web.json_response({"needs_first_provider": False})
    # What the site file says, to start the first run's practice fields with.
    practice = await service.practice()
    return web.json_response({"needs_first_provider": True, "practice": {
        "address": _address_json(practice.address), "phone": practice.phone}})


@routes.post("/api/setup/first-provider", name="first_provider")
async def first_provider(request: web.Request) -> web.Response:
    body = await parse_body(request, FirstProviderSetupIn)
    provider = await _service(request).create_first_provider(body)
    return web.json_response({"provider": _provider_json(provider)}, status=201)


@routes.get("/api/practice", name="practice")
async def practice(request: web.Request) -> web.Response:
    provider = await _provider(request)
    found, npi = await _service(request).practice_settings(provider)
    return web.json_response(_practice_json(found, npi))


@routes.put("/api/practice", name="save_practice")
async def save_practice(request: web.Request) -> web.Response:
    provider = await _provider(request)
    service = _service(request)
    # Refused before the body is read: someone else hears 403 whatever they send.
    await service.require_practice_owner(provider, "practice.update")
    body = await parse_body(request, PracticeSettingsIn)
    saved, npi = await service.save_practice_settings(provider, body)
    return web.json_response(_practice_json(saved, npi))


@routes.post("/api/auth/sign-in", name="sign_in")
async def sign_in(request: web.Request) -> web.Response:
    body = await parse_body(request, SignInIn)
    service = _service(request)
    issued = await service.sign_in(body.username, body.password,
                                   remember=body.remember and service.config.remember_days > 0,
                                   address=request.remote or "", code=body.code)
    return web.json_response(_issued_json(issued))


@routes.post("/api/auth/refresh", name="refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await parse_body(request, RefreshIn)
    return web.json_response(_issued_json(await _service(request).refresh(body.refresh_token)))


def _issued_json(issued: IssuedSession) -> dict[str, object]:
    return {"token": issued.token, "expires_at": issued.expires_at.isoformat(),
            "provider": _provider_json(issued.provider),
            "refresh_token": issued.refresh_token,
            "refresh_expires_at": issued.refresh_expires_at.isoformat()
            if issued.refresh_expires_at else None}


@routes.post("/api/auth/sign-out", name="sign_out")
async def sign_out(request: web.Request) -> web.Response:
    provider = await _provider(request)
    token = bearer_token(request.headers.get("Authorization"))
    assert token is not None
    body = await parse_body(request, SignOutIn, empty=SignOutIn())
    await _service(request).sign_out(token, provider, refresh_token=body.refresh_token)
    await sockets.close_session_sockets(_service(request), token)
    return web.Response(status=204)


@routes.post("/api/auth/verify", name="verify_password")
async def verify_password(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, VerifyPasswordIn)
    await _service(request).verify_password(provider, body.password,
                                            address=request.remote or "")
    return web.Response(status=204)


@routes.get("/api/queue", name="queue")
async def queue(request: web.Request) -> web.Response:
    provider = await _provider(request)
    entries = await _service(request).queue(provider.service_lines)
    return web.json_response({"entries": [entry_json(e) for e in entries]})


@routes.post("/api/visits/{visit_id}/claim", name="claim")
async def claim(request: web.Request) -> web.Response:
    provider = await _provider(request)
    visit = await _service(request).claim(provider, request.match_info["visit_id"])
    return web.json_response({"visit_id": visit.id, "state": visit.state.value,
                              "provider_id": provider.id})


@routes.post("/api/queue/claim-next", name="claim_next")
async def claim_next(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, ClaimNextIn, empty=ClaimNextIn())
    visit = await _service(request).claim_next(provider, body.service_line,
                                               e_visit=body.e_visit)
    return web.json_response({"visit_id": visit.id, "state": visit.state.value,
                              "provider_id": provider.id})


@routes.post("/api/visits/{visit_id}/release", name="release")
async def release(request: web.Request) -> web.Response:
    provider = await _provider(request)
    try:
        visit = await _service(request).release(provider, request.match_info["visit_id"])
    except VisitNotFound as exc:
        raise ApiError(404, "not_found", "This visit does not exist.") from exc
    return web.json_response({"visit_id": visit.id, "state": visit.state.value})


@routes.post("/api/visits/{visit_id}/call", name="call_event")
async def call_event(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, CallEventIn)
    visit = await _service(request).call_event(provider, request.match_info["visit_id"],
                                                body.event)
    return web.json_response({"visit_id": visit.id, "state": visit.state.value})


@routes.post("/api/appointments", name="create_appointment")
async def create_appointment(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, AppointmentIn)
    visit, token = await _service(request).create_appointment(provider, body)
    return web.json_response({"visit_id": visit.id, "visit_token": token,
                              "visit_url": f"/v/{token}"}, status=201)


@routes.get("/api/my-visits", name="my_visits")
async def my_visits(request: web.Request) -> web.Response:
    provider = await _provider(request)
    return web.json_response({"visits": await _service(request).open_visits(provider)})


@routes.get("/api/schedule", name="schedule")
async def schedule(request: web.Request) -> web.Response:
    provider = await _provider(request)
    service = _service(request)
    raw = request.query.get("date")
    try:
        day = date.fromisoformat(raw) if raw is not None else service.clock().astimezone(
            service.config.zone).date()
    except ValueError as exc:
        raise ApiError(422, "invalid", "Give the date as YYYY-MM-DD.",
                       fields={"date": "Give the date as YYYY-MM-DD."}) from exc
    problem = year_problem(day.year)
    if problem is not None:
        raise ApiError(422, "invalid", problem, fields={"date": problem})
    return web.json_response({"appointments": await service.schedule(provider, day)})
