"""The repository of visits and patients; providers' accounts and the audit log are its ground.

Methods are synchronous and each runs in one transaction, so nothing is ever half-written;
async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.intake import Intake
from workstation.core.payment import Payment, PaymentStatus
from workstation.core.people import Patient, same_person
from workstation.core.queue import QueueEntry
from workstation.core.visit import (
    QUEUED_STATES,
    TERMINAL_STATES,
    IllegalTransition,
    Visit,
    VisitKind,
    VisitState,
    check_transition,
)
from workstation.core.visit_link import token_digest
from workstation.storage.accounts import AccountStore
from workstation.storage.orm import (
    ECheckInRow,
    IntakeRow,
    NoteRow,
    PatientRow,
    PaymentRow,
    ProviderRow,
    VisitRow,
    VisitTransitionRow,
)
from workstation.storage.payments import mark_saved
from workstation.storage.rows import (
    audit_row,
    intake_row,
    patient_row,
    payment_row,
    to_cents,
    to_intake,
    to_patient,
    to_payment,
    to_queue_entry,
    to_visit,
    transition_row,
)

# A visit with its provider and not signed yet: the provider's to finish.
OPEN_STATES = frozenset({VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING,
                         VisitState.DOCUMENTING})


class VisitNotFound(LookupError):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class VisitDetail:
    """A visit with its patient, as the patient's page and the chart need it."""

    visit: Visit
    patient: Patient
    provider_name: str | None


@dataclass(frozen=True)
class ScheduleItem:
    visit: Visit
    patient_name: str


class VisitStore(AccountStore):
    """Patients, visits, the queue, claims, eCheck-in and appointments."""

    # -- patients and visits -------------------------------------------------------------

    def create_visit(
        self,
        *,
        patient: Patient,
        visit: Visit,
        link_token: str,
        intake: Intake | None = None,
        payment: Payment | None = None,
        copay: Decimal | None = None,
        actor: str,
        initial_state: VisitState | None = None,
        hold_key: str | None = None,
    ) -> Visit:
        """Write patient, visit, intake and payment in one transaction (marking the payment's
        hold saved with them); audit it."""
        with self._sessions.begin() as s:
            known = next((r for r in s.scalars(select(PatientRow).where(
                PatientRow.date_of_birth == patient.date_of_birth))
                if same_person(to_patient(r), patient)), None)
            if known is None:
                s.add(patient_row(patient))
            else:
                # A returning patient keeps one record. Check-in is not signed in, so it never
                # changes what the record holds; today's callback phone is in the intake.
                patient = replace(patient, id=known.id)
            s.flush()
            s.add(
                VisitRow(
                    id=visit.id,
                    kind=visit.kind.value,
                    state=VisitState.CHECKING_IN.value,
                    patient_id=patient.id,
                    service_line=visit.service_line,
                    condition=visit.condition,
                    created_at=visit.created_at,
                    waiting_since=None,
                    provider_id=None,
                    scheduled_for=visit.scheduled_for,
                    echeckin_complete=visit.echeckin_complete,
                    copay_cents=to_cents(copay) if copay is not None else None,
                    link_digest=token_digest(link_token),
                    link_expires_at=visit.link_expires_at,
                )
            )
            s.flush()
            s.add(transition_row(visit.id, None, VisitState.CHECKING_IN, visit.created_at, actor))
            if intake is not None:
                s.add(intake_row(intake))
            if payment is not None:
                s.add(payment_row(payment, "visit_fee"))
            if hold_key is not None:
                mark_saved(s, hold_key, visit.created_at)
            s.flush()
            if initial_state is not None and initial_state is not VisitState.CHECKING_IN:
                move_visit(s, visit.id, initial_state, visit.created_at, actor)
            s.add(audit_row(AuditEvent(visit.created_at, actor, "visit.create",
                                        AuditOutcome.SUCCESS, patient.id, visit.id, visit.kind)))
            row = s.get(VisitRow, visit.id)
            assert row is not None
            return to_visit(row)

    def relink(self, visit_id: str, link_token: str) -> None:
        """Give the visit a new link (the answer with the first one was lost); the old one
        stops working."""
        with self._sessions.begin() as s:
            s.execute(update(VisitRow).where(VisitRow.id == visit_id)
                      .values(link_digest=token_digest(link_token)))

    def visit(self, visit_id: str) -> Visit:
        with self._sessions() as s:
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            return to_visit(row)

    def visit_detail_by_token(self, token: str, now: datetime,
                              summary_for: timedelta = timedelta(0)) -> VisitDetail | None:
        """The visit a link opens, or None when unknown, expired or ended. A visit ended with
        a signed note stays readable for ``summary_for`` after signing (its summary and
        prescriptions; the caller offers nothing else)."""
        with self._sessions() as s:
            row = s.scalars(
                select(VisitRow).where(VisitRow.link_digest == token_digest(token))
            ).one_or_none()
            if row is None:
                return None
            if VisitState(row.state) in TERMINAL_STATES:
                note = s.get(NoteRow, row.id)
                if note is None or note.signed_at + summary_for <= now:
                    return None
            elif row.link_expires_at <= now:
                return None
            return self._detail(s, row)

    def visit_detail(self, visit_id: str) -> VisitDetail:
        with self._sessions() as s:
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            return self._detail(s, row)

    def _detail(self, s: Session, row: VisitRow) -> VisitDetail:
        patient = s.get(PatientRow, row.patient_id)
        assert patient is not None
        provider_name = None
        if row.provider_id:
            provider = s.get(ProviderRow, row.provider_id)
            provider_name = provider.display_name if provider else None
        return VisitDetail(to_visit(row), to_patient(patient), provider_name)

    def transition(
        self, visit_id: str, target: VisitState, *, actor: str, now: datetime,
        expect: Iterable[VisitState] | None = None,
    ) -> Visit:
        """Move a visit, or raise :class:`IllegalTransition` and change nothing."""
        with self._sessions.begin() as s:
            row = s.get(VisitRow, visit_id, with_for_update=True)
            if row is None:
                raise VisitNotFound(visit_id)
            current = VisitState(row.state)
            if expect is not None and current not in set(expect):
                raise IllegalTransition(current, target)
            move_visit(s, visit_id, target, now, actor)
            s.add(audit_row(AuditEvent(now, actor, f"visit.{target.value}",
                                        AuditOutcome.SUCCESS, row.patient_id, visit_id)))
            s.refresh(row)
            return to_visit(row)

    def claim(self, visit_id: str, provider_id: str, now: datetime) -> Visit | None:
        """Claim one waiting visit; None when another provider got there first."""
        with self._sessions.begin() as s:
            won = self._try_claim(s, visit_id, provider_id, now)
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            s.add(audit_row(AuditEvent(
                now, f"provider:{provider_id}", "visit.claim",
                AuditOutcome.SUCCESS if won else AuditOutcome.DENIED, row.patient_id, visit_id,
                "" if won else "already claimed or no longer waiting")))
            return to_visit(row) if won else None

    def claim_next(
        self, service_lines: Sequence[str], provider_id: str, now: datetime, *,
        e_visits: bool = False,
    ) -> Visit | None:
        """Claim the longest-waiting visit in the provider's service lines, if any: video
        visits, or with ``e_visits`` the E-Visits (answered later, without video)."""
        kind_matches = (VisitRow.kind == VisitKind.E_VISIT.value if e_visits
                        else VisitRow.kind != VisitKind.E_VISIT.value)
        for _attempt in range(20):
            with self._sessions.begin() as s:
                query = (
                    select(VisitRow.id)
                    .where(VisitRow.state == VisitState.WAITING.value,
                           VisitRow.service_line.in_(service_lines), kind_matches)
                    .order_by(VisitRow.waiting_since, VisitRow.id)
                    .limit(1)
                )
                if self.dialect == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                visit_id = s.scalars(query).first()
                if visit_id is None:
                    return None
                if self._try_claim(s, visit_id, provider_id, now):
                    row = s.get(VisitRow, visit_id)
                    assert row is not None
                    s.add(audit_row(AuditEvent(now, f"provider:{provider_id}", "visit.claim",
                                                AuditOutcome.SUCCESS, row.patient_id, visit_id)))
                    return to_visit(row)
        return None

    def _try_claim(self, s: Session, visit_id: str, provider_id: str, now: datetime) -> bool:
        result = s.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.state == VisitState.WAITING.value)
            .values(state=VisitState.CLAIMED.value, provider_id=provider_id, claimed_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        s.add(transition_row(visit_id, VisitState.WAITING, VisitState.CLAIMED, now,
                          f"provider:{provider_id}"))
        return True

    def queue(self, service_lines: Sequence[str], now: datetime,
              condition_name: Callable[[str], str] = str) -> list[QueueEntry]:
        """Waiting visits of these service lines, longest-waiting first."""
        with self._sessions() as s:
            rows = s.execute(
                select(VisitRow, PatientRow)
                .join(PatientRow, PatientRow.id == VisitRow.patient_id)
                .where(VisitRow.state.in_([st.value for st in QUEUED_STATES]),
                       VisitRow.service_line.in_(service_lines))
                .order_by(VisitRow.waiting_since, VisitRow.id)
            ).all()
            paid = self._paid_visits(s, [v.id for v, _ in rows])
        return [to_queue_entry(v, p, now, condition_name, v.id in paid) for v, p in rows]

    def queue_entry(self, visit_id: str, now: datetime,
                    condition_name: Callable[[str], str] = str) -> QueueEntry:
        with self._sessions() as s:
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            patient = s.get(PatientRow, row.patient_id)
            assert patient is not None
            paid = self._paid_visits(s, [visit_id])
            return to_queue_entry(row, patient, now, condition_name, visit_id in paid)

    def _paid_visits(self, s: Session, visit_ids: list[str]) -> set[str]:
        if not visit_ids:
            return set()
        return set(s.scalars(
            select(PaymentRow.visit_id).where(PaymentRow.visit_id.in_(visit_ids),
                                              PaymentRow.status == PaymentStatus.PAID.value)
        ))

    def queue_position(self, visit: Visit) -> int | None:
        """1 for the next patient to be seen, None when not waiting."""
        if visit.state is not VisitState.WAITING or visit.waiting_since is None:
            return None
        same_line = (VisitRow.kind == VisitKind.E_VISIT.value
                     if visit.kind is VisitKind.E_VISIT
                     else VisitRow.kind != VisitKind.E_VISIT.value)  # E-Visits wait apart
        with self._sessions() as s:
            ahead = s.scalar(
                select(func.count())
                .select_from(VisitRow)
                .where(VisitRow.state == VisitState.WAITING.value,
                       VisitRow.service_line == visit.service_line, same_line,
                       (VisitRow.waiting_since < visit.waiting_since)
                       | ((VisitRow.waiting_since == visit.waiting_since)
                          & (VisitRow.id < visit.id)))
            )
            return int(ahead or 0) + 1

    def waiting_visits(self, service_line: str | None = None) -> list[Visit]:
        with self._sessions() as s:
            query = select(VisitRow).where(VisitRow.state == VisitState.WAITING.value)
            if service_line is not None:
                query = query.where(VisitRow.service_line == service_line)
            return [to_visit(r) for r in s.scalars(query.order_by(VisitRow.waiting_since,
                                                                   VisitRow.id))]

    def stale_visits(self, now: datetime) -> list[Visit]:
        """Live visits whose link has passed its expiry."""
        with self._sessions() as s:
            rows = s.scalars(
                select(VisitRow).where(
                    VisitRow.state.in_([VisitState.CHECKING_IN.value, VisitState.WAITING.value,
                                        VisitState.CLAIMED.value]),
                    VisitRow.link_expires_at <= now,
                )
            )
            return [to_visit(r) for r in rows]

    def intake(self, visit_id: str) -> Intake | None:
        with self._sessions() as s:
            row = s.get(IntakeRow, visit_id)
            return to_intake(row) if row else None

    def payments(self, visit_id: str) -> list[Payment]:
        with self._sessions() as s:
            rows = s.scalars(select(PaymentRow).where(PaymentRow.visit_id == visit_id))
            return [to_payment(r) for r in rows]

    # -- scheduled visits ------------------------------------------------------------------

    def complete_echeckin(
        self, visit_id: str, *, forms: dict[str, str], insurance: dict[str, str],
        payment: Payment | None, now: datetime, actor: str, hold_key: str | None = None,
    ) -> Visit:
        with self._sessions.begin() as s:
            row = s.get(VisitRow, visit_id, with_for_update=True)
            if row is None:
                raise VisitNotFound(visit_id)
            if VisitState(row.state) is not VisitState.CHECKING_IN:
                raise IllegalTransition(VisitState(row.state), VisitState.CHECKING_IN)
            existing = s.get(ECheckInRow, visit_id)
            if existing is None:
                s.add(ECheckInRow(visit_id=visit_id, forms=forms, insurance=insurance,
                                  completed_at=now))
            else:
                existing.forms, existing.insurance, existing.completed_at = forms, insurance, now
            if payment is not None:
                s.add(payment_row(payment, "copay"))
            if hold_key is not None:
                mark_saved(s, hold_key, now)
            row.echeckin_complete = True
            s.add(audit_row(AuditEvent(now, actor, "echeckin.complete", AuditOutcome.SUCCESS,
                                        row.patient_id, visit_id)))
            s.flush()
            return to_visit(row)

    def patient_told(self, visit_id: str) -> tuple[str, str] | None:
        """(allergies, medications) as the patient gave them: at check-in, or at a scheduled
        visit's eCheck-in; None when they have not been asked yet."""
        with self._sessions() as s:
            intake = s.get(IntakeRow, visit_id)
            if intake is not None:
                return intake.allergies, intake.medications
            echeckin = s.get(ECheckInRow, visit_id)
            if echeckin is None:
                return None
            forms = echeckin.forms or {}
            return str(forms.get("allergies", "")), str(forms.get("medications", ""))

    def primary_care(self, visit_id: str) -> dict[str, Any] | None:
        """The patient's own doctor as told at check-in or eCheck-in (None: not told)."""
        with self._sessions() as s:
            intake = s.get(IntakeRow, visit_id)
            if intake is not None:
                return dict(intake.primary_care) if intake.primary_care else None
            echeckin = s.get(ECheckInRow, visit_id)
            told = (echeckin.forms or {}).get("primary_care") if echeckin else None
            return dict(told) if isinstance(told, dict) else None

    def signed_summary(self, visit_id: str) -> tuple[str, datetime] | None:
        """The after-visit summary of a signed visit, and when it was signed."""
        with self._sessions() as s:
            note = s.get(NoteRow, visit_id)
            return None if note is None else (note.summary, note.signed_at)

    def visit_states(self, visit_id: str) -> list[VisitState]:
        """The states the visit has been in, in order (its kept transitions)."""
        with self._sessions() as s:
            rows = s.scalars(select(VisitTransitionRow.to_state)
                             .where(VisitTransitionRow.visit_id == visit_id)
                             .order_by(VisitTransitionRow.id)).all()
        return [VisitState(r) for r in rows]

    def chosen_pharmacy_id(self, visit_id: str) -> str:
        """The pharmacy the patient chose: at check-in, or at a scheduled visit's eCheck-in."""
        with self._sessions() as s:
            intake = s.get(IntakeRow, visit_id)
            if intake is not None and intake.pharmacy_id:
                return str(intake.pharmacy_id)
            echeckin = s.get(ECheckInRow, visit_id)
            return str((echeckin.forms or {}).get("pharmacy_id", "")) if echeckin else ""

    def echeckin(self, visit_id: str) -> tuple[dict[str, str], dict[str, str]] | None:
        with self._sessions() as s:
            row = s.get(ECheckInRow, visit_id)
            return (dict(row.forms), dict(row.insurance)) if row else None

    def schedule(self, service_lines: Sequence[str], start: datetime,
                 end: datetime) -> list[ScheduleItem]:
        with self._sessions() as s:
            rows = s.execute(
                select(VisitRow, PatientRow)
                .join(PatientRow, PatientRow.id == VisitRow.patient_id)
                .where(VisitRow.kind == VisitKind.SCHEDULED.value,
                       VisitRow.service_line.in_(service_lines),
                       VisitRow.scheduled_for >= start, VisitRow.scheduled_for < end)
                .order_by(VisitRow.scheduled_for)
            ).all()
            return [ScheduleItem(to_visit(v), f"{p.given_name} {p.family_name}") for v, p in rows]

    def open_visits(self, provider_id: str) -> list[ScheduleItem]:
        """The provider's claimed visits whose note is not signed yet, longest-held first."""
        with self._sessions() as s:
            rows = s.execute(
                select(VisitRow, PatientRow)
                .join(PatientRow, PatientRow.id == VisitRow.patient_id)
                .where(VisitRow.provider_id == provider_id,
                       VisitRow.state.in_([state.value for state in OPEN_STATES]))
                .order_by(VisitRow.waiting_since, VisitRow.created_at)
            ).all()
            return [ScheduleItem(to_visit(v), f"{p.given_name} {p.family_name}") for v, p in rows]

    def transitions(self, visit_id: str) -> list[tuple[str | None, str, datetime, str]]:
        with self._sessions() as s:
            rows = s.scalars(select(VisitTransitionRow)
                             .where(VisitTransitionRow.visit_id == visit_id)
                             .order_by(VisitTransitionRow.id))
            return [(r.from_state, r.to_state, r.at, r.actor) for r in rows]


def move_visit(s: Session, visit_id: str, target: VisitState, now: datetime, actor: str) -> None:
    """Move a visit inside the caller's transaction, or raise :class:`IllegalTransition`."""
    row = s.get(VisitRow, visit_id)
    assert row is not None
    current = VisitState(row.state)
    check_transition(current, target)
    values: dict[str, Any] = {"state": target.value}
    if target is VisitState.WAITING:
        values["waiting_since"] = row.waiting_since or now
        values["provider_id"] = None
    if target in TERMINAL_STATES:
        values["ended_at"] = now
    # The state in the WHERE clause makes the move safe against a concurrent writer.
    result = s.execute(
        update(VisitRow)
        .where(VisitRow.id == visit_id, VisitRow.state == current.value)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(current, target)
    s.add(transition_row(visit_id, current, target, now, actor))


def day_bounds(day: date, zone: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return start, start + timedelta(days=1)
