"""The visit state machine: what a visit may become, and what it never may."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from workstation.core.visit import (
    ALLOWED_TRANSITIONS,
    LIVE_STATES,
    TERMINAL_STATES,
    IllegalTransition,
    Visit,
    VisitKind,
    VisitState,
    can_transition,
)

S = VisitState

# Written out by hand from the product rules, not derived from ALLOWED_TRANSITIONS, so a change
# to the table that nobody meant shows up here.
LEGAL = {
    (S.CHECKING_IN, S.WAITING), (S.CHECKING_IN, S.CANCELLED), (S.CHECKING_IN, S.EXPIRED),
    (S.WAITING, S.CLAIMED), (S.WAITING, S.REDIRECTED), (S.WAITING, S.CANCELLED),
    (S.WAITING, S.NO_SHOW), (S.WAITING, S.EXPIRED),
    (S.CLAIMED, S.WAITING), (S.CLAIMED, S.IN_CALL), (S.CLAIMED, S.DOCUMENTING),
    (S.CLAIMED, S.REDIRECTED), (S.CLAIMED, S.CANCELLED), (S.CLAIMED, S.NO_SHOW),
    (S.CLAIMED, S.EXPIRED),
    (S.IN_CALL, S.RECONNECTING), (S.IN_CALL, S.DOCUMENTING),
    (S.RECONNECTING, S.IN_CALL), (S.RECONNECTING, S.DOCUMENTING),
    (S.DOCUMENTING, S.IN_CALL), (S.DOCUMENTING, S.SIGNED), (S.DOCUMENTING, S.REDIRECTED),
    (S.DOCUMENTING, S.NO_SHOW), (S.DOCUMENTING, S.CANCELLED),
}
ENDINGS = {S.SIGNED, S.REDIRECTED, S.CANCELLED, S.NO_SHOW, S.EXPIRED}
ILLEGAL = sorted(set(product(VisitState, VisitState)) - LEGAL)


def visit_in(state: VisitState) -> Visit:
    return Visit(id="v-1", kind=VisitKind.ON_DEMAND, state=state, patient_id="p-1",
                 service_line="urgent_care", condition="sore_throat",
                 created_at=datetime(2026, 11, 24, 16, 0, tzinfo=UTC), provider_id="dr-1")


def test_the_table_matches_the_product_rules():
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == LEGAL
    assert set(ALLOWED_TRANSITIONS) == set(VisitState)


def test_every_pair_is_covered_exactly_once():
    assert len(LEGAL) + len(ILLEGAL) == len(VisitState) ** 2
    assert len(ILLEGAL) == 121 - 24


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL), ids=lambda s: s.value)
def test_legal_move_changes_only_the_state(current: VisitState, target: VisitState):
    before = visit_in(current)

    after = before.moved_to(target)

    assert after.state is target
    assert after == visit_in(target)
    assert before.state is current
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: s.value)
def test_illegal_move_is_refused_and_names_both_states(current: VisitState, target: VisitState):
    before = visit_in(current)

    with pytest.raises(IllegalTransition) as caught:
        before.moved_to(target)

    message = str(caught.value)
    assert f"is {current.value}" in message
    assert f"cannot become {target.value}" in message
    assert (caught.value.current, caught.value.target) == (current, target)
    assert before == visit_in(current)
    assert not can_transition(current, target)


def test_illegal_transition_is_a_value_error_callers_can_catch():
    with pytest.raises(ValueError, match="signed cannot become waiting"):
        visit_in(S.SIGNED).moved_to(S.WAITING)


def test_the_message_lists_where_the_visit_could_go():
    with pytest.raises(IllegalTransition) as caught:
        visit_in(S.IN_CALL).moved_to(S.WAITING)
    assert "allowed: documenting, reconnecting." in str(caught.value)


@pytest.mark.parametrize("state", sorted(ENDINGS), ids=str)
def test_a_visit_that_has_ended_goes_nowhere(state: VisitState):
    assert state in TERMINAL_STATES
    assert state not in LIVE_STATES
    for target in VisitState:
        with pytest.raises(IllegalTransition, match="none \\(the visit has ended\\)"):
            visit_in(state).moved_to(target)


def test_terminal_and_live_states_split_the_states():
    assert TERMINAL_STATES == ENDINGS
    assert frozenset(VisitState) - ENDINGS == LIVE_STATES


def test_no_state_moves_to_itself():
    for state in VisitState:
        assert not can_transition(state, state)


def test_every_live_state_can_reach_an_ending():
    reachable = {S.CHECKING_IN}
    frontier = [S.CHECKING_IN]
    while frontier:
        for target in ALLOWED_TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(VisitState)
    for state in LIVE_STATES:
        seen, stack = {state}, [state]
        while stack:
            for target in ALLOWED_TRANSITIONS[stack.pop()] - seen:
                seen.add(target)
                stack.append(target)
        assert seen & ENDINGS, f"{state} can never end"
