"""Queue entries for widget tests, waiting a given time before the test clock's now."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tests.ui.conftest import NOW
from workstation.core.queue import QueueEntry


def waiting(visit_id: str, *, minutes: float = 0, seconds: float = 0, now: datetime = NOW,
            **overrides: Any) -> QueueEntry:
    entry = QueueEntry(
        visit_id=visit_id, kind="on_demand", service_line="urgent_care",
        condition="sore_throat", condition_name="Sore throat", age=34, sex="female",
        waiting_since=now - timedelta(minutes=minutes, seconds=seconds),
        payment_status="paid", echeckin_complete=False, e_visit=False, state="waiting")
    return replace(entry, **overrides)
