"""Visits and the state machine they move through.

The allowed transitions are listed explicitly; anything else raises
:class:`IllegalTransition` and leaves the visit untouched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal


class VisitKind(enum.StrEnum):
    ON_DEMAND = "on_demand"
    SCHEDULED = "scheduled"
    E_VISIT = "e_visit"


class VisitState(enum.StrEnum):
    CHECKING_IN = "checking_in"
    WAITING = "waiting"
    CLAIMED = "claimed"
    IN_CALL = "in_call"
    RECONNECTING = "reconnecting"
    DOCUMENTING = "documenting"
    SIGNED = "signed"
    REDIRECTED = "redirected"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


S = VisitState

ALLOWED_TRANSITIONS: dict[VisitState, frozenset[VisitState]] = {
    S.CHECKING_IN: frozenset({S.WAITING, S.CANCELLED, S.EXPIRED}),
    S.WAITING: frozenset({S.CLAIMED, S.REDIRECTED, S.CANCELLED, S.NO_SHOW, S.EXPIRED}),
    # A provider may hand a claimed patient back to the queue.
    S.CLAIMED: frozenset(
        {S.WAITING, S.IN_CALL, S.DOCUMENTING, S.REDIRECTED, S.CANCELLED, S.NO_SHOW, S.EXPIRED}
    ),
    S.IN_CALL: frozenset({S.RECONNECTING, S.DOCUMENTING}),
    S.RECONNECTING: frozenset({S.IN_CALL, S.DOCUMENTING}),
    # The note is signed with its disposition: treated or sent to the ED (signed), redirected
    # to in-person care, or, when the patient never joined or called it off, no-show/cancelled.
    # "Call again" after End goes back in call.
    S.DOCUMENTING: frozenset({S.IN_CALL, S.SIGNED, S.REDIRECTED, S.NO_SHOW, S.CANCELLED}),
    S.SIGNED: frozenset(),
    S.REDIRECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.EXPIRED: frozenset(),
}

TERMINAL_STATES = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
# States in which a patient is in the on-demand queue.
QUEUED_STATES = frozenset({S.WAITING})
# States in which the visit link still opens something for the patient.
LIVE_STATES = frozenset(VisitState) - TERMINAL_STATES


class IllegalTransition(ValueError):
    """A visit was asked to move to a state its current state does not lead to."""

    def __init__(self, current: VisitState, target: VisitState) -> None:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none (the visit has ended)"
        super().__init__(
            f"A visit that is {current.value} cannot become {target.value}; allowed: {allowed}."
        )
        self.current = current
        self.target = target


def can_transition(current: VisitState, target: VisitState) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def check_transition(current: VisitState, target: VisitState) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)


@dataclass(frozen=True)
class Visit:
    """One visit of one patient, on demand, scheduled, or an E-Visit."""

    id: str
    kind: VisitKind
    state: VisitState
    patient_id: str
    service_line: str
    condition: str
    created_at: datetime
    waiting_since: datetime | None = None
    provider_id: str | None = None
    scheduled_for: datetime | None = None
    echeckin_complete: bool = False
    link_expires_at: datetime | None = None
    copay: Decimal | None = None

    def moved_to(self, target: VisitState) -> Visit:
        """Return this visit in ``target`` state, or raise :class:`IllegalTransition`."""
        check_transition(self.state, target)
        return replace(self, state=target)


def call_failed(kind: VisitKind, states: list[VisitState]) -> bool:
    """Whether a visit's video call never connected, or dropped and never came back, given
    the states the visit has been in, in order. An E-Visit has no call to fail."""
    if kind is VisitKind.E_VISIT:
        return False
    calls = [s for s in states if s in (VisitState.IN_CALL, VisitState.RECONNECTING)]
    return not calls or calls[-1] is VisitState.RECONNECTING
