"""Rows of the database to domain objects and back (money in whole cents)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from workstation.core.audit import AuditEvent
from workstation.core.intake import Intake
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Address, Patient, Provider, Sex, age_on
from workstation.core.queue import QueueEntry
from workstation.core.visit import Visit, VisitKind, VisitState
from workstation.storage.orm import (
    AuditRow,
    IntakeRow,
    PatientRow,
    PaymentRow,
    ProviderRow,
    VisitRow,
    VisitTransitionRow,
)


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def patient_row(p: Patient) -> PatientRow:
    a = p.address or Address("", "", "", "")
    return PatientRow(
        id=p.id, given_name=p.given_name, family_name=p.family_name,
        date_of_birth=p.date_of_birth, sex=p.sex.value, phone=p.phone, email=p.email,
        address_line1=a.line1, address_line2=a.line2, city=a.city, state=a.state,
        postal_code=a.postal_code, created_at=datetime.now(UTC),
    )


def to_patient(r: PatientRow) -> Patient:
    address = (Address(r.address_line1, r.city, r.state, r.postal_code, r.address_line2)
               if r.address_line1 else None)
    return Patient(r.id, r.given_name, r.family_name, r.date_of_birth, Sex(r.sex), r.phone,
                   r.email, address)


def to_visit(r: VisitRow) -> Visit:
    return Visit(
        id=r.id, kind=VisitKind(r.kind), state=VisitState(r.state), patient_id=r.patient_id,
        service_line=r.service_line, condition=r.condition, created_at=r.created_at,
        waiting_since=r.waiting_since, provider_id=r.provider_id, scheduled_for=r.scheduled_for,
        echeckin_complete=r.echeckin_complete, link_expires_at=r.link_expires_at,
        copay=from_cents(r.copay_cents) if r.copay_cents is not None else None,
    )


def to_provider(r: ProviderRow) -> Provider:
    return Provider(r.id, r.username, r.display_name, tuple(r.service_lines), r.npi)


def transition_row(visit_id: str, from_state: VisitState | None, to_state: VisitState,
                at: datetime, actor: str) -> VisitTransitionRow:
    return VisitTransitionRow(visit_id=visit_id,
                              from_state=from_state.value if from_state else None,
                              to_state=to_state.value, at=at, actor=actor)


def intake_row(i: Intake) -> IntakeRow:
    return IntakeRow(
        visit_id=i.visit_id, symptoms=i.symptoms, onset=i.onset, allergies=i.allergies,
        medications=i.medications, red_flags=dict(i.red_flags),
        consent_telehealth=i.consent_telehealth, callback_phone=i.callback_phone,
        pharmacy_id=i.pharmacy_id, patient_location_state=i.patient_location_state,
        extra=dict(i.extra),
        primary_care=dict(i.primary_care) if i.primary_care is not None else None,
    )


def to_intake(r: IntakeRow) -> Intake:
    return Intake(r.visit_id, r.symptoms, r.onset, r.allergies, r.medications,
                  dict(r.red_flags), r.consent_telehealth, r.callback_phone, r.pharmacy_id,
                  r.patient_location_state, dict(r.extra),
                  dict(r.primary_care) if r.primary_care is not None else None)


def payment_row(p: Payment, purpose: str) -> PaymentRow:
    return PaymentRow(
        id=p.id, visit_id=p.visit_id, purpose=purpose, method=p.method.value,
        card_last4=p.card_last4, amount_cents=to_cents(p.amount), currency=p.currency,
        status=p.status.value, processor_reference=p.processor_reference, paid_at=p.paid_at,
    )


def to_payment(r: PaymentRow) -> Payment:
    return Payment(r.id, r.visit_id, PaymentMethod(r.method), r.card_last4,
                   from_cents(r.amount_cents), r.currency, PaymentStatus(r.status),
                   r.processor_reference, r.paid_at)


def audit_row(e: AuditEvent) -> AuditRow:
    return AuditRow(at=e.at, actor=e.actor, action=e.action, outcome=e.outcome.value,
                    patient_id=e.patient_id, visit_id=e.visit_id, detail=e.detail)


def to_queue_entry(v: VisitRow, p: PatientRow, now: datetime,
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
