"""What the patient tells us at check-in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Intake:
    visit_id: str
    symptoms: str
    onset: str
    allergies: str
    medications: str
    red_flags: Mapping[str, bool]
    consent_telehealth: bool
    callback_phone: str
    pharmacy_id: str
    patient_location_state: str
    extra: Mapping[str, str] = field(default_factory=dict)
    # The patient's own doctor and permission to share (see core.primary_care.PrimaryCare).
    primary_care: Mapping[str, Any] | None = None


CONSENT_TEXT = (
    "I understand that a video visit has limits: the provider cannot examine me in person; "
    "the equipment can fail, and poor transmission or image quality can keep the provider "
    "from seeing or hearing enough, so the visit may have to end or continue another way; the "
    "provider may not be able to diagnose or treat every problem, and may direct me to "
    "in-person or emergency care. The visit fee is charged even if I am redirected. This "
    "service is not for emergencies. The visit is private and is not recorded."
)
