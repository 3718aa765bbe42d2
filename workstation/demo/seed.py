"""Demo data for trainers: a demo provider, today's appointments and a few waiting patients.

Everyone here is fictitious. The demo database is a separate file from the real one.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from workstation.core.intake import Intake
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Address, Patient, Provider, Sex
from workstation.core.site import SiteConfig
from workstation.core.visit import Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.hub.auth import hash_password
from workstation.storage.store import VisitStore

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"

# (given, family, date of birth, sex, condition, minutes waiting, symptoms)
WAITING = [
    ("Avery", "Lindqvist", date(1991, 6, 2), Sex.FEMALE, "sore_throat", 17,
     "Sore throat and fever since yesterday"),
    ("Dana", "Whitfield", date(1984, 7, 19), Sex.FEMALE, "cough", 26,
     "Dry cough for a week, no fever (E-Visit questionnaire)"),
    ("Marcus", "Okafor", date(1978, 1, 23), Sex.MALE, "sinus_problems", 8,
     "Facial pressure and congestion for ten days"),
    ("Priya", "Raman", date(2001, 9, 14), Sex.FEMALE, "painful_urination", 3,
     "Burning on urination since this morning"),
]
# (given, family, date of birth, sex, service line, condition, hours from now, eCheck-in done)
APPOINTMENTS = [
    ("Helen", "Marsh", date(1956, 4, 30), Sex.FEMALE, "specialty_care", "follow_up", 0.25, True),
    ("Tomás", "Ibarra", date(1969, 11, 5), Sex.MALE, "specialty_care", "follow_up", 1.5, False),
    ("June", "Nakamura", date(1988, 2, 17), Sex.FEMALE, "urgent_care", "wound_check", 3, True),
]


# Allergies told at check-in, by given name (the rest say "None known").
ALLERGIES = {"Avery": "Penicillin (rash)"}
# Avery came before: her record shows that visit and its signed note.
EARLIER_VISIT: dict[str, dict[str, Any]] = {
    "diagnosis": {"diagnoses": [{"code": "J06.9", "primary": True,
                                 "description": "Acute upper respiratory infection, unspecified"}]},
    "plan": {"plan": "Supportive care for a viral cold.",
             "patient_instructions": "Rest, fluids, saline rinses; honey for the cough.",
             "follow_up": "Your own doctor if not better in 10 days.",
             "return_precautions": "Trouble breathing, fever over 39 °C, or getting worse.",
             "work_note": ""},
    "disposition": {"disposition": "treated", "identity_confirmed": True},
}


def _patient(given: str, family: str, dob: date, sex: Sex) -> Patient:
    return Patient(str(uuid.uuid4()), given, family, dob, sex, "512-555-0199",
                   f"{given.lower()}@example.org", Address("1 Demo Way", "Austin", "TX", "78701"))


def seed(store: VisitStore, config: SiteConfig, now: datetime | None = None) -> dict[str, str]:
    """Fill an empty demo database; returns the links of the seeded visits by patient name."""
    now = now or datetime.now(UTC)
    if store.provider_count() == 0:
        store.add_provider(
            Provider(str(uuid.uuid4()), DEMO_USERNAME, "Dr. Demo Trainer",
                     tuple(s.code for s in config.service_lines), "1234567893"),
            hash_password(DEMO_PASSWORD), now)
    links: dict[str, str] = {}
    _earlier_visit(store, config, _patient("Avery", "Lindqvist", date(1991, 6, 2), Sex.FEMALE),
                   now - timedelta(days=92))
    for given, family, dob, sex, condition, minutes, symptoms in WAITING:
        patient = _patient(given, family, dob, sex)
        created = now - timedelta(minutes=minutes)
        kind = VisitKind.E_VISIT if "E-Visit" in symptoms else VisitKind.ON_DEMAND
        visit = Visit(str(uuid.uuid4()), kind, VisitState.CHECKING_IN,
                      patient.id, "urgent_care", condition, created,
                      link_expires_at=now + timedelta(hours=config.link_lifetime_hours))
        token = new_token()
        store.create_visit(
            patient=patient, visit=visit, link_token=token,
            intake=Intake(visit.id, symptoms, "1 day", ALLERGIES.get(given, "None known"),
                          "None", {}, True, patient.phone, "4410011", "TX"),
            payment=Payment(str(uuid.uuid4()), visit.id, PaymentMethod.CARD, "4242",
                            config.fee, config.currency, PaymentStatus.PAID, "demo", created),
            actor="demo", initial_state=VisitState.WAITING)
        links[f"{given} {family}"] = token
    for given, family, dob, sex, line, condition, hours, done in APPOINTMENTS:
        patient = _patient(given, family, dob, sex)
        when = now + timedelta(hours=hours)
        visit = Visit(str(uuid.uuid4()), VisitKind.SCHEDULED, VisitState.CHECKING_IN,
                      patient.id, line, condition, now, scheduled_for=when,
                      link_expires_at=when + timedelta(hours=config.link_lifetime_hours))
        token = new_token()
        store.create_visit(patient=patient, visit=visit, link_token=token,
                           copay=Decimal("25.00"), actor="demo")
        if done:
            store.complete_echeckin(
                visit.id, forms={"reason": "Follow-up", "allergies": "", "medications": "",
                                  "pharmacy_id": "4410011"},
                insurance={"payer": "Demo Health Plan", "member_id": "DEMO123",
                           "group_number": "", "subscriber_name": f"{given} {family}"},
                payment=Payment(str(uuid.uuid4()), visit.id, PaymentMethod.HSA, "4242",
                                Decimal("25.00"), config.currency, PaymentStatus.PAID, "demo",
                                now),
                now=now, actor="demo")
        links[f"{given} {family}"] = token
    return links


def _earlier_visit(store: VisitStore, config: SiteConfig, patient: Patient,
                   when: datetime) -> None:
    """A visit months ago, claimed and signed by the demo provider."""
    from workstation.core.charting import after_visit_summary, long_date, note_from_drafts
    from workstation.storage.charts import ChartStore

    account = store.provider_account(DEMO_USERNAME)
    assert account is not None
    visit = Visit(str(uuid.uuid4()), VisitKind.ON_DEMAND, VisitState.CHECKING_IN, patient.id,
                  "urgent_care", "cold_flu", when,
                  link_expires_at=when + timedelta(hours=config.link_lifetime_hours))
    store.create_visit(
        patient=patient, visit=visit, link_token=new_token(),
        intake=Intake(visit.id, "Runny nose and cough for three days", "3 days",
                      ALLERGIES["Avery"], "None", {}, True, patient.phone, "4410011", "TX"),
        payment=Payment(str(uuid.uuid4()), visit.id, PaymentMethod.CARD, "4242", config.fee,
                        config.currency, PaymentStatus.PAID, "demo", when),
        actor="demo", initial_state=VisitState.WAITING)
    store.claim(visit.id, account.provider.id, when + timedelta(minutes=6))
    note = note_from_drafts(EARLIER_VISIT)
    summary = after_visit_summary(
        note, condition_name="Cold / flu", provider_name=account.provider.display_name,
        site_name=config.site_name, visit_date=long_date(when.date()), fee_note="")
    ChartStore(store).sign(visit.id, note, summary, provider_id=account.provider.id,
                           now=when + timedelta(minutes=18))


DEMO_CLINIC = Address("500 Training Way", "Austin", "TX", "78702")
DEMO_CLINIC_PHONE = "512-555-0100"


def demo_site(config: SiteConfig) -> SiteConfig:
    """The site as the demo hub runs it: a practice address and phone for prescriptions when
    the site settings give none (a real site sets its own; the pre-send check names them)."""
    if config.clinic_address is not None and config.clinic_phone:
        return config
    return replace(config, clinic_address=config.clinic_address or DEMO_CLINIC,
                   clinic_phone=config.clinic_phone or DEMO_CLINIC_PHONE)
