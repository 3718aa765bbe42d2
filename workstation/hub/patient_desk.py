"""The patient's side of the hub: site facts, eligibility, check-in with the fee, their visit's
status, eCheck-in, "Begin visit" and cancelling. Changes of the visit go through the visit
service, which pushes them to the providers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
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
    PaymentSource,
    PaymentStatus,
    PaymentUnavailable,
    ProcessorCard,
)
from workstation.core.site import WEEKDAYS
from workstation.core.visit import (
    TERMINAL_STATES,
    IllegalTransition,
    Visit,
    VisitKind,
    VisitState,
)
from workstation.core.visit_link import new_token
from workstation.hub.errors import ApiError
from workstation.hub.schemas import CardIn, CheckInIn, ECheckInIn, EligibilityIn
from workstation.hub.visit_service import LINK_EXPIRED, VisitService
from workstation.storage.payments import DONE, Hold, HoldBusy, HoldState, PaymentHolds
from workstation.storage.store import VisitDetail, VisitNotFound

log = logging.getLogger(__name__)

# A hold still authorising or unsaved this long after its request began is abandoned (a
# processor call gives up well before: 20 s, twice retried).
HOLD_STALE = timedelta(minutes=2)
NOT_SAVED = ("Nothing was saved and your card was not charged. Please try again in a "
             "moment.")


class PatientDesk:
    """What a patient's pages ask of the hub."""

    def __init__(self, visits: VisitService) -> None:
        self.visits = visits
        self.holds = PaymentHolds(visits.store)

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
            "payment": self.payment_info(),
        }

    def payment_info(self) -> dict[str, str]:
        """How the pages take the fee: the card typed into them (simulated), Stripe's own
        element (its key and script), or not online at all (the clinic's words)."""
        config = self.visits.config
        if config.payment == "stripe":
            return {"processor": "stripe", "publishable_key": config.stripe_publishable_key,
                    "js_url": config.stripe_js_url}
        if config.payment == "none":
            return {"processor": "none", "note": config.payment_note}
        return {"processor": "simulated"}

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
        key = f"checkin:{body.idempotency_key or uuid.uuid4()}"
        visit_id = str(uuid.uuid4())
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

        def save(payment: Payment | None) -> Visit:
            return self.visits.store.create_visit(
                patient=patient, visit=visit, link_token=token, intake=intake,
                payment=payment, actor=f"patient:{visit_id}", initial_state=VisitState.WAITING,
                hold_key=key)

        saved, first = await self._pay_then_save(
            key, "visit_fee", visit_id, body.payment, self.visits.config.fee, now, save)
        if not first:  # sent again (its answer was lost): the visit the first one made
            await asyncio.to_thread(self.visits.store.relink, saved.id, token)
            return saved, token
        await self.visits.announce_waiting(saved)
        return saved, token

    async def _pay_then_save(
        self, key: str, purpose: str, visit_id: str, card: CardIn | None, amount: Decimal,
        now: datetime, save: Callable[[Payment | None], Visit],
    ) -> tuple[Visit, bool]:
        """Authorise the amount, save with it, capture it; (the visit, False) when ``key`` was
        saved before. Nothing is taken from a card unless its visit is saved. Where the clinic
        takes no fee online (``payment = "none"``) only the saving, once per key."""
        holds = self.holds
        if self.visits.config.payment == "none":
            source = None
        elif card is None:
            raise ApiError(422, "invalid", "Pay the fee to check in.",
                           fields={"payment": "This is required."})
        else:
            source = self._source(card)
        try:
            hold = await asyncio.to_thread(holds.begin, key, purpose=purpose,
                                           visit_id=visit_id, now=now)
        except HoldBusy as busy:
            if busy.hold.updated_at > now - HOLD_STALE:
                raise ApiError(409, "in_progress", "This payment is still being processed. "
                               "Wait a moment; this page will try again.") from busy
            # Left by a hub that stopped mid-way: release it, then this is a new try.
            await self._settle_abandoned(busy.hold, now)
            hold = await asyncio.to_thread(holds.begin, key, purpose=purpose,
                                           visit_id=visit_id, now=now)
        if hold.state in DONE:
            if hold.state is HoldState.SAVED and hold.reference is not None:
                await self._capture(hold, now)  # the first request stopped before it could
            return await asyncio.to_thread(self.visits.store.visit, hold.visit_id), False
        if source is None or card is None:
            return await self._save_unpaid(hold, now, save), True
        method = PaymentMethod(card.method)
        processor = self.visits.processor
        try:
            reference = await asyncio.to_thread(
                lambda: processor.authorize(
                    amount=amount, currency=self.visits.config.currency, method=method,
                    card=source, now=now, key=hold.processor_key("authorize")))
        except PaymentDeclined as exc:
            await asyncio.to_thread(holds.declined, key, now)
            raise ApiError(402, "payment_declined", str(exc)) from exc
        except PaymentUnavailable as exc:
            # Any hold it did make is found by its key and released (settle_payments).
            raise ApiError(503, "payment_unavailable", NOT_SAVED) from exc
        payment = Payment(id=str(uuid.uuid4()), visit_id=hold.visit_id, method=method,
                          card_last4=card.last4 or card.number[-4:], amount=amount,
                          currency=self.visits.config.currency,
                          status=PaymentStatus.AUTHORIZED, processor_reference=reference,
                          paid_at=now)
        try:
            await asyncio.to_thread(holds.authorized, key, reference, now)
            saved = await asyncio.to_thread(save, payment)
        except Exception as exc:
            await self._release(hold, reference, now)
            if isinstance(exc, ApiError | VisitNotFound | IllegalTransition):
                raise
            log.exception("Saving after authorising a payment failed")
            raise ApiError(503, "not_saved", NOT_SAVED) from exc
        await self._capture(replace(hold, reference=reference), now)
        return saved, True

    async def _save_unpaid(self, hold: Hold, now: datetime,
                           save: Callable[[Payment | None], Visit]) -> Visit:
        try:
            saved = await asyncio.to_thread(save, None)
        except Exception as exc:
            await asyncio.to_thread(self.holds.voided, hold.key, now)
            if isinstance(exc, ApiError | VisitNotFound | IllegalTransition):
                raise
            log.exception("Saving a check-in failed")
            raise ApiError(503, "not_saved", "Nothing was saved. Please try again in a "
                           "moment.") from exc
        await asyncio.to_thread(self.holds.captured, hold, now)  # nothing to take: done
        return saved

    def _source(self, card: CardIn) -> PaymentSource:
        """The card as the processor takes it; with Stripe, never a number typed into the hub."""
        if self.visits.config.payment == "stripe":
            if card.payment_method is None or card.last4 is None:
                raise ApiError(422, "invalid", "Enter the card in the payment box.",
                               fields={"payment": "Enter the card in the payment box."})
            return ProcessorCard(card.payment_method, card.last4, card.holder)
        if card.payment_method is not None:
            raise ApiError(422, "invalid", "Enter the card number and its expiry date.",
                           fields={"payment.number": "Enter the card number."})
        assert card.expiry_month is not None and card.expiry_year is not None
        return CardDetails(card.number, card.expiry_month, card.expiry_year, card.holder)

    async def _release(self, hold: Hold, reference: str, now: datetime) -> None:
        """Void a hold whose visit was not saved; when that fails too, settle_payments will."""
        try:
            await asyncio.to_thread(self.visits.processor.void, reference,
                                    key=hold.processor_key("void"))
            await asyncio.to_thread(self.holds.voided, hold.key, now)
        except Exception as exc:
            log.warning("Releasing an unsaved payment hold failed (%s); it is retried",
                        type(exc).__name__)

    async def _capture(self, hold: Hold, now: datetime) -> None:
        """Take the amount of a saved visit; a failure is retried by settle_payments."""
        assert hold.reference is not None
        try:
            await asyncio.to_thread(self.visits.processor.capture, hold.reference,
                                    key=hold.processor_key("capture"))
            await asyncio.to_thread(self.holds.captured, hold, self.visits.clock())
        except Exception as exc:
            log.warning("Capturing a saved payment failed (%s); it is retried",
                        type(exc).__name__)

    async def settle_payments(self) -> int:
        """Capture what was saved but not captured; release holds whose visit was never saved
        (their request is long over: the database was down, or the hub was stopped)."""
        now = self.visits.clock()
        holds = self.holds
        settled = 0
        for hold in await asyncio.to_thread(holds.to_capture):
            await self._capture(hold, now)
            settled += 1
        for hold in await asyncio.to_thread(holds.abandoned, now - HOLD_STALE):
            await self._settle_abandoned(hold, now)
            settled += 1
        return settled

    async def _settle_abandoned(self, hold: Hold, now: datetime) -> None:
        reference = hold.reference or await asyncio.to_thread(
            self.visits.processor.hold_for, hold.processor_key("authorize"))
        if reference is None:  # the processor never made one
            await asyncio.to_thread(self.holds.voided, hold.key, now)
        else:
            await self._release(hold, reference, now)

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
        forms, insurance = body.forms.model_dump(), body.insurance.model_dump()
        paid_now = False
        if visit.copay and visit.copay > 0 and self.visits.config.payment != "none":
            if body.copay is None:
                raise ApiError(422, "invalid", "Pay the co-pay to finish eCheck-in.",
                               fields={"copay": "This is required."})
            key = f"copay:{visit.id}"

            def save(payment: Payment | None) -> Visit:
                return self.visits.store.complete_echeckin(
                    visit.id, forms=forms, insurance=insurance, payment=payment, now=now,
                    actor=f"patient:{visit.id}", hold_key=key)

            _, paid_now = await self._pay_then_save(key, "copay", visit.id, body.copay,
                                                    visit.copay, now, save)
        if not paid_now:  # no co-pay, or paid by an earlier eCheck-in: the forms alone
            await asyncio.to_thread(
                self.visits.store.complete_echeckin, visit.id, forms=forms,
                insurance=insurance, payment=None, now=now, actor=f"patient:{visit.id}")
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
