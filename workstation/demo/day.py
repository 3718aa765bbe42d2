"""A demo day: its own database, its hub's settings, and a scenario played against that hub.

Each start is a fresh day: the demo database is made anew (its key lives only for the run, so
no keyring is needed and nothing of a past day is left readable), the demo provider and the
scenario's appointments are written with today's times, and the walk-in patients check in at
their minute of the scenario, through the hub's own patient API, as a browser would. Everyone
in it is fictitious, and every family name ends in "(Demo)".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from workstation.core.demo import DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.eligibility import RED_FLAGS
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Address, Patient, Provider
from workstation.core.site import OpeningHours, SiteConfig
from workstation.core.visit import Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.demo.scenario import Scenario, ScenarioPatient
from workstation.demo.simulated_patient import SimulatedPatient
from workstation.hub.auth import hash_password
from workstation.storage.store import VisitStore

log = logging.getLogger(__name__)

DEMO_CLINIC = Address("500 Training Way", "Austin", "TX", "78702")
DEMO_CLINIC_PHONE = "512-555-0100"
DEMO_NPI = "1234567893"
DEMO_CARD = "4242424242424242"
COPAY = Decimal("25.00")
ALL_DAY = OpeningHours({d: (datetime.min.time(), datetime.max.time()) for d in range(7)})


def demo_site(config: SiteConfig, scenario: Scenario | None = None) -> SiteConfig:
    """The site as the demo's hub runs it. Nothing leaves the machine: prescriptions go to the
    pharmacy network simulator, summaries to the primary-care simulator, cards to the simulated
    processor, and the call uses no outside STUN or TURN server. Open every hour of every day
    (a trainer teaches when the class is), with a practice address and phone for prescriptions
    when the site gives none, and the scenario's pharmacies that refuse scripts."""
    return replace(
        config, hours=ALL_DAY, ice_servers=(), erx_gateway_url="", erx_simulator=True,
        erx_simulator_closed=(), erx_simulator_delay_seconds=1.0,
        erx_simulator_rejects=scenario.rejecting_pharmacies if scenario else (),
        pcp_endpoint_url="", erx_inbound_token="", payment="simulated", payment_note="",
        stripe_publishable_key="", stripe_secret_key_file="", stripe_api_base="",
        require_totp=False,
        clinic_address=config.clinic_address or DEMO_CLINIC,
        clinic_phone=config.clinic_phone or DEMO_CLINIC_PHONE)


def open_demo_store(path: Path) -> VisitStore:
    """A new, empty demo database at ``path`` (any earlier one is deleted first), encrypted
    with a key made for this run and kept nowhere."""
    from workstation.storage.database import encrypted_sqlite_url, open_store

    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm",
                                                                      "-journal"))):
        leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open_store(encrypted_sqlite_url(path, secrets.token_hex(32)))


def prepare(store: VisitStore, config: SiteConfig, scenario: Scenario,
            now: datetime | None = None) -> dict[str, tuple[str, str]]:
    """The start of the day in an empty demo database: the demo provider and the scenario's
    appointments (their eCheck-in done or not, as the file says), at today's times. Returns
    the appointments' (link token, visit id) by patient name."""
    now = now or datetime.now(UTC)
    store.add_provider(
        Provider(str(uuid.uuid4()), DEMO_USERNAME, "Dr. Demo Trainer",
                 tuple(s.code for s in config.service_lines), DEMO_NPI),
        hash_password(DEMO_PASSWORD), now)
    links: dict[str, tuple[str, str]] = {}
    for patient in scenario.patients:
        if patient.visit == "scheduled":
            links[patient.name] = _appointment(store, config, patient, now)
    return links


def _record(patient: ScenarioPatient) -> Patient:
    return Patient(str(uuid.uuid4()), patient.given_name, patient.family_name,
                   patient.date_of_birth, patient.sex, "512-555-0199",
                   f"{patient.given_name.lower()}@example.org",
                   Address("1 Demo Way", "Austin", "TX", "78701"))


def _appointment(store: VisitStore, config: SiteConfig, patient: ScenarioPatient,
                 now: datetime) -> tuple[str, str]:
    condition = patient.condition
    service_line = "specialty_care" if condition == "follow_up" else "urgent_care"
    if config.service_line(service_line) is None:
        service_line = config.service_lines[0].code
    when = now + timedelta(minutes=patient.starts_in_minutes)
    record = _record(patient)
    visit = Visit(str(uuid.uuid4()), VisitKind.SCHEDULED, VisitState.CHECKING_IN,
                  record.id, service_line, condition, now, scheduled_for=when,
                  link_expires_at=when + timedelta(hours=config.link_lifetime_hours))
    token = new_token()
    store.create_visit(patient=record, visit=visit, link_token=token, copay=COPAY,
                       actor="demo")
    if patient.echeckin:
        store.complete_echeckin(
            visit.id, forms=_forms(patient), insurance=_insurance(patient),
            payment=Payment(str(uuid.uuid4()), visit.id, PaymentMethod.HSA, DEMO_CARD[-4:],
                            COPAY, config.currency, PaymentStatus.PAID, "demo", now),
            now=now, actor="demo")
    return token, visit.id


def _forms(patient: ScenarioPatient) -> dict[str, str]:
    return {"reason": patient.symptoms, "allergies": patient.allergies,
            "medications": patient.medications, "pharmacy_id": patient.pharmacy}


def _insurance(patient: ScenarioPatient) -> dict[str, str]:
    return {"payer": "Demo Health Plan", "member_id": "DEMO123", "group_number": "",
            "subscriber_name": f"{patient.given_name} {patient.family_name}"}


def _card(patient: ScenarioPatient) -> dict[str, Any]:
    return {"method": "card", "number": DEMO_CARD, "expiry_month": 12,
            "expiry_year": datetime.now(UTC).year + 3,
            "holder": f"{patient.given_name} {patient.family_name}"}


def checkin_body(patient: ScenarioPatient) -> dict[str, Any]:
    """What the check-in page sends for this patient."""
    body: dict[str, Any] = {
        "patient": {
            "given_name": patient.given_name, "family_name": patient.family_name,
            "date_of_birth": patient.date_of_birth.isoformat(), "sex": patient.sex.value,
            "phone": "512-555-0199", "email": f"{patient.given_name.lower()}@example.org",
            "address": {"line1": "1 Demo Way", "line2": "", "city": "Austin", "state": "TX",
                        "postal_code": "78701"},
        },
        "condition": patient.condition,
        "mode": "e_visit" if patient.visit == "e_visit" else "video",
        "symptoms": patient.symptoms, "onset": patient.onset,
        "allergies": patient.allergies, "medications": patient.medications,
        "red_flags": {f.code: f.code in patient.red_flags for f in RED_FLAGS},
        "consent_telehealth": True, "callback_phone": "512-555-0199",
        "pharmacy_id": patient.pharmacy, "location_state": "TX",
        "payment": _card(patient), "idempotency_key": str(uuid.uuid4()),
    }
    if patient.primary_care is not None:
        body["primary_care"] = {"phone": "512-555-0170", **patient.primary_care}
    return body


@dataclass
class Arrival:
    """One patient of the day as the demo saw them."""

    patient: ScenarioPatient
    token: str = ""
    visit_id: str = ""
    checkin: str = ""  # "accepted", or the outcome that turned them away
    message: str = ""  # what the check-in page told them
    begin_refused: bool = False
    status: dict[str, Any] = field(default_factory=dict)  # the visit page's, on arrival
    simulated: SimulatedPatient | None = None
    events: list[str] = field(default_factory=list)


class DemoDay:
    """Plays a scenario against a running demo hub: each patient arrives at their minute of
    the scenario (the scenario's clock runs at ``speed`` times real time and stops while
    paused), and every video patient then waits on the video page as a simulated patient.

    ``on_event(name, what)`` tells the trainer's log what happened."""

    def __init__(self, url: str, scenario: Scenario,
                 appointments: dict[str, tuple[str, str]], *,
                 speed: float = 1.0,
                 on_event: Callable[[str, str], None] = lambda _n, _w: None) -> None:
        self.url = url.rstrip("/")
        self.scenario = scenario
        self.speed = speed
        self._on_event = on_event
        self.arrivals: dict[str, Arrival] = {
            p.name: Arrival(p, *appointments.get(p.name, ("", ""))) for p in scenario.patients}
        self._due = sorted((p for p in scenario.patients if p.arrives_at_minute is not None),
                           key=lambda p: p.arrives_at_minute or 0.0)
        self._extra_echeckins = sorted(
            (p for p in scenario.patients
             if p.visit == "scheduled" and not p.echeckin and p.echeckin_at_minute is not None),
            key=lambda p: p.echeckin_at_minute or 0.0)
        self._minute = 0.0
        self._paused = False
        self._ticked = time.monotonic()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._work: set[asyncio.Task[None]] = set()
        self.arrived = asyncio.Event()  # set each time someone arrives (then cleared)

    # -- the trainer's controls -----------------------------------------------------------

    @property
    def minute(self) -> float:
        """Where the scenario's clock stands, in minutes since the start. Reading it changes
        nothing (the window's status line reads it from the GUI thread); only pause, resume
        and a new speed, on the asyncio thread, fold the time run so far into it."""
        if self._paused:
            return self._minute
        return self._minute + (time.monotonic() - self._ticked) / 60 * self.speed

    @property
    def paused(self) -> bool:
        return self._paused

    def _fold(self) -> None:
        self._minute, self._ticked = self.minute, time.monotonic()

    def pause(self) -> None:
        self._fold()
        self._paused = True

    def resume(self) -> None:
        self._ticked = time.monotonic()
        self._paused = False

    def set_speed(self, speed: float) -> None:
        self._fold()
        self.speed = speed

    def next_patient(self) -> ScenarioPatient | None:
        return self._due[0] if self._due else None

    def add_patient_now(self) -> ScenarioPatient | None:
        """The next patient of the scenario arrives now, whatever their minute; None when
        everyone has arrived."""
        if not self._due:
            return None
        patient = self._due.pop(0)
        self._spawn(self._arrive(patient))
        return patient

    @property
    def everyone_arrived(self) -> bool:
        return not self._due and not any(not t.done() for t in self._work
                                         if t.get_name() == "arrival")

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._ticked = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._work) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for arrival in self.arrivals.values():
            if arrival.simulated is not None:
                await arrival.simulated.stop()
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while self._due or self._extra_echeckins:
            minute = self.minute
            while self._due and (self._due[0].arrives_at_minute or 0.0) <= minute:
                self._spawn(self._arrive(self._due.pop(0)), name="arrival")
            while self._extra_echeckins and (self._extra_echeckins[0].echeckin_at_minute
                                             or 0.0) <= minute:
                self._spawn(self._late_echeckin(self._extra_echeckins.pop(0)))
            await asyncio.sleep(0.05)

    def _spawn(self, work: Any, name: str = "work") -> None:
        task = asyncio.create_task(work, name=name)
        self._work.add(task)
        task.add_done_callback(_said_if_failed)

    def _event(self, arrival: Arrival, what: str) -> None:
        arrival.events.append(what)
        self._on_event(arrival.patient.name, what)

    async def _arrive(self, patient: ScenarioPatient) -> None:
        arrival = self.arrivals[patient.name]
        try:
            if patient.visit == "scheduled":
                await self._begin(arrival)
            else:
                await self._check_in(arrival)
        except (aiohttp.ClientError, OSError) as exc:
            self._event(arrival, f"could not reach the hub ({type(exc).__name__})")
        finally:
            self.arrived.set()
            self.arrived.clear()

    async def _post(self, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        assert self._session is not None
        async with self._session.post(f"{self.url}{path}", json=body) as response:
            data = await response.json(content_type=None)
            return response.status, data if isinstance(data, dict) else {}

    async def _check_in(self, arrival: Arrival) -> None:
        status, answer = await self._post("/api/checkins", checkin_body(arrival.patient))
        if status == 201:
            arrival.checkin = "accepted"
            arrival.token, arrival.visit_id = answer["visit_token"], answer["visit_id"]
            self._event(arrival, "checked in" if arrival.patient.visit == "video"
                        else "sent an E-Visit")
            await self._on_visit_page(arrival)
            return
        error = answer.get("error") or {}
        arrival.checkin = str(error.get("outcome") or error.get("code") or status)
        arrival.message = str(error.get("message") or "")
        self._event(arrival, f"turned away at check-in: {arrival.message}")

    async def _begin(self, arrival: Arrival) -> None:
        status, answer = await self._post(f"/api/visits/{arrival.token}/begin")
        if status != 200:
            arrival.begin_refused = True
            arrival.message = str((answer.get("error") or {}).get("message") or "")
            self._event(arrival, f"could not begin: {arrival.message}")
            return
        arrival.checkin = "accepted"
        self._event(arrival, "began the appointment")
        await self._on_visit_page(arrival)

    async def _late_echeckin(self, patient: ScenarioPatient) -> None:
        arrival = self.arrivals[patient.name]
        body = {"forms": _forms(patient), "insurance": _insurance(patient),
                "copay": _card(patient)}
        status, answer = await self._post(f"/api/visits/{arrival.token}/echeckin", body)
        if status != 200:
            self._event(arrival, "eCheck-in refused: "
                        f"{(answer.get('error') or {}).get('message', status)}")
            return
        self._event(arrival, "finished eCheck-in")
        if arrival.begin_refused:
            await self._begin(arrival)

    async def _on_visit_page(self, arrival: Arrival) -> None:
        """The visit page's status as the patient first sees it; then, for a video visit, the
        simulated patient goes to the video page."""
        assert self._session is not None
        async with self._session.get(f"{self.url}/api/visits/{arrival.token}") as response:
            if response.status == 200:
                arrival.status = await response.json()
                arrival.visit_id = arrival.visit_id or str(arrival.status.get("visit_id", ""))
        if arrival.patient.visit == "e_visit":
            return
        if arrival.simulated is not None:
            await arrival.simulated.stop()
        arrival.simulated = SimulatedPatient(
            self.url, arrival.token, arrival.patient, self._session,
            on_event=lambda _name, what: self._event(arrival, what))
        arrival.simulated.start()


def _said_if_failed(task: asyncio.Task[Any]) -> None:
    """A demo step that failed says so in the log (a task's error is otherwise kept unread)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("A demo step (%s) failed", task.get_name(), exc_info=task.exception())
