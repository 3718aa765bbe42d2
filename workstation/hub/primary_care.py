"""The patient's primary care provider sees the visit: signing queues the summary for them (when
the patient allowed it), a sender delivers it, and on the embedded hub (or a training site) a
receiving simulator keeps what arrived, on a page trainers can open (``/sim/primary-care``,
provider sign-in)."""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.people import Patient, Provider
from workstation.core.primary_care import PrimaryCare, summary_document
from workstation.hub.errors import load_json
from workstation.hub.pharmacy_network import page, require_simulator_key, signed_in_provider
from workstation.hub.visit_service import VisitService
from workstation.storage.documents import DocumentStatus, DocumentStore, outbox_row
from workstation.storage.orm import DocumentOutboxRow

routes = web.RouteTableDef()
RECEIVE_PATH = "/sim/primary-care/Bundle"
MAX_DOCUMENT = 256 * 1024
STATE_WORDS = {"queued": "Queued", "sending": "Sending", "delivered": "Delivered",
               "failed": "Not delivered"}


class PrimaryCareService:
    def __init__(self, visits: VisitService, *, simulator: bool) -> None:
        self.visits = visits
        self.store = DocumentStore(visits.store)
        self.simulator = simulator
        self.simulator_key = secrets.token_urlsafe(32)  # what this hub's sender posts with
        self.self_url: Callable[[], str] = lambda: ""  # set once the hub listens
        self.sender: Any = None  # the running DocumentSender, woken after signing

    def endpoint(self) -> str:
        """Where summaries go: the site's endpoint, else this hub's simulator; "" for none."""
        configured = self.visits.config.pcp_endpoint_url
        if configured:
            return configured
        return f"{self.self_url()}{RECEIVE_PATH}" if self.simulator else ""

    def headers(self) -> dict[str, str]:
        """What each post carries: the simulator's key when it is the receiver."""
        if self.visits.config.pcp_endpoint_url or not self.simulator:
            return {}
        return {"Authorization": f"Bearer {self.simulator_key}"}

    def outgoing(self, *, visit_id: str, patient: Patient, provider: Provider, summary: str,
                 signed_at: datetime) -> list[DocumentOutboxRow]:
        """The messages signing this visit queues (in the signing transaction): the summary for
        the patient's own doctor, when they allowed it and the site has somewhere to send it."""
        told = PrimaryCare.from_mapping(self.visits.store.primary_care(visit_id))
        if told is None or not told.share or not self.endpoint():
            return []
        message_id = str(uuid.uuid4())
        document = summary_document(
            message_id=message_id, patient=patient, provider=provider, visit_id=visit_id,
            summary=summary, signed_at=signed_at, site_name=self.visits.config.site_name)
        return [outbox_row(message_id=message_id, visit_id=visit_id, recipient=told.label,
                           payload=json.dumps(document), now=signed_at)]

    def signed(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    def chart_json(self, visit_id: str) -> dict[str, Any] | None:
        """The patient's own doctor for the chart, with where the summary stands."""
        told = PrimaryCare.from_mapping(self.visits.store.primary_care(visit_id))
        if told is None:
            return None
        sent = self.store.for_visit(visit_id)
        return {**told.as_mapping(), "label": told.label,
                "deliveries": [_delivery_json(d) for d in sent],
                "sending": bool(self.endpoint())}


def _delivery_json(d: DocumentStatus) -> dict[str, Any]:
    return {"state": d.state, "state_text": STATE_WORDS.get(d.state, d.state),
            "attempts": d.attempts, "reason": d.last_error,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}


PRIMARY_CARE = web.AppKey("primary_care", PrimaryCareService)


def _service(request: web.Request) -> PrimaryCareService:
    service = request.app[PRIMARY_CARE]
    if not service.simulator:
        raise web.HTTPNotFound(text="This hub does not run the primary-care simulator.")
    return service


@routes.post(RECEIVE_PATH, name="primary_care_receive")
async def receive(request: web.Request) -> web.Response:
    """The simulator's endpoint: a FHIR document Bundle, kept once by its identifier."""
    service = _service(request)
    require_simulator_key(request, service.simulator_key)
    if request.content_length is not None and request.content_length > MAX_DOCUMENT:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_DOCUMENT,
                                            actual_size=request.content_length)
    try:
        bundle = load_json(await request.text())  # UnreadableJson is a ValueError
        identifier = str(bundle["identifier"]["value"])
        ok = bundle.get("resourceType") == "Bundle" and bundle.get("type") == "document"
    except (ValueError, KeyError, TypeError):
        ok, identifier = False, ""
    if not ok or not identifier.startswith("urn:uuid:"):
        return web.json_response(_outcome("error", "Not a FHIR document Bundle with an "
                                                   "identifier."), status=400)
    message_id = identifier.removeprefix("urn:uuid:")[:36]
    first = await asyncio.to_thread(service.store.receive, message_id,
                                    json.dumps(bundle), service.visits.clock())
    return web.json_response(_outcome("information", "Received." if first
                                      else "Received already; kept once."),
                             status=201 if first else 200)


def _outcome(severity: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": "informational"
                       if severity == "information" else "invalid", "diagnostics": text}]}


@routes.get("/sim/primary-care", name="primary_care_inbox")
async def inbox(request: web.Request) -> web.Response:
    service = _service(request)
    provider = await signed_in_provider(request, service.visits,
                                        realm="Primary care simulator",
                                        action="documents.simulator_view")
    received = await asyncio.to_thread(service.store.inbox)
    rows = []
    for message_id, payload, at in reversed(received):
        patient, author, summary, (patient_id, visit_id) = _read(payload)
        await asyncio.to_thread(service.visits.store.audit, AuditEvent(
            service.visits.clock(), f"provider:{provider.id}", "documents.simulator_view",
            AuditOutcome.SUCCESS, patient_id, visit_id, f"message {message_id}"))
        rows.append(
            f"<tr><td>{html.escape(service.visits.site_time(at))}</td>"
            f"<td>{html.escape(patient)}</td><td>{html.escape(author)}</td>"
            f"<td><pre>{html.escape(summary)}</pre></td></tr>")
    return page("Primary care simulator",
                "<p>Visit summaries sent to patients' own doctors, as they arrived (each "
                "message once).</p><table><thead><tr><th>Received</th><th>Patient</th>"
                "<th>From</th><th>Summary</th></tr></thead><tbody>"
                + ("".join(rows) or "<tr><td colspan=4>Nothing received yet.</td></tr>")
                + "</tbody></table>")


def _read(payload: str) -> tuple[str, str, str, tuple[str | None, str | None]]:
    """(patient, author, summary text, (patient id, visit id)) of a received document, as far
    as it can be read."""
    try:
        bundle = json.loads(payload)
        resources = [e["resource"] for e in bundle["entry"]]
        composition = next(r for r in resources if r["resourceType"] == "Composition")
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        name = patient["name"][0]
        who = f"{name.get('family', '')}, {' '.join(name.get('given', []))}"
        author = composition["author"][0].get("display", "")
        div = composition["section"][0]["text"]["div"]
        text = html.unescape(div.split("<pre>", 1)[1].rsplit("</pre>", 1)[0])
        ids = (str(patient["identifier"][0]["value"]),
               str(composition["identifier"]["value"]).removeprefix("urn:uuid:"))
        return who, author, text, ids
    except (ValueError, KeyError, IndexError, StopIteration, TypeError):
        return "(unreadable)", "", "", (None, None)
