"""The provider's chart API: open, draft, sign, addenda, FHIR export, ICD-10-CM search."""

from __future__ import annotations

import asyncio

from aiohttp import web

from workstation.core.charting import DRAFT_PANES
from workstation.core.people import Provider
from workstation.hub.auth import bearer_token
from workstation.hub.chart_service import ChartService
from workstation.hub.errors import ApiError, parse_body
from workstation.hub.schemas import PANE_MODELS, AddendumIn, ChatIn, SignNoteIn

routes = web.RouteTableDef()
CHARTS = web.AppKey("charts", ChartService)


def _charts(request: web.Request) -> ChartService:
    return request.app[CHARTS]


async def _provider(request: web.Request) -> Provider:
    charts = _charts(request)
    return await charts.visits.authenticate(bearer_token(request.headers.get("Authorization")))


@routes.get("/api/visits/{visit_id}/chart", name="chart")
async def chart(request: web.Request) -> web.Response:
    provider = await _provider(request)
    return web.json_response(
        await _charts(request).open_chart(provider, request.match_info["visit_id"]))


@routes.put("/api/visits/{visit_id}/drafts/{pane}", name="save_draft")
async def save_draft(request: web.Request) -> web.Response:
    provider = await _provider(request)
    pane = request.match_info["pane"]
    if pane not in DRAFT_PANES:
        raise ApiError(404, "not_found", f"There is no pane {pane[:40]!r}; panes are "
                       f"{', '.join(DRAFT_PANES)}.")
    body = await parse_body(request, PANE_MODELS[pane])
    saved = await _charts(request).save_draft(provider, request.match_info["visit_id"], pane,
                                             body.model_dump())
    return web.json_response(saved)


@routes.post("/api/visits/{visit_id}/sign", name="sign_note")
async def sign_note(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, SignNoteIn)
    note = await _charts(request).sign(provider, request.match_info["visit_id"], body)
    return web.json_response(note)


@routes.post("/api/visits/{visit_id}/addenda", name="add_addendum")
async def add_addendum(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, AddendumIn)
    addendum = await _charts(request).add_addendum(provider, request.match_info["visit_id"],
                                                   body.text)
    return web.json_response(addendum, status=201)


@routes.post("/api/visits/{visit_id}/chat", name="add_chat")
async def add_chat(request: web.Request) -> web.Response:
    provider = await _provider(request)
    body = await parse_body(request, ChatIn)
    new = await _charts(request).add_chat(provider, request.match_info["visit_id"], body)
    return web.json_response({"id": body.id, "kept": True}, status=201 if new else 200)


@routes.get("/api/visits/{visit_id}/fhir", name="export_fhir")
async def export_fhir(request: web.Request) -> web.Response:
    provider = await _provider(request)
    text = await _charts(request).export_fhir(provider, request.match_info["visit_id"])
    return web.Response(text=text, content_type="application/fhir+json")


@routes.get("/api/icd10", name="icd10_search")
async def icd10_search(request: web.Request) -> web.Response:
    await _provider(request)
    query = request.query.get("q", "")[:100]
    condition = request.query.get("condition") or None
    charts = _charts(request)
    codes = await asyncio.to_thread(charts.search_codes, query, condition,
                                    charts.visits.resources)
    return web.json_response({"codes": codes})
