"""The patient's side of the hub: site facts, eligibility, check-in with the fee, their visit's
status, eCheck-in, "Begin visit" and cancelling. Changes of the visit go through the visit
service, which pushes them to the providers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
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
    PaymentStatus,
)
from workstation.core.site import WEEKDAYS
from workstation.core.visit import TERMINAL_STATES, Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.hub.errors import ApiError
from workstation.hub.schemas import CardIn, CheckInIn, ECheckInIn, EligibilityIn
from workstation.hub.visit_service import LINK_EXPIRED, VisitService
from workstation.storage.store import VisitDetail

log = logging.getLogger(__name__)


class PatientDesk:
    """What a patient's pages ask of the hub."""

    def __init__(self, visits: VisitService) -> None:
        self.visits = visits

    # -- site facts for the patient pages -------------------------------------------------

    def site_info(self) -> dict[str, Any]:
        now = self.visits.clock()
        hours = elig.check_hours(self.visits.config, now)
        return {
            "site_name": self.visits.config.site_name,
            "time_zone": self.visits.config.time_zone,
            "fee": f"{self.visits.config.fee:.2f}",
            "currency": self.visits.config.currency,
            "open_now": hours.eligible,
            "closed_message": None if hours.eligible else hours.message,
            "next_opening": hours.next_opening.isoformat() if hours.next_opening else None,
            "hours_text": self.hours_text(),
            "consent_text": CONSENT_TEXT,
            "minimum_age": self.visits.config.minimum_age,
            "promised_wait_minutes": self.visits.config.promised_wait_minutes,
        }

    def hours_text(self) -> str:
        """E.g. "Mon–Fri 09:00–18:00 (America/Chicago)": runs of days with the same hours."""
        days = sorted(self.visits.config.hours.by_weekday.items())
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
        return "; ".join(parts) + f" ({self.visits.config.time_zone})"

    def eligibility(self, body: EligibilityIn) -> elig.Decision:
        try:
            return elig.check_eligibility(
                config=self.visits.config, conditions=self.visits.resources.conditions,
                date_of_birth=body.date_of_birth, condition=body.condition,
                red_flags=body.red_flags, now=self.visits.clock(),
            )
        except ValueError as exc:
            raise ApiError(422, "invalid", str(exc), fields={"red_flags": str(exc)}) from exc

    # -- check-in ---------------------------------------------------------------------------

    async def check_in(self, body: CheckInIn) -> tuple[Visit, str]:
        """Validate, charge the fee, then write everything in one transaction."""
        now = self.visits.clock()
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
        condition = self.visits.resources.conditions.get(body.condition)
        assert condition is not None
        if body.mode == "e_visit" and not condition.e_visit:
            raise ApiError(422, "invalid", f"{condition.name} is not offered as an E-Visit.",
                           fields={"mode": "Choose a video visit for this condition."})
        if self.visits.resources.pharmacy(body.pharmacy_id) is None:
            raise ApiError(422, "invalid", "Choose a pharmacy from the list.",
                           fields={"pharmacy_id": "Choose a pharmacy from the list."})
        visit_id = str(uuid.uuid4())
        payment = self._charge(visit_id, body.payment, self.visits.config.fee, now)
        patient = body.patient.to_patient()
        token = new_token()
        kind = VisitKind.E_VISIT if body.mode == "e_visit" else VisitKind.ON_DEMAND
        visit = Visit(
            id=visit_id, kind=kind, state=VisitState.CHECKING_IN, patient_id=patient.id,
            service_line=condition.service_line, condition=condition.code, created_at=now,
            link_expires_at=now + timedelta(hours=self.visits.config.link_lifetime_hours),
        )
        intake = Intake(
            visit_id=visit_id, symptoms=body.symptoms, onset=body.onset,
            allergies=body.allergies, medications=body.medications,
            red_flags=dict(body.red_flags), consent_telehealth=body.consent_telehealth,
            callback_phone=body.callback_phone, pharmacy_id=body.pharmacy_id,
            patient_location_state=body.location_state,
            primary_care=body.primary_care.model_dump() if body.primary_care else None,
        )
        try:
            created = await asyncio.to_thread(
                self.visits.store.create_visit, patient=patient, visit=visit, link_token=token,
                intake=intake, payment=payment, actor=f"patient:{visit_id}",
                initial_state=VisitState.WAITING,
            )
        except Exception:
            # The charge went through but nothing was written: say so plainly in the log
            # (reference only, no patient data) so the clinic can refund.
            log.error("Check-in not saved after payment %s; refund needed",
                      payment.processor_reference)
            raise
        await self.visits.announce_waiting(created)
        return created, token

    def _charge(self, visit_id: str, card: CardIn, amount: Decimal, now: datetime) -> Payment:
        details = CardDetails(card.number, card.expiry_month, card.expiry_year, card.holder)
        method = PaymentMethod(card.method)
        try:
            reference = self.visits.processor.charge(
                amount=amount, currency=self.visits.config.currency, method=method,
                card=details, now=now)
        except PaymentDeclined as exc:
            raise ApiError(402, "payment_declined", str(exc)) from exc
        return Payment(id=str(uuid.uuid4()), visit_id=visit_id, method=method,
                       card_last4=card.number[-4:], amount=amount,
                       currency=self.visits.config.currency, status=PaymentStatus.PAID,
                       processor_reference=reference, paid_at=now)

    # -- the patient's view of their visit ----------------------------------------------------

    async def detail_for_token(self, token: str) -> VisitDetail:
        detail = await self.store_detail(token)
        if detail is None:
            raise LINK_EXPIRED
        return detail

    async def store_detail(self, token: str) -> VisitDetail | None:
        return await asyncio.to_thread(
            self.visits.store.visit_detail_by_token, token, self.visits.clock(),
            timedelta(days=self.visits.config.summary_days))

    async def viewed_by_patient(self, detail: VisitDetail) -> None:
        await asyncio.to_thread(self.visits.store.audit, AuditEvent(
            self.visits.clock(), f"patient:{detail.visit.id}", "visit.view", AuditOutcome.SUCCESS,
            detail.patient.id, detail.visit.id))

    async def status(self, detail: VisitDetail) -> dict[str, Any]:
        visit = detail.visit
        position = await asyncio.to_thread(self.visits.store.queue_position, visit)
        status = self.visits.patient_status(detail, position)
        if visit.state in TERMINAL_STATES:
            # A signed visit's link shows its summary (read-only) for summary_days.
            signed = await asyncio.to_thread(self.visits.store.signed_summary, visit.id)
            if signed is not None:
                summary, signed_at = signed
                until = signed_at + timedelta(days=self.visits.config.summary_days)
                status["summary"] = summary
                status["summary_until"] = until.isoformat()
                status["summary_until_text"] = self.visits.site_time(until)
        return status

    async def echeckin(self, token: str, body: ECheckInIn) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        visit = detail.visit
        if visit.kind is not VisitKind.SCHEDULED or visit.state is not VisitState.CHECKING_IN:
            raise ApiError(409, "not_allowed", "eCheck-in is only for an upcoming appointment.")
        now = self.visits.clock()
        opens = self.visits.echeckin_opens_at(visit)
        if opens is not None and now < opens:
            raise ApiError(409, "not_open", f"eCheck-in opens on {self.visits.site_time(opens)}, "
                           f"{self.visits.config.echeckin_open_days} days before your "
                           "appointment. Come back to this page then.")
        if self.visits.resources.pharmacy(body.forms.pharmacy_id) is None:
            raise ApiError(422, "invalid", "Choose a pharmacy from the list.",
                           fields={"forms.pharmacy_id": "Choose a pharmacy from the list."})
        payment = None
        if visit.copay and visit.copay > 0:
            if body.copay is None:
                raise ApiError(422, "invalid", "Pay the co-pay to finish eCheck-in.",
                               fields={"copay": "This is required."})
            payment = self._charge(visit.id, body.copay, visit.copay, now)
        await asyncio.to_thread(
            self.visits.store.complete_echeckin, visit.id, forms=body.forms.model_dump(),
            insurance=body.insurance.model_dump(), payment=payment, now=now,
            actor=f"patient:{visit.id}")
        return await self.status(await self.detail_for_token(token))

    async def begin(self, token: str) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        status = self.visits.patient_status(detail, None)
        if not status["can_begin"]:
            raise ApiError(409, "not_ready", status["begin_blocked_reason"]
                           or "This visit cannot begin now.")
        visit = await self.visits.transition(detail.visit.id, VisitState.WAITING,
                                             f"patient:{detail.visit.id}")
        await self.visits.announce_waiting(visit)
        return await self.status(await self.detail_for_token(token))

    async def patient_cancel(self, token: str) -> dict[str, Any]:
        detail = await self.detail_for_token(token)
        if detail.visit.state not in (VisitState.CHECKING_IN, VisitState.WAITING,
                                      VisitState.CLAIMED):
            raise ApiError(409, "not_allowed", "This visit can no longer be cancelled here.")
        visit = await self.visits.transition(detail.visit.id, VisitState.CANCELLED,
                                             f"patient:{detail.visit.id}")
        status = self.visits.patient_status(
            VisitDetail(visit, detail.patient, detail.provider_name), None)
        await self.visits.broker.to_patient(visit.id, {"type": "status", **status})
        return status
