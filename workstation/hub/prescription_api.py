"""The provider's e-prescribing API: write, check, list and cancel scripts."""

from __future__ import annotations

from aiohttp import web

from workstation.core.people import Provider
from workstation.hub.auth import bearer_token
from workstation.hub.errors import parse_body
from workstation.hub.prescription_service import PrescriptionService
from workstation.hub.schemas import CancelPrescriptionIn, PrescriptionIn

routes = web.RouteTableDef()
PRESCRIPTIONS = web.AppKey("prescriptions", PrescriptionService)


def _service(request: web.Request) -> PrescriptionService:
    return request.app[PRESCRIPTIONS]


async def _provider(request: web.Request) -> Provider:
    return await _service(request).visits.authenticate(
        bearer_token(request.headers.get("Authorization")))


@routes.get("/api/visits/{visit_id}/prescriptions", name="prescriptions")
async def prescriptions(request: web.Request) -> web.Response:
    provider = await _provider(request)
    found = await _service(request).for_visit(provider, request.match_info["visit_id"])
    return web.json_response({"prescriptions": found})


@routes.post("/api/visits/{visit_id}/prescriptions", name="prescribe")
async def prescribe(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, PrescriptionIn)
    record, created = await _service(request).prescribe(provider,
                                                        request.match_info["visit_id"], body)
    return web.json_response(record, status=201 if created else 200)


@routes.post("/api/visits/{visit_id}/prescriptions/check", name="check_prescription")
async def check_prescription(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, PrescriptionIn)
    return web.json_response(
        await _service(request).check(provider, request.match_info["visit_id"], body))


@routes.post("/api/prescriptions/{prescription_id}/cancel", name="cancel_prescription")
async def cancel_prescription(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, CancelPrescriptionIn)
    return web.json_response(await _service(request).cancel(
        provider, request.match_info["prescription_id"], body.reason))
