"""The patient's JSON API: site facts, eligibility, check-in, their visit's status."""

from __future__ import annotations

from aiohttp import web

from workstation.core.eligibility import EMERGENCY_MESSAGE, RED_FLAGS
from workstation.core.visit_link import looks_like_token
from workstation.hub.errors import parse_body
from workstation.hub.patient_desk import PatientDesk
from workstation.hub.prescription_api import PRESCRIPTIONS
from workstation.hub.schemas import CheckInIn, ECheckInIn, EligibilityIn
from workstation.hub.visit_service import LINK_EXPIRED, VisitService

SERVICE: web.AppKey[VisitService] = web.AppKey("service", VisitService)
PATIENTS: web.AppKey[PatientDesk] = web.AppKey("patients", PatientDesk)

routes = web.RouteTableDef()


def _service(request: web.Request) -> VisitService:
    return request.app[SERVICE]


def _desk(request: web.Request) -> PatientDesk:
    return request.app[PATIENTS]


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    if not looks_like_token(token):
        raise LINK_EXPIRED
    return token


@routes.get("/api/site", name="site")
async def site(request: web.Request) -> web.Response:
    return web.json_response(_desk(request).site_info())


@routes.get("/api/conditions", name="conditions")
async def conditions(request: web.Request) -> web.Response:
    return web.json_response({"conditions": [
        {"code": c.code, "name": c.name, "e_visit": c.e_visit, "service_line": c.service_line}
        for c in _service(request).resources.conditions
    ]})


@routes.get("/api/red-flags", name="red_flags")
async def red_flags(request: web.Request) -> web.Response:
    return web.json_response({
        "red_flags": [{"code": f.code, "question": f.question} for f in RED_FLAGS],
        "emergency_message": EMERGENCY_MESSAGE,
    })


@routes.post("/api/eligibility", name="eligibility")
async def eligibility(request: web.Request) -> web.Response:
    body = await parse_body(request, EligibilityIn)
    decision = _desk(request).eligibility(body)
    return web.json_response({
        "eligible": decision.eligible,
        "outcome": decision.outcome.value,
        "message": decision.message,
        "next_opening": decision.next_opening.isoformat() if decision.next_opening else None,
    })


@routes.get("/api/pharmacies", name="pharmacies")
async def pharmacies(request: web.Request) -> web.Response:
    query = request.query.get("q", "")[:100]
    found = _service(request).resources.search_pharmacies(query)
    return web.json_response({"pharmacies": [
        {"id": p.ncpdp_id, "name": p.name, "address": p.address, "city": p.city,
         "state": p.state, "postal_code": p.postal_code, "phone": p.phone, "hours": p.hours}
        for p in found
    ]})


@routes.post("/api/checkins", name="checkin")
async def checkin(request: web.Request) -> web.Response:
    body = await parse_body(request, CheckInIn)
    visit, token = await _desk(request).check_in(body)
    return web.json_response(
        {"visit_id": visit.id, "visit_token": token, "visit_url": f"/v/{token}",
         "kind": visit.kind.value},
        status=201,
    )


@routes.get("/api/visits/{token}", name="visit_status")
async def visit_status(request: web.Request) -> web.Response:
    desk = _desk(request)
    detail = await desk.detail_for_token(_token(request))
    await desk.viewed_by_patient(detail)
    status = await desk.status(detail)
    prescriptions = request.app.get(PRESCRIPTIONS)
    if prescriptions is not None:
        status["prescriptions"] = await prescriptions.for_patient_page(detail.visit.id)
    return web.json_response(status)


@routes.post("/api/visits/{token}/echeckin", name="echeckin")
async def echeckin(request: web.Request) -> web.Response:
    token = _token(request)
    body = await parse_body(request, ECheckInIn)
    return web.json_response(await _desk(request).echeckin(token, body))


@routes.post("/api/visits/{token}/begin", name="begin")
async def begin(request: web.Request) -> web.Response:
    return web.json_response(await _desk(request).begin(_token(request)))


@routes.post("/api/visits/{token}/cancel", name="patient_cancel")
async def cancel(request: web.Request) -> web.Response:
    return web.json_response(await _desk(request).patient_cancel(_token(request)))
