"""Audit records: who did what to which patient's data, when, and how it ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AuditOutcome(enum.StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str  # "provider:<id>", "patient:<visit id>", "system"
    action: str  # e.g. "visit.claim", "chart.open", "checkin.submit"
    outcome: AuditOutcome
    patient_id: str | None = None
    visit_id: str | None = None
    detail: str = ""  # never patient data; codes and reasons only
