"""The waiting room's estimate: whole minutes, never 0, past the promise called what it is."""

from __future__ import annotations

from workstation.core.queue import busier_than_usual, estimated_wait_minutes


def test_next_in_line_with_a_provider_on_duty_waits_about_a_minute_not_zero():
    assert estimated_wait_minutes(1, providers_online=1, minutes_per_visit=12) == 1


def test_the_visits_ahead_are_shared_among_the_providers_on_duty():
    assert estimated_wait_minutes(3, providers_online=1, minutes_per_visit=12) == 24
    assert estimated_wait_minutes(3, providers_online=2, minutes_per_visit=12) == 12


def test_with_nobody_on_duty_one_visit_s_time_is_added():
    assert estimated_wait_minutes(1, providers_online=0, minutes_per_visit=12) == 12
    assert estimated_wait_minutes(4, providers_online=0, minutes_per_visit=12) == 48


def test_past_the_promise_is_busier_than_usual():
    assert not busier_than_usual(20, promised_minutes=20)
    assert busier_than_usual(21, promised_minutes=20)
