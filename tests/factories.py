"""Sample patients, visits and check-in bodies for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from workstation.core.eligibility import RED_FLAGS
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Address, Patient, Sex
from workstation.core.visit import Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.storage.store import VisitStore

VALID_CARD = "4111111111111111"


def patient(**overrides: Any) -> Patient:
    values: dict[str, Any] = dict(
        id=str(uuid.uuid4()), given_name="Rosalind", family_name="Quartermaine",
        date_of_birth=date(1985, 3, 14), sex=Sex.FEMALE, phone="512-555-0142",
        email="rq@example.org", address=Address("12 Elm St", "Austin", "TX", "78701"),
    )
    values.update(overrides)
    return Patient(**values)


def waiting_visit(store: VisitStore, *, now: datetime | None = None,
                  service_line: str = "urgent_care", condition: str = "sore_throat",
                  p: Patient | None = None) -> tuple[Visit, str]:
    """A paid on-demand visit in the queue; returns it with its link token."""
    now = now or datetime.now(UTC)
    p = p or patient()
    visit_id = str(uuid.uuid4())
    token = new_token()
    visit = Visit(id=visit_id, kind=VisitKind.ON_DEMAND, state=VisitState.CHECKING_IN,
                  patient_id=p.id, service_line=service_line, condition=condition,
                  created_at=now, link_expires_at=now + timedelta(hours=24))
    payment = Payment(str(uuid.uuid4()), visit_id, PaymentMethod.CARD, "1111",
                      Decimal("49.00"), "USD", PaymentStatus.PAID, "test-ref", now)
    created = store.create_visit(patient=p, visit=visit, link_token=token, payment=payment,
                                 actor="test", initial_state=VisitState.WAITING)
    return created, token


def checkin_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": {
            "given_name": "Rosalind", "family_name": "Quartermaine",
            "date_of_birth": "1985-03-14", "sex": "female", "phone": "512-555-0142",
            "email": "rq@example.org",
            "address": {"line1": "12 Elm St", "line2": "", "city": "Austin", "state": "TX",
                        "postal_code": "78701"},
        },
        "condition": "sore_throat",
        "mode": "video",
        "symptoms": "Sore throat and fever for two days",
        "onset": "2 days ago",
        "allergies": "Penicillin (hives)",
        "medications": "None",
        "red_flags": {f.code: False for f in RED_FLAGS},
        "consent_telehealth": True,
        "callback_phone": "512-555-0142",
        "pharmacy_id": "4410011",
        "location_state": "TX",
        "payment": {"method": "card", "number": VALID_CARD, "expiry_month": 12,
                    "expiry_year": 2030, "holder": "Rosalind Quartermaine"},
    }
    body.update(overrides)
    return body
