"""What the hub does, apart from HTTP: check-in, the queue, claims, appointments, sessions.

Database work runs in worker threads (``asyncio.to_thread``); every change that someone is
waiting to see is pushed through the broker as soon as it is committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from workstation.core import eligibility as elig
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.intake import CONSENT_TEXT, Intake
from workstation.core.payment import (
    CardDetails,
    Payment,
    PaymentDeclined,
    PaymentMethod,
    PaymentProcessor,
    PaymentStatus,
)
from workstation.core.people import Address, Patient, Provider, Sex
from workstation.core.queue import QueueEntry, estimated_wait_minutes
from workstation.core.site import WEEKDAYS, SiteConfig
from workstation.core.visit import IllegalTransition, Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.hub import auth
from workstation.hub.broker import Broker
from workstation.hub.errors import ApiError
from workstation.hub.schemas import (
    AppointmentIn,
    CardIn,
    CheckInIn,
    ECheckInIn,
    EligibilityIn,
    FirstProviderIn,
    PatientIn,
)
from workstation.resource_files import Resources
from workstation.storage.store import UsernameTaken, VisitDetail, VisitStore, day_bounds

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

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
    "started": (VisitState.IN_CALL, (VisitState.CLAIMED, VisitState.RECONNECTING)),
    "interrupted": (VisitState.RECONNECTING, (VisitState.IN_CALL,)),
    "resumed": (VisitState.IN_CALL, (VisitState.RECONNECTING,)),
    "ended": (VisitState.DOCUMENTING,
              (VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING)),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


MAX_FAILED_PASSWORDS = 5
PASSWORD_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedSession:
    token: str = field(repr=False)
    expires_at: datetime
    provider: Provider
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None


class VisitService:
    def __init__(
        self, store: VisitStore, config: SiteConfig, resources: Resources, broker: Broker,
        processor: PaymentProcessor, *, clock: Clock = utc_now, embedded: bool = False,
    ) -> None:
        self.store = store
        self.config = config
        self.resources = resources
        self.broker = broker
        self.processor = processor
        self.clock = clock
        self.embedded = embedded
        self.condition_names = {c.code: c.name for c in resources.conditions}
        # Wrong passwords per username (this process), to slow down guessing.
        self._failed_passwords: dict[str, list[datetime]] = {}
        broker.on_positions_changed = self.push_local_positions
        broker.on_resync = self.resync_local_sockets

    def _local_now(self) -> datetime:
        """Now in the site's time zone: ages and days are counted as the clinic counts them."""
        return self.clock().astimezone(self.config.zone)

    def condition_name(self, code: str) -> str:
        """The listed name, or the appointment's reason code made readable."""
        return self.condition_names.get(code) or code.replace("_", " ").capitalize()

    # -- site facts for the patient pages -------------------------------------------------

    def site_info(self) -> dict[str, Any]:
        now = self.clock()
        hours = elig.check_hours(self.config, now)
        return {
            "site_name": self.config.site_name,
            "fee": f"{self.config.fee:.2f}",
            "currency": self.config.currency,
            "open_now": hours.eligible,
            "closed_message": None if hours.eligible else hours.message,
            "next_opening": hours.next_opening.isoformat() if hours.next_opening else None,
            "hours_text": self.hours_text(),
            "consent_text": CONSENT_TEXT,
            "minimum_age": self.config.minimum_age,
            "promised_wait_minutes": self.config.promised_wait_minutes,
        }

    def hours_text(self) -> str:
        """E.g. "Mon–Fri 09:00–18:00 (America/Chicago)": runs of days with the same hours."""
        days = sorted(self.config.hours.by_weekday.items())
        runs: list[tuple[int, int, str]] = []
        for day, (opens, closes) in days:
            span = f"{opens:%H:%M}–{closes:%H:%M}"
            if runs and runs[-1][1] == day - 1 and runs[-1][2] == span:
                runs[-1] = (runs[-1][0], day, span)
            else:
                runs.append((day, day, span))
        if not runs:
            return "Closed"
        parts = [
            (WEEKDAYS[a].title() if a == b else f"{WEEKDAYS[a].title()}–{WEEKDAYS[b].title()}")
            + f" {span}" for a, b, span in runs
        ]
        return "; ".join(parts) + f" ({self.config.time_zone})"

    def eligibility(self, body: EligibilityIn) -> elig.Decision:
        try:
            return elig.check_eligibility(
                config=self.config, conditions=self.resources.conditions,
                date_of_birth=body.date_of_birth, condition=body.condition,
                red_flags=body.red_flags, now=self.clock(),
            )
        except ValueError as exc:
            raise ApiError(422, "invalid", str(exc), fields={"red_flags": str(exc)}) from exc

    # -- check-in ---------------------------------------------------------------------------

    async def check_in(self, body: CheckInIn) -> tuple[Visit, str]:
        """Validate, charge the fee, then write everything in one transaction."""
        now = self.clock()
        missing = elig.missing_red_flag_answers(body.red_flags)
        if missing:
            raise ApiError(422, "invalid", "Answer every emergency question.",
                           fields={f"red_flags.{code}": "Answer yes or no." for code in missing})
        decision = self.eligibility(EligibilityIn(
            date_of_birth=body.patient.date_of_birth, condition=body.condition,
            red_flags=body.red_flags))
        if not decision.eligible:
            raise ApiError(422, "ineligible", decision.message, outcome=decision.outcome.value,
                           next_opening=decision.next_opening.isoformat()
                           if decision.next_opening else None)
        condition = self.resources.conditions.get(body.condition)
        assert condition is not None
        if body.mode == "e_visit" and not condition.e_visit:
            raise ApiError(422, "invalid", f"{condition.name} is not offered as an E-Visit.",
                           fields={"mode": "Choose a video visit for this condition."})
        if self.resources.pharmacy(body.pharmacy_id) is None:
            raise ApiError(422, "invalid", "Choose a pharmacy from the list.",
                           fields={"pharmacy_id": "Choose a pharmacy from the list."})
        visit_id = str(uuid.uuid4())
        payment = self._charge(visit_id, body.payment, self.config.fee, now)
        patient = _patient(body.patient)
        token = new_token()
        kind = VisitKind.E_VISIT if body.mode == "e_visit" else VisitKind.ON_DEMAND
        visit = Visit(
            id=visit_id, kind=kind, state=VisitState.CHECKING_IN, patient_id=patient.id,
            service_line=condition.service_line, condition=condition.code, created_at=now,
            link_expires_at=now + timedelta(hours=self.config.link_lifetime_hours),
        )
        intake = Intake(
            visit_id=visit_id, symptoms=body.symptoms, onset=body.onset,
            allergies=body.allergies, medications=body.medications,
            red_flags=dict(body.red_flags), consent_telehealth=body.consent_telehealth,
            callback_phone=body.callback_phone, pharmacy_id=body.pharmacy_id,
            patient_location_state=body.location_state,
        )
        try:
            created = await asyncio.to_thread(
                self.store.create_visit, patient=patient, visit=visit, link_token=token,
                intake=intake, payment=payment, actor=f"patient:{visit_id}",
                initial_state=VisitState.WAITING,
            )
        except Exception:
            # The charge went through but nothing was written: say so plainly in the log
            # (reference only, no patient data) so the clinic can refund.
            log.error("Check-in not saved after payment %s; refund needed",
                      payment.processor_reference)
            raise
        await self._announce_waiting(created)
        return created, token

    def _charge(self, visit_id: str, card: CardIn, amount: Decimal, now: datetime) -> Payment:
        details = CardDetails(card.number, card.expiry_month, card.expiry_year, card.holder)
        method = PaymentMethod(card.method)
        try:
            reference = self.processor.charge(amount=amount, currency=self.config.currency,
                                              method=method, card=details, now=now)
        except PaymentDeclined as exc:
            raise ApiError(402, "payment_declined", str(exc)) from exc
        return Payment(id=str(uuid.uuid4()), visit_id=visit_id, method=method,
                       card_last4=card.number[-4:], amount=amount,
                       currency=self.config.currency, status=PaymentStatus.PAID,
                       processor_reference=reference, paid_at=now)

    # -- the patient's view of their visit ----------------------------------------------------

    async def detail_for_token(self, token: str) -> VisitDetail:
        detail = await asyncio.to_thread(self.store.visit_detail_by_token, token, self.clock())
        if detail is None:
            raise LINK_EXPIRED
        return detail

    async def store_detail(self, token: str) -> VisitDetail | None:
        return await asyncio.to_thread(self.store.visit_detail_by_token, token, self.clock())

    async def viewed_by_patient(self, detail: VisitDetail) -> None:
        await asyncio.to_thread(self.store.audit, AuditEvent(
            self.clock(), f"patient:{detail.visit.id}", "visit.view", AuditOutcome.SUCCESS,
            detail.patient.id, detail.visit.id))

    async def status(self, detail: VisitDetail) -> dict[str, Any]:
        visit = detail.visit
        position = await asyncio.to_thread(self.store.queue_position, visit)
        return self._status(detail, position)

    def _status(self, detail: VisitDetail, position: int | None) -> dict[str, Any]:
        visit = detail.visit
        now = self.clock()
        begin_opens_at = None
        blocked = None
        can_begin = False
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
            "condition_name": self.condition_name(visit.condition),
            "position": position,
            "estimated_wait_minutes": (
                estimated_wait_minutes(position, providers, self.config.minutes_per_visit)
                if position is not None else None),
            "waiting_since": visit.waiting_since.isoformat() if visit.waiting_since else None,
            "scheduled_for": visit.scheduled_for.isoformat() if visit.scheduled_for else None,
            "echeckin_complete": visit.echeckin_complete,
            "can_begin": can_begin,
            "begin_opens_at": begin_opens_at,
            "begin_blocked_reason": blocked,
            "provider_name": detail.provider_name,
            "fee": f"{self.config.fee:.2f}",
            "copay": f"{visit.copay:.2f}" if visit.copay is not None else None,
        }

    async def echeckin(self, token: str, body: ECheckInIn) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        visit = detail.visit
        if visit.kind is not VisitKind.SCHEDULED or visit.state is not VisitState.CHECKING_IN:
            raise ApiError(409, "not_allowed", "eCheck-in is only for an upcoming appointment.")
        now = self.clock()
        payment = None
        if visit.copay and visit.copay > 0:
            if body.copay is None:
                raise ApiError(422, "invalid", "Pay the co-pay to finish eCheck-in.",
                               fields={"copay": "This is required."})
            payment = self._charge(visit.id, body.copay, visit.copay, now)
        await asyncio.to_thread(
            self.store.complete_echeckin, visit.id, forms=body.forms.model_dump(),
            insurance=body.insurance.model_dump(), payment=payment, now=now,
            actor=f"patient:{visit.id}")
        return await self.status(await self.detail_for_token(token))

    async def begin(self, token: str) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        status = self._status(detail, None)
        if not status["can_begin"]:
            raise ApiError(409, "not_ready", status["begin_blocked_reason"]
                           or "This visit cannot begin now.")
        visit = await self._transition(detail.visit.id, VisitState.WAITING,
                                       f"patient:{detail.visit.id}")
        await self._announce_waiting(visit)
        return await self.status(await self.detail_for_token(token))

    async def patient_cancel(self, token: str) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        if detail.visit.state not in (VisitState.CHECKING_IN, VisitState.WAITING,
                                      VisitState.CLAIMED):
            raise ApiError(409, "not_allowed", "This visit can no longer be cancelled here.")
        visit = await self._transition(detail.visit.id, VisitState.CANCELLED,
                                       f"patient:{detail.visit.id}")
        status = self._status(VisitDetail(visit, detail.patient, detail.provider_name), None)
        await self.broker.to_patient(visit.id, {"type": "status", **status})
        return status

    # -- providers --------------------------------------------------------------------------

    async def setup_needed(self) -> bool:
        return self.embedded and await asyncio.to_thread(self.store.provider_count) == 0

    async def create_first_provider(self, body: FirstProviderIn) -> Provider:
        if not await self.setup_needed():
            raise ApiError(403, "forbidden",
                           "Accounts are created by your administrator "
                           "(workstation provider add).")
        unknown = [c for c in body.service_lines if self.config.service_line(c) is None]
        if unknown:
            raise ApiError(422, "invalid", "Unknown service line.",
                           fields={"service_lines": f"Unknown: {', '.join(unknown)}"})
        return await self.add_provider(body.username, body.display_name, body.password,
                                       tuple(body.service_lines))

    async def add_provider(self, username: str, display_name: str, password: str,
                           service_lines: tuple[str, ...], npi: str = "") -> Provider:
        provider = Provider(str(uuid.uuid4()), username, display_name, service_lines, npi)
        password_hash = await asyncio.to_thread(auth.hash_password, password)
        try:
            return await asyncio.to_thread(self.store.add_provider, provider, password_hash,
                                           self.clock())
        except UsernameTaken as exc:
            raise ApiError(409, "username_taken", str(exc)) from exc

    def _check_attempts(self, username: str, now: datetime) -> None:
        """Guessing is slowed down: after MAX_FAILED_PASSWORDS wrong passwords for a username
        within PASSWORD_WINDOW, every attempt is refused until the window has passed."""
        recent = [t for t in self._failed_passwords.get(username.casefold(), [])
                  if now - t < PASSWORD_WINDOW]
        self._failed_passwords[username.casefold()] = recent
        if len(recent) >= MAX_FAILED_PASSWORDS:
            wait = max(1, int((recent[0] + PASSWORD_WINDOW - now).total_seconds() // 60) + 1)
            raise ApiError(429, "too_many_attempts",
                           f"Too many wrong passwords. Try again in {wait} minutes, or ask "
                           "your administrator.")

    def _password_failed(self, username: str, now: datetime) -> None:
        self._failed_passwords.setdefault(username.casefold(), []).append(now)

    async def sign_in(self, username: str, password: str, *, remember: bool = False,
                      ) -> IssuedSession:
        now = self.clock()
        provider = await self.check_credentials(username, password,
                                                detail="remember" if remember else "")
        return await self._issue(provider, now, remember=remember)

    async def check_credentials(self, username: str, password: str, *,
                                action: str = "provider.sign_in", detail: str = "") -> Provider:
        """The provider with this username and password (audited, slowed after failures)."""
        now = self.clock()
        try:
            self._check_attempts(username, now)
        except ApiError:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", action, AuditOutcome.DENIED,
                detail="too many wrong passwords"))
            raise
        account = await asyncio.to_thread(self.store.provider_account, username)
        ok = await asyncio.to_thread(auth.verify_password,
                                     account.password_hash if account else None, password)
        if account is None or not ok or not account.active:
            self._password_failed(username, now)
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", action, AuditOutcome.DENIED,
                detail="bad username or password"))
            raise ApiError(401, "bad_credentials", "The username or password is not right.")
        self._failed_passwords.pop(username.casefold(), None)
        if auth.needs_rehash(account.password_hash):
            new_hash = await asyncio.to_thread(auth.hash_password, password)
            await asyncio.to_thread(self.store.update_password_hash, account.provider.id,
                                    new_hash)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{account.provider.id}", action, AuditOutcome.SUCCESS,
            detail=detail))
        return account.provider

    async def refresh(self, refresh_token: str) -> IssuedSession:
        """"Remember me": a refresh token is spent once for a new session and a new one."""
        now = self.clock()
        provider = await asyncio.to_thread(self.store.use_refresh_token, refresh_token, now)
        if provider is None:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, "anonymous", "provider.refresh", AuditOutcome.DENIED))
            raise ApiError(401, "unauthorized", "Your session has ended. Sign in again.")
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{provider.id}", "provider.refresh", AuditOutcome.SUCCESS))
        return await self._issue(provider, now, remember=True)

    async def _issue(self, provider: Provider, now: datetime, *,
                     remember: bool) -> IssuedSession:
        token = auth.new_session_token()
        expires = await asyncio.to_thread(self.store.create_session, provider.id, token, now,
                                          timedelta(hours=self.config.session_hours))
        refresh = refresh_expires = None
        if remember:
            refresh = auth.new_session_token()
            refresh_expires = await asyncio.to_thread(
                self.store.create_session, provider.id, refresh, now,
                timedelta(days=self.config.remember_days), kind="refresh")
        return IssuedSession(token, expires, provider, refresh, refresh_expires)

    async def verify_password(self, provider: Provider, password: str) -> None:
        """Unlocking a locked workstation: the signed-in provider's own password, audited."""
        now = self.clock()
        try:
            self._check_attempts(provider.username, now)
        except ApiError:
            await asyncio.to_thread(self.store.audit, AuditEvent(
                now, f"provider:{provider.id}", "provider.unlock", AuditOutcome.DENIED,
                detail="too many wrong passwords"))
            raise
        account = await asyncio.to_thread(self.store.provider_account, provider.username)
        ok = account is not None and await asyncio.to_thread(
            auth.verify_password, account.password_hash, password)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            now, f"provider:{provider.id}", "provider.unlock",
            AuditOutcome.SUCCESS if ok else AuditOutcome.DENIED))
        if not ok:
            self._password_failed(provider.username, now)
            raise ApiError(401, "bad_credentials", "That password is not right.")
        self._failed_passwords.pop(provider.username.casefold(), None)

    async def authenticate(self, token: str | None) -> Provider:
        provider = None
        if token:
            provider = await asyncio.to_thread(self.store.session_provider, token, self.clock())
        if provider is None:
            raise ApiError(401, "unauthorized", "Your session has ended. Sign in again.")
        return provider

    async def sign_out(self, token: str, provider: Provider, *,
                       refresh_token: str | None = None) -> None:
        """End this session, and "remember me" on this workstation when its token is given."""
        await asyncio.to_thread(self.store.revoke_session, token)
        if refresh_token:
            await asyncio.to_thread(self.store.revoke_session, refresh_token, provider.id)
        await asyncio.to_thread(self.store.audit, AuditEvent(
            self.clock(), f"provider:{provider.id}", "provider.sign_out", AuditOutcome.SUCCESS))

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
            waiting = await self._transition(visit_id, VisitState.WAITING,
                                             f"provider:{provider.id}")
        except ApiError as exc:  # another provider began it a moment ago: the claim decides
            if exc.code != "illegal_transition":
                raise
            return
        await self._announce_waiting(waiting)

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
        moved = await self._transition(visit.id, VisitState.WAITING, f"provider:{provider.id}",
                                       expect=(VisitState.CLAIMED,))
        await self._announce_waiting(moved)
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
        moved = await self._transition(visit.id, target, f"provider:{provider.id}",
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
        patient = _patient(body.patient)
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

    async def may_signal(self, provider: Provider, visit_id: str) -> bool:
        try:
            visit = await asyncio.to_thread(self.store.visit, visit_id)
        except LookupError:
            return False
        return visit.provider_id == provider.id and visit.state in (
            VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING)

    # -- housekeeping ---------------------------------------------------------------------------

    async def expire_stale(self) -> int:
        stale = await asyncio.to_thread(self.store.stale_visits, self.clock())
        count = 0
        for visit in stale:
            try:
                moved = await self._transition(visit.id, VisitState.EXPIRED, "system")
            except IllegalTransition:
                continue  # moved on meanwhile
            count += 1
            await self._announce_left(moved)
        return count

    # -- pushing changes ----------------------------------------------------------------------

    async def _transition(self, visit_id: str, target: VisitState, actor: str,
                          expect: tuple[VisitState, ...] | None = None) -> Visit:
        try:
            visit = await asyncio.to_thread(self.store.transition, visit_id, target,
                                            actor=actor, now=self.clock(), expect=expect)
        except IllegalTransition as exc:
            raise ApiError(409, "illegal_transition", str(exc)) from exc
        if target in LEFT_REASONS and visit.waiting_since is not None:
            await self._announce_left(visit)
        return visit

    async def _announce_waiting(self, visit: Visit) -> None:
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
        status = self._status(detail, None)
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
        for position, visit in enumerate(waiting, start=1):
            if visit.id in connected:
                await self.broker.send_local_patient(visit.id, {
                    "type": "status", "visit_id": visit.id, "kind": visit.kind.value,
                    "state": visit.state.value, "position": position,
                    "estimated_wait_minutes": estimated_wait_minutes(
                        position, providers, self.config.minutes_per_visit)})


def entry_json(entry: QueueEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["waiting_since"] = entry.waiting_since.isoformat()
    return data


def _patient(body: PatientIn) -> Patient:
    a = body.address
    return Patient(
        id=str(uuid.uuid4()), given_name=body.given_name, family_name=body.family_name,
        date_of_birth=body.date_of_birth, sex=Sex(body.sex), phone=body.phone,
        email=body.email, address=Address(a.line1, a.city, a.state, a.postal_code, a.line2),
    )
