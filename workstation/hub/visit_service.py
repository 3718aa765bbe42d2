"""What the hub does with visits, apart from HTTP: the queue, claims, calls, appointments.

Database work runs in worker threads (``asyncio.to_thread``); every change that someone is
waiting to see is pushed through the broker as soon as it is committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.payment import (
    PaymentProcessor,
)
from workstation.core.people import Patient, Provider
from workstation.core.queue import QueueEntry, busier_than_usual, estimated_wait_minutes
from workstation.core.site import SiteConfig
from workstation.core.visit import IllegalTransition, Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.hub.broker import Broker
from workstation.hub.errors import ApiError
from workstation.hub.provider_accounts import Clock, ProviderAccounts, utc_now
from workstation.hub.schemas import (
    AppointmentIn,
)
from workstation.resource_files import Resources
from workstation.storage.store import VisitDetail, VisitStore, day_bounds

log = logging.getLogger(__name__)

LINK_EXPIRED = ApiError(
    404, "link_expired",
    "This visit link has expired or is not valid. Start a new check-in, or call the clinic "
    "if you have an appointment.",
)
LEFT_REASONS = {
    VisitState.CANCELLED: "cancelled", VisitState.REDIRECTED: "redirected",
    VisitState.NO_SHOW: "no_show", VisitState.EXPIRED: "expired",
}

# A call event: the state it moves the visit to, from the states it may come from.
CALL_EVENTS: dict[str, tuple[VisitState, tuple[VisitState, ...]]] = {
    "started": (VisitState.IN_CALL,
                (VisitState.CLAIMED, VisitState.RECONNECTING, VisitState.DOCUMENTING)),
    "interrupted": (VisitState.RECONNECTING, (VisitState.IN_CALL,)),
    "resumed": (VisitState.IN_CALL, (VisitState.RECONNECTING,)),
    "ended": (VisitState.DOCUMENTING,
              (VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING)),
}


# An appointment may be booked for a time this long ago (a front desk typing "now").
BOOKING_GRACE = timedelta(minutes=5)

# States in which the provider may (again) call the patient.
CALL_STATES = frozenset({VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING,
                         VisitState.DOCUMENTING})


class VisitService(ProviderAccounts):
    """The visits' lives: the queue, claims, calls, appointments and expiry, with every change
    pushed to whoever waits for it; the providers' accounts come from :class:`ProviderAccounts`
    and the patient's side is :class:`~workstation.hub.patient_desk.PatientDesk`'s."""

    def __init__(
        self, store: VisitStore, config: SiteConfig, resources: Resources, broker: Broker,
        processor: PaymentProcessor, *, clock: Clock = utc_now, embedded: bool = False,
        demo: bool = False,
    ) -> None:
        super().__init__(store, config, clock=clock, embedded=embedded, demo=demo)
        self.resources = resources
        self.broker = broker
        self.processor = processor
        self.condition_names = {c.code: c.name for c in resources.conditions}
        broker.on_positions_changed = self.push_local_positions
        broker.on_resync = self.resync_local_sockets

    def _local_now(self) -> datetime:
        """Now in the site's time zone: ages and days are counted as the clinic counts them."""
        return self.clock().astimezone(self.config.zone)

    def condition_name(self, code: str) -> str:
        """The listed name, or the appointment's reason code made readable."""
        return self.condition_names.get(code) or code.replace("_", " ").capitalize()

    # -- site facts for the patient pages -------------------------------------------------

    def patient_status(self, detail: VisitDetail, position: int | None) -> dict[str, Any]:
        """What the patient's page shows of their visit (position given while waiting)."""
        visit = detail.visit
        now = self.clock()
        begin_opens_at = None
        blocked = None
        can_begin = False
        echeckin_opens = self.echeckin_opens_at(visit)
        if visit.kind is VisitKind.SCHEDULED and visit.state is VisitState.CHECKING_IN:
            assert visit.scheduled_for is not None
            opens = visit.scheduled_for - timedelta(minutes=self.config.begin_window_minutes)
            begin_opens_at = opens.isoformat()
            if not visit.echeckin_complete:
                blocked = "Complete eCheck-in first."
            elif now < opens:
                blocked = (f"You can begin from {self.config.begin_window_minutes} minutes "
                           "before your appointment.")
            else:
                can_begin = True
        providers = self.broker.providers_online(visit.service_line)
        return {
            "visit_id": visit.id,
            "kind": visit.kind.value,
            "state": visit.state.value,
            "time_zone": self.config.time_zone,  # the pages show times in the site's zone
            "condition_name": self.condition_name(visit.condition),
            **self._wait_fields(visit, position, providers),
            "waiting_since": visit.waiting_since.isoformat() if visit.waiting_since else None,
            "scheduled_for": visit.scheduled_for.isoformat() if visit.scheduled_for else None,
            "echeckin_complete": visit.echeckin_complete,
            "echeckin_opens_at": echeckin_opens.isoformat() if echeckin_opens else None,
            "echeckin_open": echeckin_opens is not None and now >= echeckin_opens,
            "can_begin": can_begin,
            "begin_opens_at": begin_opens_at,
            "begin_blocked_reason": blocked,
            "provider_name": detail.provider_name,
            "fee": f"{self.config.fee:.2f}",
            "copay": f"{visit.copay:.2f}" if visit.copay is not None else None,
        }

    def echeckin_opens_at(self, visit: Visit) -> datetime | None:
        """When a scheduled visit's eCheck-in opens (``echeckin_open_days`` before it)."""
        if visit.kind is not VisitKind.SCHEDULED or visit.scheduled_for is None:
            return None
        return visit.scheduled_for - timedelta(days=self.config.echeckin_open_days)

    def site_time(self, moment: datetime) -> str:
        """A time as the clinic says it to a patient: 11/30/2026 at 9:00 AM CST."""
        local = moment.astimezone(self.config.zone)
        return f"{local:%m/%d/%Y} at {local:%I:%M %p}".replace(" 0", " ") + f" {local:%Z}"

    def _wait_fields(self, visit: Visit, position: int | None,
                     providers: int) -> dict[str, Any]:
        """Where a waiting patient stands in their own line (video, or E-Visits), and what to
        expect: minutes for video (never 0; past the promise it says busier than usual), a
        reply-by time for an E-Visit."""
        e_visit = visit.kind is VisitKind.E_VISIT
        minutes = (estimated_wait_minutes(position, providers, self.config.minutes_per_visit)
                   if position is not None and not e_visit else None)
        return {
            "position": position,
            "estimated_wait_minutes": minutes,
            "busier_than_usual": minutes is not None and busier_than_usual(
                minutes, self.config.promised_wait_minutes),
            "promised_wait_minutes": self.config.promised_wait_minutes,
            "reply_by": (visit.waiting_since + timedelta(hours=self.config.e_visit_reply_hours))
            .isoformat() if e_visit and visit.waiting_since else None,
        }

    async def queue(self, service_lines: set[str] | tuple[str, ...]) -> list[QueueEntry]:
        return await asyncio.to_thread(self.store.queue, sorted(service_lines), self._local_now(),
                                       self.condition_name)

    async def claim(self, provider: Provider, visit_id: str) -> Visit:
        await self._begin_appointment_if_due(provider, visit_id)
        try:
            visit = await asyncio.to_thread(self.store.claim, visit_id, provider.id,
                                            self.clock())
        except LookupError as exc:
            raise ApiError(404, "not_found", "This visit does not exist.") from exc
        if visit is None:
            raise ApiError(409, "already_claimed",
                           "Another provider has already claimed this patient, or they have "
                           "left the queue.")
        await self._announce_claimed(visit, provider)
        return visit

    async def _begin_appointment_if_due(self, provider: Provider, visit_id: str) -> None:
        """Only visits of the provider's own service lines. "Begin visit" from today's
        schedule: an appointment whose patient has not pressed Begin yet joins the line first,
        if eCheck-in is done and the begin window is open."""
        try:
            visit = await asyncio.to_thread(self.store.visit, visit_id)
        except LookupError as exc:
            raise ApiError(404, "not_found", "This visit does not exist.") from exc
        if visit.service_line not in provider.service_lines:  # any visit, not only appointments
            await asyncio.to_thread(self.store.audit, AuditEvent(
                self.clock(), f"provider:{provider.id}", "visit.claim", AuditOutcome.DENIED,
                visit.patient_id, visit.id, detail="not one of your service lines"))
            raise ApiError(403, "forbidden", "You do not serve this visit's service line.")
        if visit.kind is not VisitKind.SCHEDULED or visit.state is not VisitState.CHECKING_IN:
            return
        if not visit.echeckin_complete:
            raise ApiError(409, "not_ready", "The patient has not completed eCheck-in yet.")
        assert visit.scheduled_for is not None
        opens = visit.scheduled_for - timedelta(minutes=self.config.begin_window_minutes)
        if self.clock() < opens:
            raise ApiError(409, "not_ready", f"This visit can begin from "
                           f"{self.config.begin_window_minutes} minutes before the appointment.")
        try:
            waiting = await self.transition(visit_id, VisitState.WAITING,
                                            f"provider:{provider.id}")
        except ApiError as exc:  # another provider began it a moment ago: the claim decides
            if exc.code != "illegal_transition":
                raise
            return
        await self.announce_waiting(waiting)

    async def claim_next(self, provider: Provider, service_line: str | None, *,
                         e_visit: bool = False) -> Visit:
        lines = [service_line] if service_line else list(provider.service_lines)
        if service_line and service_line not in provider.service_lines:
            raise ApiError(403, "forbidden", "You do not serve this queue.")
        visit = await asyncio.to_thread(self.store.claim_next, lines, provider.id, self.clock(),
                                        e_visits=e_visit)
        if visit is None:
            raise ApiError(404, "queue_empty", "No E-Visits are waiting." if e_visit
                           else "No patients are waiting.")
        await self._announce_claimed(visit, provider)
        return visit

    async def release(self, provider: Provider, visit_id: str) -> Visit:
        visit = await self._owned_visit(provider, visit_id)
        moved = await self.transition(visit.id, VisitState.WAITING, f"provider:{provider.id}",
                                      expect=(VisitState.CLAIMED,))
        await self.announce_waiting(moved)
        return moved

    async def call_event(self, provider: Provider, visit_id: str, event: str) -> Visit:
        """The call started, dropped, came back or ended: the visit's state follows (each move
        is kept with the visit, so an interruption stays on record) and the patient's pages
        are told. Repeating an event that already holds changes nothing."""
        visit = await self._owned_visit(provider, visit_id)
        target, sources = CALL_EVENTS[event]
        if visit.state is target:
            return visit
        if visit.state not in sources:
            raise ApiError(409, "illegal_transition",
                           f"The call cannot be {event} while the visit is {visit.state.value}.")
        moved = await self.transition(visit.id, target, f"provider:{provider.id}",
                                      expect=sources)
        await self.broker.to_patient(moved.id, {"type": "status", "visit_id": moved.id,
                                                "state": moved.state.value})
        return moved

    async def _owned_visit(self, provider: Provider, visit_id: str) -> Visit:
        try:
            visit = await asyncio.to_thread(self.store.visit, visit_id)
        except LookupError as exc:
            raise ApiError(404, "not_found", "This visit does not exist.") from exc
        if visit.provider_id != provider.id:
            raise ApiError(403, "forbidden", "This visit is not yours.")
        return visit

    async def create_appointment(self, provider: Provider,
                                 body: AppointmentIn) -> tuple[Visit, str]:
        now = self.clock()
        if body.service_line not in provider.service_lines:
            raise ApiError(403, "forbidden", "You do not serve this service line.",
                           fields={"service_line": "Not one of your service lines."})
        if self.config.service_line(body.service_line) is None:
            raise ApiError(422, "invalid", "Unknown service line.",
                           fields={"service_line": "Unknown service line."})
        if body.scheduled_for < now - BOOKING_GRACE:
            raise ApiError(422, "invalid", "This time has passed.",
                           fields={"scheduled_for": "Choose a time from now on."})
        patient = body.patient.to_patient()
        token = new_token()
        visit = Visit(
            id=str(uuid.uuid4()), kind=VisitKind.SCHEDULED, state=VisitState.CHECKING_IN,
            patient_id=patient.id, service_line=body.service_line, condition=body.condition,
            created_at=now, scheduled_for=body.scheduled_for.astimezone(UTC),
            link_expires_at=body.scheduled_for.astimezone(UTC)
            + timedelta(hours=self.config.link_lifetime_hours),
        )
        created = await asyncio.to_thread(
            self.store.create_visit, patient=patient, visit=visit, link_token=token,
            copay=body.copay, actor=f"provider:{provider.id}")
        return created, token

    async def schedule(self, provider: Provider, day: date) -> list[dict[str, Any]]:
        start, end = day_bounds(day, self.config.zone)
        items = await asyncio.to_thread(self.store.schedule, list(provider.service_lines),
                                        start, end)
        return [
            {"visit_id": i.visit.id, "scheduled_for": i.visit.scheduled_for.isoformat()
             if i.visit.scheduled_for else None, "patient_name": i.patient_name,
             "condition_name": self.condition_name(i.visit.condition),
             "echeckin_complete": i.visit.echeckin_complete, "state": i.visit.state.value,
             "service_line": i.visit.service_line}
            for i in items
        ]

    async def open_visits(self, provider: Provider) -> list[dict[str, Any]]:
        """The provider's visits to finish: claimed and not signed (after a crash, a sign-out
        or a chart closed unsigned, this is where the provider finds them again)."""
        items = await asyncio.to_thread(self.store.open_visits, provider.id)
        return [
            {"visit_id": i.visit.id, "kind": i.visit.kind.value, "state": i.visit.state.value,
             "patient_name": i.patient_name,
             "condition_name": self.condition_name(i.visit.condition),
             "waiting_since": i.visit.waiting_since.isoformat()
             if i.visit.waiting_since else None}
            for i in items
        ]

    async def may_signal(self, provider: Provider, visit_id: str) -> bool | None:
        """True: the provider's visit, open for a call (also after End, to call again);
        None: the provider's, but over (a late message, dropped without closing the socket);
        False: not this provider's visit."""
        try:
            visit = await asyncio.to_thread(self.store.visit, visit_id)
        except LookupError:
            return False
        if visit.provider_id != provider.id:
            return False
        return True if visit.state in CALL_STATES else None

    # -- housekeeping ---------------------------------------------------------------------------

    async def expire_stale(self) -> int:
        stale = await asyncio.to_thread(self.store.stale_visits, self.clock())
        count = 0
        for visit in stale:
            try:
                moved = await self.transition(visit.id, VisitState.EXPIRED, "system")
            except IllegalTransition:
                continue  # moved on meanwhile
            count += 1
            await self._announce_left(moved)
        return count

    # -- pushing changes ----------------------------------------------------------------------

    async def transition(self, visit_id: str, target: VisitState, actor: str,
                         expect: tuple[VisitState, ...] | None = None) -> Visit:
        try:
            visit = await asyncio.to_thread(self.store.transition, visit_id, target,
                                            actor=actor, now=self.clock(), expect=expect)
        except IllegalTransition as exc:
            raise ApiError(409, "illegal_transition", str(exc)) from exc
        if target in LEFT_REASONS and visit.waiting_since is not None:
            await self._announce_left(visit)
        return visit

    async def announce_waiting(self, visit: Visit) -> None:
        entry = await asyncio.to_thread(self.store.queue_entry, visit.id, self._local_now(),
                                        self.condition_name)
        await self.broker.to_service_line(visit.service_line,
                                          {"type": "queue.added", "entry": entry_json(entry)})
        await self._push_positions(visit.service_line)

    async def _announce_claimed(self, visit: Visit, provider: Provider) -> None:
        await self.broker.to_service_line(visit.service_line, {
            "type": "queue.claimed", "visit_id": visit.id, "provider_id": provider.id})
        detail = VisitDetail(visit, await asyncio.to_thread(self._patient_of, visit),
                             provider.display_name)
        status = self.patient_status(detail, None)
        await self.broker.to_patient(visit.id, {"type": "status", **status})
        await self.broker.to_patient(visit.id, {"type": "provider_ready",
                                                "provider_name": provider.display_name})
        await self._push_positions(visit.service_line)

    async def _announce_left(self, visit: Visit) -> None:
        await self.broker.to_service_line(visit.service_line, {
            "type": "queue.left", "visit_id": visit.id,
            "reason": LEFT_REASONS.get(visit.state, visit.state.value)})
        await self.broker.to_patient(visit.id, {"type": "status", "visit_id": visit.id,
                                                "state": visit.state.value})
        await self._push_positions(visit.service_line)

    def _patient_of(self, visit: Visit) -> Patient:
        return self.store.visit_detail(visit.id).patient

    async def _push_positions(self, service_line: str) -> None:
        await self.broker.positions_changed(service_line)

    async def resync_local_sockets(self) -> None:
        """Events may have been missed: each provider gets a fresh queue, each patient a place."""
        for sock in self.broker.local_provider_sockets():
            entries = await self.queue(tuple(sock.service_lines))
            await self.broker.send_local_provider(sock, {
                "type": "queue.snapshot", "entries": [entry_json(e) for e in entries]})
        for line in self.config.service_lines:
            await self.push_local_positions(line.code)

    async def push_local_positions(self, service_line: str) -> None:
        """Tell every waiting patient of this line connected to this process where they stand."""
        connected = set(self.broker.local_patient_visit_ids())
        if not connected:
            return
        waiting = await asyncio.to_thread(self.store.waiting_visits, service_line)
        providers = self.broker.providers_online(service_line)
        for line in ([v for v in waiting if v.kind is not VisitKind.E_VISIT],
                     [v for v in waiting if v.kind is VisitKind.E_VISIT]):
            for position, visit in enumerate(line, start=1):
                if visit.id in connected:
                    await self.broker.send_local_patient(visit.id, {
                        "type": "status", "visit_id": visit.id, "kind": visit.kind.value,
                        "state": visit.state.value,
                        **self._wait_fields(visit, position, providers)})


def entry_json(entry: QueueEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["waiting_since"] = entry.waiting_since.isoformat()
    return data

