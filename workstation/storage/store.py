"""The repository: every read and write of visits, patients, providers and audit records.

Methods are synchronous and each runs in one transaction, so nothing is ever half-written;
async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.intake import Intake
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Address, Patient, Provider, Sex, age_on, same_person
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
from workstation.storage.orm import (
    AuditRow,
    ECheckInRow,
    IntakeRow,
    PatientRow,
    PaymentRow,
    ProviderRow,
    ProviderSessionRow,
    VisitRow,
    VisitTransitionRow,
)


class UsernameTaken(ValueError):
    """Another provider already has this username."""


class VisitNotFound(LookupError):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class ProviderAccount:
    provider: Provider
    password_hash: str
    active: bool


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


class VisitStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """For the other repositories of this package, sharing the engine."""
        return self._sessions

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

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
    ) -> Visit:
        """Write patient, visit, intake and payment in one transaction; audit it."""
        with self._sessions.begin() as s:
            known = next((r for r in s.scalars(select(PatientRow).where(
                PatientRow.date_of_birth == patient.date_of_birth))
                if same_person(_patient(r), patient)), None)
            if known is None:
                s.add(_patient_row(patient))
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
            s.add(_transition(visit.id, None, VisitState.CHECKING_IN, visit.created_at, actor))
            if intake is not None:
                s.add(_intake_row(intake))
            if payment is not None:
                s.add(_payment_row(payment, "visit_fee"))
            s.flush()
            if initial_state is not None and initial_state is not VisitState.CHECKING_IN:
                move_visit(s, visit.id, initial_state, visit.created_at, actor)
            s.add(_audit_row(AuditEvent(visit.created_at, actor, "visit.create",
                                        AuditOutcome.SUCCESS, patient.id, visit.id, visit.kind)))
            row = s.get(VisitRow, visit.id)
            assert row is not None
            return _visit(row)

    def visit(self, visit_id: str) -> Visit:
        with self._sessions() as s:
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            return _visit(row)

    def visit_detail_by_token(self, token: str, now: datetime) -> VisitDetail | None:
        """The live visit a link opens, or None when unknown, expired or ended."""
        with self._sessions() as s:
            row = s.scalars(
                select(VisitRow).where(VisitRow.link_digest == token_digest(token))
            ).one_or_none()
            if row is None or row.link_expires_at <= now:
                return None
            if VisitState(row.state) in TERMINAL_STATES:
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
        return VisitDetail(_visit(row), _patient(patient), provider_name)

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
            s.add(_audit_row(AuditEvent(now, actor, f"visit.{target.value}",
                                        AuditOutcome.SUCCESS, row.patient_id, visit_id)))
            s.refresh(row)
            return _visit(row)

    def claim(self, visit_id: str, provider_id: str, now: datetime) -> Visit | None:
        """Claim one waiting visit; None when another provider got there first."""
        with self._sessions.begin() as s:
            won = self._try_claim(s, visit_id, provider_id, now)
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            s.add(_audit_row(AuditEvent(
                now, f"provider:{provider_id}", "visit.claim",
                AuditOutcome.SUCCESS if won else AuditOutcome.DENIED, row.patient_id, visit_id,
                "" if won else "already claimed or no longer waiting")))
            return _visit(row) if won else None

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
                    s.add(_audit_row(AuditEvent(now, f"provider:{provider_id}", "visit.claim",
                                                AuditOutcome.SUCCESS, row.patient_id, visit_id)))
                    return _visit(row)
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
        s.add(_transition(visit_id, VisitState.WAITING, VisitState.CLAIMED, now,
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
        return [_queue_entry(v, p, now, condition_name, v.id in paid) for v, p in rows]

    def queue_entry(self, visit_id: str, now: datetime,
                    condition_name: Callable[[str], str] = str) -> QueueEntry:
        with self._sessions() as s:
            row = s.get(VisitRow, visit_id)
            if row is None:
                raise VisitNotFound(visit_id)
            patient = s.get(PatientRow, row.patient_id)
            assert patient is not None
            paid = self._paid_visits(s, [visit_id])
            return _queue_entry(row, patient, now, condition_name, visit_id in paid)

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
        with self._sessions() as s:
            ahead = s.scalar(
                select(func.count())
                .select_from(VisitRow)
                .where(VisitRow.state == VisitState.WAITING.value,
                       VisitRow.service_line == visit.service_line,
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
            return [_visit(r) for r in s.scalars(query.order_by(VisitRow.waiting_since))]

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
            return [_visit(r) for r in rows]

    def intake(self, visit_id: str) -> Intake | None:
        with self._sessions() as s:
            row = s.get(IntakeRow, visit_id)
            return _intake(row) if row else None

    def payments(self, visit_id: str) -> list[Payment]:
        with self._sessions() as s:
            rows = s.scalars(select(PaymentRow).where(PaymentRow.visit_id == visit_id))
            return [_payment(r) for r in rows]

    # -- scheduled visits ------------------------------------------------------------------

    def complete_echeckin(
        self, visit_id: str, *, forms: dict[str, str], insurance: dict[str, str],
        payment: Payment | None, now: datetime, actor: str,
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
                s.add(_payment_row(payment, "copay"))
            row.echeckin_complete = True
            s.add(_audit_row(AuditEvent(now, actor, "echeckin.complete", AuditOutcome.SUCCESS,
                                        row.patient_id, visit_id)))
            s.flush()
            return _visit(row)

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
            return [ScheduleItem(_visit(v), f"{p.given_name} {p.family_name}") for v, p in rows]

    # -- providers and sessions --------------------------------------------------------------

    def add_provider(self, provider: Provider, password_hash: str, now: datetime) -> Provider:
        try:
            with self._sessions.begin() as s:
                s.add(ProviderRow(
                    id=provider.id, username=provider.username,
                    display_name=provider.display_name, password_hash=password_hash,
                    service_lines=list(provider.service_lines), npi=provider.npi, active=True,
                    created_at=now))
                s.add(_audit_row(AuditEvent(now, "system", "provider.create",
                                            AuditOutcome.SUCCESS, detail=provider.id)))
        except IntegrityError as exc:
            raise UsernameTaken(f"The username {provider.username!r} is taken.") from exc
        return provider

    def provider_count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(ProviderRow)) or 0)

    def provider_account(self, username: str) -> ProviderAccount | None:
        with self._sessions() as s:
            row = s.scalars(
                select(ProviderRow).where(ProviderRow.username == username)
            ).one_or_none()
            return ProviderAccount(_provider(row), row.password_hash, row.active) if row else None

    def provider(self, provider_id: str) -> Provider | None:
        with self._sessions() as s:
            row = s.get(ProviderRow, provider_id)
            return _provider(row) if row else None

    def update_password_hash(self, provider_id: str, password_hash: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(ProviderRow, provider_id)
            if row is not None:
                row.password_hash = password_hash

    def create_session(self, provider_id: str, token: str, now: datetime,
                       lifetime: timedelta, *, kind: str = "access") -> datetime:
        expires = now + lifetime
        with self._sessions.begin() as s:
            s.add(ProviderSessionRow(token_digest=token_digest(token), provider_id=provider_id,
                                     created_at=now, expires_at=expires, revoked=False,
                                     kind=kind))
        return expires

    def use_refresh_token(self, token: str, now: datetime) -> Provider | None:
        """Spend a "remember me" token: valid once; the caller issues the next one."""
        with self._sessions.begin() as s:
            result = s.execute(
                update(ProviderSessionRow)
                .where(ProviderSessionRow.token_digest == token_digest(token),
                       ProviderSessionRow.kind == "refresh",
                       ProviderSessionRow.revoked.is_(False),
                       ProviderSessionRow.expires_at > now)
                .values(revoked=True))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = s.get(ProviderSessionRow, token_digest(token))
            assert row is not None
            provider = s.get(ProviderRow, row.provider_id)
            if provider is None or not provider.active:
                return None
            return _provider(provider)

    def session_provider(self, token: str, now: datetime) -> Provider | None:
        with self._sessions() as s:
            row = s.get(ProviderSessionRow, token_digest(token))
            if row is None or row.revoked or row.expires_at <= now or row.kind != "access":
                return None
            provider = s.get(ProviderRow, row.provider_id)
            if provider is None or not provider.active:
                return None
            return _provider(provider)

    def revoke_session(self, token: str, provider_id: str | None = None) -> None:
        """Revoke a token (only one of ``provider_id``'s, when given)."""
        with self._sessions.begin() as s:
            row = s.get(ProviderSessionRow, token_digest(token))
            if row is not None and provider_id in (None, row.provider_id):
                row.revoked = True

    # -- audit -------------------------------------------------------------------------------

    def audit(self, event: AuditEvent) -> None:
        with self._sessions.begin() as s:
            s.add(_audit_row(event))

    def audit_events(self, *, visit_id: str | None = None,
                     patient_id: str | None = None) -> list[AuditEvent]:
        with self._sessions() as s:
            query = select(AuditRow).order_by(AuditRow.id)
            if visit_id is not None:
                query = query.where(AuditRow.visit_id == visit_id)
            if patient_id is not None:
                query = query.where(AuditRow.patient_id == patient_id)
            return [
                AuditEvent(r.at, r.actor, r.action, AuditOutcome(r.outcome), r.patient_id,
                           r.visit_id, r.detail)
                for r in s.scalars(query)
            ]

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
    s.add(_transition(visit_id, current, target, now, actor))


# -- row <-> domain --------------------------------------------------------------------------


def _patient_row(p: Patient) -> PatientRow:
    a = p.address or Address("", "", "", "")
    return PatientRow(
        id=p.id, given_name=p.given_name, family_name=p.family_name,
        date_of_birth=p.date_of_birth, sex=p.sex.value, phone=p.phone, email=p.email,
        address_line1=a.line1, address_line2=a.line2, city=a.city, state=a.state,
        postal_code=a.postal_code, created_at=datetime.now(UTC),
    )


def _patient(r: PatientRow) -> Patient:
    address = (Address(r.address_line1, r.city, r.state, r.postal_code, r.address_line2)
               if r.address_line1 else None)
    return Patient(r.id, r.given_name, r.family_name, r.date_of_birth, Sex(r.sex), r.phone,
                   r.email, address)


def _visit(r: VisitRow) -> Visit:
    return Visit(
        id=r.id, kind=VisitKind(r.kind), state=VisitState(r.state), patient_id=r.patient_id,
        service_line=r.service_line, condition=r.condition, created_at=r.created_at,
        waiting_since=r.waiting_since, provider_id=r.provider_id, scheduled_for=r.scheduled_for,
        echeckin_complete=r.echeckin_complete, link_expires_at=r.link_expires_at,
        copay=from_cents(r.copay_cents) if r.copay_cents is not None else None,
    )


def _provider(r: ProviderRow) -> Provider:
    return Provider(r.id, r.username, r.display_name, tuple(r.service_lines), r.npi)


def _transition(visit_id: str, from_state: VisitState | None, to_state: VisitState,
                at: datetime, actor: str) -> VisitTransitionRow:
    return VisitTransitionRow(visit_id=visit_id,
                              from_state=from_state.value if from_state else None,
                              to_state=to_state.value, at=at, actor=actor)


def _intake_row(i: Intake) -> IntakeRow:
    return IntakeRow(
        visit_id=i.visit_id, symptoms=i.symptoms, onset=i.onset, allergies=i.allergies,
        medications=i.medications, red_flags=dict(i.red_flags),
        consent_telehealth=i.consent_telehealth, callback_phone=i.callback_phone,
        pharmacy_id=i.pharmacy_id, patient_location_state=i.patient_location_state,
        extra=dict(i.extra),
    )


def _intake(r: IntakeRow) -> Intake:
    return Intake(r.visit_id, r.symptoms, r.onset, r.allergies, r.medications,
                  dict(r.red_flags), r.consent_telehealth, r.callback_phone, r.pharmacy_id,
                  r.patient_location_state, dict(r.extra))


def _payment_row(p: Payment, purpose: str) -> PaymentRow:
    return PaymentRow(
        id=p.id, visit_id=p.visit_id, purpose=purpose, method=p.method.value,
        card_last4=p.card_last4, amount_cents=to_cents(p.amount), currency=p.currency,
        status=p.status.value, processor_reference=p.processor_reference, paid_at=p.paid_at,
    )


def _payment(r: PaymentRow) -> Payment:
    return Payment(r.id, r.visit_id, PaymentMethod(r.method), r.card_last4,
                   from_cents(r.amount_cents), r.currency, PaymentStatus(r.status),
                   r.processor_reference, r.paid_at)


def _audit_row(e: AuditEvent) -> AuditRow:
    return AuditRow(at=e.at, actor=e.actor, action=e.action, outcome=e.outcome.value,
                    patient_id=e.patient_id, visit_id=e.visit_id, detail=e.detail)


def _queue_entry(v: VisitRow, p: PatientRow, now: datetime,
                 condition_name: Callable[[str], str], paid: bool) -> QueueEntry:
    return QueueEntry(
        visit_id=v.id, kind=v.kind, service_line=v.service_line, condition=v.condition,
        condition_name=condition_name(v.condition),
        age=age_on(p.date_of_birth, now.date()), sex=p.sex,
        waiting_since=v.waiting_since or v.created_at,
        payment_status=PaymentStatus.PAID.value if paid else PaymentStatus.NOT_DUE.value,
        echeckin_complete=v.echeckin_complete,
        e_visit=v.kind == VisitKind.E_VISIT.value,
        state=v.state,
    )


def day_bounds(day: date, zone: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return start, start + timedelta(days=1)
