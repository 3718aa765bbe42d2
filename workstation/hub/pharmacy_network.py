"""The pharmacy network simulator: the embedded default gateway for NewRx and CancelRx.

It does what a network and its pharmacies do to a message, as far as a trainer or a test can
see: checks it (the same check the workstation runs before sending), answers Error 900 for a
missing or malformed field or an NCPDP ID not in the directory, Error 601 ("closed, try later")
for the pharmacies the site lists in ``erx_simulator_closed``, Error 900 for every new script
to those in ``erx_simulator_rejects``, and Status 010 otherwise. It keeps
each message once by its MessageID: a repeat gets the first answer back and is not a second
script. Trainers see what each pharmacy received at ``/erx/pharmacies`` (provider sign-in).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import html
import uuid
from datetime import datetime

from aiohttp import web

from workstation.core import ncpdp
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.formulary import unit_words
from workstation.core.ncpdp_check import check_message
from workstation.core.people import Provider
from workstation.hub.errors import ApiError
from workstation.hub.prescription_api import PRESCRIPTIONS
from workstation.hub.prescription_service import PrescriptionService
from workstation.hub.visit_service import VisitService
from workstation.storage.prescriptions import Received

routes = web.RouteTableDef()
NETWORK_ID = "SIMULATOR"


def _service(request: web.Request) -> PrescriptionService:
    """The prescriptions service, when this hub runs the simulator; 404 otherwise (a clinic's
    hub with a real gateway must not look like a pharmacy network)."""
    service = request.app[PRESCRIPTIONS]
    if not service.simulator:
        raise web.HTTPNotFound(text="This hub does not run the pharmacy network simulator.")
    return service


def require_simulator_key(request: web.Request, key: str) -> None:
    """Only this hub's own senders post to its simulators: they alone hold its key."""
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(offered.encode(), key.encode()):
        raise web.HTTPUnauthorized(text="Only this hub's own sender posts to its simulator.")


def _answer(kind: str, code: str, relates_to: str, description: str, now: datetime,
            to: str) -> bytes:
    return ncpdp.build_answer(
        ncpdp.Answer(kind=kind, code=code, relates_to_message_id=relates_to,
                     description=description),
        message_id=uuid.uuid4().hex, sent_time=now, to=to or "unknown", sender=NETWORK_ID)


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/xml",
                        charset="utf-8")


@routes.post("/erx/gateway", name="erx_gateway")
async def gateway(request: web.Request) -> web.Response:
    service = _service(request)
    require_simulator_key(request, service.simulator_key)
    now = service.visits.clock()
    try:
        data = await request.read()  # the whole body; the app refuses one over its size limit
    except web.HTTPRequestEntityTooLarge:
        return _xml(_answer("Error", ncpdp.ERROR_REJECTED, "", "Message too large.", now, ""))
    try:
        root = ncpdp.parse_xml(data)
    except ncpdp.MessageError as exc:
        return _xml(_answer("Error", ncpdp.ERROR_REJECTED, "", f"Unreadable: {exc}.", now, ""))
    header = root.find("Header")
    message_id = ncpdp.text_at(header, "MessageID")
    sender = ncpdp.text_at(header, "From")
    if not message_id or len(message_id) > 35:
        return _xml(_answer("Error", ncpdp.ERROR_REJECTED, "", "No usable MessageID.", now,
                            sender))
    store = service.store
    first = await asyncio.to_thread(store.received, message_id)
    if first is not None:  # a repeat: the first answer, and no second script
        return _xml(first.answer.encode("utf-8"))
    kind, _body = ncpdp.body_kind(root)
    to = ncpdp.text_at(header, "To")
    accepted, code, text = await asyncio.to_thread(_judge, service, data, kind, to, header)
    answer = _answer("Status" if accepted else "Error", code, message_id, text, now, sender)
    if code in ncpdp.TRANSIENT_ERRORS:
        return _xml(answer)  # not kept: the same message is welcome once the pharmacy opens
    kept = await asyncio.to_thread(store.receive, Received(
        message_id=message_id, ncpdp_id=to[:16], kind=kind[:10], payload=data.decode("utf-8"),
        answer=answer.decode("utf-8"), accepted=accepted, received_at=now))
    if accepted and kept.answer == answer.decode("utf-8"):  # first seen: the pharmacy answers
        service.later(service.visits.config.erx_simulator_delay_seconds,
                      _pharmacy_answer(service, kind, to, message_id, sender))
    return _xml(kept.answer.encode("utf-8"))


def _pharmacy_answer(service: PrescriptionService, kind: str, to: str, message_id: str,
                     prescriber: str) -> bytes:
    """What the simulated pharmacy sends a moment later: Verify for a new script, an approved
    CancelRxResponse for a cancel."""
    pharmacy = service.visits.resources.pharmacy(to)
    name = pharmacy.name if pharmacy else to
    if kind == "CancelRx":
        said = ncpdp.Answer("CancelRxResponse", "Approved", message_id, f"Cancelled by {name}.")
    else:
        said = ncpdp.Answer("Verify", ncpdp.STATUS_ACCEPTED, message_id, f"Received by {name}.")
    return ncpdp.build_answer(said, message_id=uuid.uuid4().hex,
                              sent_time=service.visits.clock(), to=prescriber or "unknown",
                              sender=to)


@routes.post("/erx/inbound", name="erx_inbound")
async def inbound(request: web.Request) -> web.Response:
    """Later answers from a real gateway (Verify, Status, Error, CancelRxResponse), sent with
    the site's ``erx_inbound_token``. Acknowledged with Status 000."""
    service = request.app[PRESCRIPTIONS]
    token = service.visits.config.erx_inbound_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPNotFound(text="No such route.")
    now = service.visits.clock()
    try:
        answer = await service.receive(await request.read())
    except ncpdp.MessageError as exc:
        return _xml(_answer("Error", ncpdp.ERROR_REJECTED, "", f"Unreadable: {exc}.", now, ""),
                    status=400)
    return _xml(_answer("Status", ncpdp.STATUS_RECEIVED, answer.relates_to_message_id,
                        "Received.", now, NETWORK_ID))


def _judge(service: PrescriptionService, data: bytes, kind: str, to: str,
           header: object) -> tuple[bool, str, str]:
    """(accepted, answer code, description) for a first-seen message."""
    problems = check_message(data)
    if problems:
        listed = "; ".join(str(p) for p in problems)
        return False, ncpdp.ERROR_REJECTED, f"Missing or malformed: {listed}"
    pharmacy = service.visits.resources.pharmacy(to)
    if pharmacy is None:
        return False, ncpdp.ERROR_REJECTED, f"Unknown pharmacy NCPDP ID {to}."
    if to in service.visits.config.erx_simulator_closed:
        return False, "601", f"{pharmacy.name} is closed and not taking messages; try later."
    if kind == "NewRx" and to in service.visits.config.erx_simulator_rejects:
        return False, ncpdp.ERROR_REJECTED, (f"{pharmacy.name} cannot fill this prescription "
                                             "(not in stock). Send it to another pharmacy.")
    if kind == "CancelRx":
        relates = ncpdp.text_at(header, "RelatesToMessageID")  # type: ignore[arg-type]
        original = service.store.received(relates)
        if original is None or not original.accepted or original.ncpdp_id != to:
            return False, ncpdp.ERROR_REJECTED, "No prescription with that MessageID to cancel."
        return True, ncpdp.STATUS_RECEIVED, f"Passed to {pharmacy.name}."
    return True, ncpdp.STATUS_RECEIVED, f"Passed to {pharmacy.name}."


# --- the trainers' pages ---


async def _signed_in(request: web.Request) -> Provider:
    return await signed_in_provider(request, _service(request).visits,
                                    realm="Pharmacy network simulator",
                                    action="erx.simulator_view")


async def signed_in_provider(request: web.Request, visits: VisitService, *, realm: str,
                             action: str) -> Provider:
    """A provider's username and password, by HTTP Basic auth (the simulators' pages show
    patient data); 401 asks the browser for them."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        if username:
            try:
                return await visits.check_credentials(username, password, action=action,
                                                      address=request.remote or "")
            except ApiError as exc:
                if exc.status == 429:  # counted as sign-ins are: too many, said so
                    raise web.HTTPTooManyRequests(text=exc.message) from exc
    raise web.HTTPUnauthorized(
        headers={"WWW-Authenticate": f'Basic realm="{realm}"'},
        text="Sign in with a provider's username and password.")


def page(title: str, body: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html lang=en><head><meta charset=utf-8><title>"
             f"{html.escape(title)}</title><link rel=stylesheet href=/static/simulator.css>"
             f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        content_type="text/html")


@routes.get("/erx/pharmacies", name="erx_pharmacies")
async def pharmacies(request: web.Request) -> web.Response:
    await _signed_in(request)
    service = _service(request)
    received = await asyncio.to_thread(service.store.inbox)
    counts: dict[str, int] = {}
    for message in received:
        counts[message.ncpdp_id] = counts.get(message.ncpdp_id, 0) + 1
    closed = service.visits.config.erx_simulator_closed
    rows = "".join(
        f"<tr><td><a href=/erx/pharmacies/{html.escape(p.ncpdp_id)}>{html.escape(p.name)}</a>"
        f"</td><td>{html.escape(p.ncpdp_id)}</td><td>{html.escape(p.city)}</td>"
        f"<td>{'closed' if p.ncpdp_id in closed else 'open'}</td>"
        f"<td>{counts.get(p.ncpdp_id, 0)}</td></tr>"
        for p in service.visits.resources.pharmacies)
    return page("Pharmacy network simulator",
                 "<p>Messages each demo pharmacy received.</p><table><thead><tr><th>Pharmacy"
                 "</th><th>NCPDP ID</th><th>City</th><th>Now</th><th>Messages</th></tr>"
                 f"</thead><tbody>{rows}</tbody></table>")


@routes.get("/erx/pharmacies/{ncpdp_id}", name="erx_pharmacy")
async def pharmacy(request: web.Request) -> web.Response:
    provider = await _signed_in(request)
    service = _service(request)
    ncpdp_id = request.match_info["ncpdp_id"]
    found = service.visits.resources.pharmacy(ncpdp_id)
    if found is None:
        raise web.HTTPNotFound(text="No such pharmacy in the directory.")
    received = await asyncio.to_thread(service.store.inbox, ncpdp_id)
    await asyncio.to_thread(_audit_view, service, provider, ncpdp_id, received)
    rows = "".join(_row(message) for message in reversed(received))
    return page(f"{found.name} ({ncpdp_id})",
                 "<p><a href=/erx/pharmacies>All pharmacies</a></p><table><thead><tr>"
                 "<th>Received</th><th>Type</th><th>Patient</th><th>Drug</th><th>Quantity</th>"
                 "<th>Directions</th><th>Answer</th></tr></thead>"
                 f"<tbody>{rows or '<tr><td colspan=7>Nothing received yet.</td></tr>'}"
                 "</tbody></table>")


def _audit_view(service: PrescriptionService, provider: Provider, ncpdp_id: str,
                received: list[Received]) -> None:
    """One audit event per patient whose script the page shows."""
    about = service.store.about(m.message_id for m in received)
    now = service.visits.clock()
    for patient_id, visit_id in sorted(set(about.values())):
        service.visits.store.audit(AuditEvent(
            now, f"provider:{provider.id}", "erx.simulator_view", AuditOutcome.SUCCESS,
            patient_id, visit_id, f"pharmacy {ncpdp_id}"))


def _row(message: Received) -> str:
    try:
        rx = ncpdp.parse_prescription(message.payload)
        patient = f"{rx.patient.last_name}, {rx.patient.first_name}"
        drug, sig = rx.medication.description, rx.medication.sig_text
        unit = ncpdp.UNIT_NAMES.get(rx.medication.quantity_unit, rx.medication.quantity_unit)
        quantity = unit_words(unit, rx.medication.quantity)
    except ncpdp.MessageError:
        patient = drug = sig = quantity = "(unreadable)"
    try:
        said = ncpdp.parse_answer(message.answer)
        answer = f"{said.kind} {said.code}: {said.description}"
    except ncpdp.MessageError:
        answer = "(unreadable)"
    cells = (message.received_at.strftime("%Y-%m-%d %H:%M:%S UTC"), message.kind, patient, drug,
             quantity, sig, answer)
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
