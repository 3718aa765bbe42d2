"""Demo data for trainers: a demo provider, today's appointments and a few waiting patients.

Everyone here is fictitious. The demo database is a separate file from the real one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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
    for given, family, dob, sex, condition, minutes, symptoms in WAITING:
        patient = _patient(given, family, dob, sex)
        created = now - timedelta(minutes=minutes)
        visit = Visit(str(uuid.uuid4()), VisitKind.ON_DEMAND, VisitState.CHECKING_IN,
                      patient.id, "urgent_care", condition, created,
                      link_expires_at=now + timedelta(hours=config.link_lifetime_hours))
        token = new_token()
        store.create_visit(
            patient=patient, visit=visit, link_token=token,
            intake=Intake(visit.id, symptoms, "1 day", "None known", "None", {}, True,
                          patient.phone, "4410011", "TX"),
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
                visit.id, forms={"reason": "Follow-up", "allergies": "", "medications": ""},
                insurance={"payer": "Demo Health Plan", "member_id": "DEMO123",
                           "group_number": "", "subscriber_name": f"{given} {family}"},
                payment=Payment(str(uuid.uuid4()), visit.id, PaymentMethod.HSA, "4242",
                                Decimal("25.00"), config.currency, PaymentStatus.PAID, "demo",
                                now),
                now=now, actor="demo")
        links[f"{given} {family}"] = token
    return links
