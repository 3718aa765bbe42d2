"""The on-demand queue as providers and waiting patients see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QueueEntry:
    """One waiting visit as a provider sees it in the queue (no name: age, sex, condition)."""

    visit_id: str
    kind: str
    service_line: str
    condition: str
    condition_name: str
    age: int
    sex: str
    waiting_since: datetime
    payment_status: str
    echeckin_complete: bool
    e_visit: bool
    state: str


def estimated_wait_minutes(position: int, providers_online: int, minutes_per_visit: int) -> int:
    """A plain estimate in whole minutes, never 0: the video visits ahead in the patient's own
    line shared among the providers on duty (with nobody on duty, one visit's time more)."""
    ahead = max(position - 1, 0)
    minutes = -(-ahead * minutes_per_visit // max(providers_online, 1))
    if not providers_online:
        minutes += minutes_per_visit
    return max(1, minutes)


def busier_than_usual(minutes: int, promised_minutes: int) -> bool:
    """The estimate is past the promise: the page says so rather than promising it."""
    return minutes > promised_minutes
