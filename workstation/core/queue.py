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
    """A plain estimate: the visits ahead shared among the providers on duty."""
    if position <= 1:
        return 0 if providers_online else minutes_per_visit
    return -(-(position - 1) * minutes_per_visit // max(providers_online, 1))
