"""Who may be seen by video right now: age, listed condition, service hours, red flags."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.core.conditions import ConditionList
from workstation.core.eligibility import (
    EMERGENCY_MESSAGE,
    NOT_LISTED_MESSAGE,
    RED_FLAG_CODES,
    RED_FLAGS,
    Outcome,
    check_age,
    check_condition,
    check_eligibility,
    check_hours,
    check_red_flags,
    missing_red_flag_answers,
)
from workstation.core.site import OpeningHours, SiteConfig
from workstation.resource_files import load_resources

CHICAGO = ZoneInfo("America/Chicago")
SITE = SiteConfig()
CONDITIONS: ConditionList = load_resources().conditions
NO_FLAGS = {f.code: False for f in RED_FLAGS}
# Tuesday 24 November 2026, 10:00 in Chicago (CST, UTC-6).
OPEN_NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def decide(*, dob: date = date(1985, 3, 14), condition: str = "sore_throat",
           red_flags: dict[str, bool] | None = None, now: datetime = OPEN_NOW,
           check_open_hours: bool = True):
    return check_eligibility(config=SITE, conditions=CONDITIONS, date_of_birth=dob,
                             condition=condition, red_flags=red_flags or NO_FLAGS, now=now,
                             check_open_hours=check_open_hours)


# -- age ---------------------------------------------------------------------------------------


def test_a_patient_who_is_18_today_is_seen():
    assert decide(dob=date(2008, 11, 24)).outcome is Outcome.ELIGIBLE


def test_a_patient_one_day_short_of_18_is_refused_with_where_to_go():
    decision = decide(dob=date(2008, 11, 25))

    assert decision.outcome is Outcome.TOO_YOUNG
    assert "18 and older" in decision.message
    assert "walk-in care" in decision.message


def test_age_is_counted_on_the_sites_calendar_day_not_utcs():
    # 03:00 UTC on the 24th is still the evening of the 23rd in Chicago: 17 years 364 days.
    evening_before = utc(2026, 11, 24, 3, 0)
    assert evening_before.astimezone(CHICAGO).date() == date(2026, 11, 23)

    decision = decide(dob=date(2008, 11, 24), now=evening_before, check_open_hours=False)

    assert decision.outcome is Outcome.TOO_YOUNG


def test_the_18th_birthday_starts_at_local_midnight():
    just_before = utc(2026, 11, 24, 5, 59)  # 23:59 on the 23rd in Chicago
    midnight = utc(2026, 11, 24, 6, 0)  # 00:00 on the 24th in Chicago

    assert decide(dob=date(2008, 11, 24), now=just_before,
                  check_open_hours=False).outcome is Outcome.TOO_YOUNG
    assert decide(dob=date(2008, 11, 24), now=midnight,
                  check_open_hours=False).outcome is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    ("today", "outcome"),
    [
        (date(2026, 2, 28), Outcome.TOO_YOUNG),
        (date(2026, 3, 1), Outcome.ELIGIBLE),
        (date(2028, 2, 28), Outcome.ELIGIBLE),  # 19 by then, whatever the leap day does
    ],
)
def test_a_leap_day_birthday_turns_18_on_march_1_in_a_common_year(today: date, outcome: Outcome):
    assert check_age(date(2008, 2, 29), today, 18).outcome is outcome


def test_a_leap_day_birthday_that_lands_on_a_leap_year_counts_on_the_day():
    # Born 29 Feb 2012: the 18th birthday, 2030, has no Feb 29, so it is March 1 ...
    assert check_age(date(2012, 2, 29), date(2030, 2, 28), 18).outcome is Outcome.TOO_YOUNG
    assert check_age(date(2012, 2, 29), date(2030, 3, 1), 18).eligible
    # ... but with a minimum age of 16 the birthday, 2028, is a leap year and has the day.
    assert check_age(date(2012, 2, 29), date(2028, 2, 28), 16).outcome is Outcome.TOO_YOUNG
    assert check_age(date(2012, 2, 29), date(2028, 2, 29), 16).eligible


def test_a_leap_day_birthday_uses_the_sites_day_too():
    # 05:30 UTC on March 1 is still February 28 in Chicago.
    assert decide(dob=date(2008, 2, 29), now=utc(2026, 3, 1, 5, 30),
                  check_open_hours=False).outcome is Outcome.TOO_YOUNG
    assert decide(dob=date(2008, 2, 29), now=utc(2026, 3, 1, 6, 0),
                  check_open_hours=False).outcome is Outcome.ELIGIBLE


def test_a_birth_date_in_the_future_is_refused_as_a_typo():
    decision = check_age(date(2030, 1, 1), date(2026, 11, 24), 18)
    assert decision.outcome is Outcome.TOO_YOUNG
    assert "future" in decision.message


def test_the_site_sets_the_minimum_age():
    site = SiteConfig(minimum_age=21)
    decision = check_eligibility(config=site, conditions=CONDITIONS, date_of_birth=date(2006, 1, 1),
                                 condition="sore_throat", red_flags=NO_FLAGS, now=OPEN_NOW)
    assert decision.outcome is Outcome.TOO_YOUNG
    assert "21 and older" in decision.message


# -- hours -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "local", "is_open"),
    [
        # Tuesday 24 Nov 2026, CST (UTC-6)
        (utc(2026, 11, 24, 14, 59), "Tue 08:59", False),
        (utc(2026, 11, 24, 15, 0), "Tue 09:00", True),
        (utc(2026, 11, 24, 23, 59), "Tue 17:59", True),
        (utc(2026, 11, 25, 0, 0), "Tue 18:00", False),
        # Tuesday 14 Jul 2026, CDT (UTC-5): the same wall-clock hours, different UTC instants
        (utc(2026, 7, 14, 13, 59), "Tue 08:59", False),
        (utc(2026, 7, 14, 14, 0), "Tue 09:00", True),
        (utc(2026, 7, 14, 22, 59), "Tue 17:59", True),
        (utc(2026, 7, 14, 23, 0), "Tue 18:00", False),
        # Monday 2 Nov 2026, the first weekday after summer time ended (Sun 1 Nov)
        (utc(2026, 11, 2, 14, 30), "Mon 08:30", False),
        (utc(2026, 11, 2, 15, 0), "Mon 09:00", True),
        # Monday 9 Mar 2026, the first weekday of summer time (began Sun 8 Mar)
        (utc(2026, 3, 9, 13, 59), "Mon 08:59", False),
        (utc(2026, 3, 9, 14, 0), "Mon 09:00", True),
        (utc(2026, 3, 9, 22, 59), "Mon 17:59", True),
        (utc(2026, 3, 9, 23, 0), "Mon 18:00", False),
        # Weekend, in the middle of the day
        (utc(2026, 11, 28, 18, 0), "Sat 12:00", False),
        (utc(2026, 11, 29, 18, 0), "Sun 12:00", False),
        (utc(2026, 3, 8, 18, 0), "Sun 13:00", False),  # the day clocks spring forward
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_service_hours_are_chicago_wall_clock(now: datetime, local: str, is_open: bool):
    assert f"{now.astimezone(CHICAGO):%a %H:%M}" == local  # the case says what it means

    decision = check_hours(SITE, now)

    assert decision.eligible is is_open
    if not is_open:
        assert decision.outcome is Outcome.CLOSED
        assert decision.next_opening is not None


def test_friday_evening_names_monday_morning():
    friday_6pm = utc(2026, 11, 28, 0, 0)  # Friday 27 Nov, 18:00 CST

    decision = check_hours(SITE, friday_6pm)

    assert decision.outcome is Outcome.CLOSED
    assert decision.next_opening == datetime(2026, 11, 30, 9, 0, tzinfo=CHICAGO)
    assert decision.message == (
        "Video visits are closed now. We open again Monday, November 30 at 9:00 AM CST."
    )


def test_next_opening_across_the_spring_forward_weekend_is_9_local():
    friday_6pm = utc(2026, 3, 7, 0, 0)  # Friday 6 Mar, 18:00 CST

    decision = check_hours(SITE, friday_6pm)

    assert decision.next_opening == utc(2026, 3, 9, 14, 0)  # Monday 09:00 CDT
    assert "Monday, March 9 at 9:00 AM CDT" in decision.message


def test_next_opening_across_the_fall_back_weekend_is_9_local():
    saturday = utc(2026, 10, 31, 17, 0)  # Saturday 31 Oct, 12:00 CDT

    decision = check_hours(SITE, saturday)

    assert decision.next_opening == utc(2026, 11, 2, 15, 0)  # Monday 09:00 CST
    assert "Monday, November 2 at 9:00 AM CST" in decision.message


def test_early_on_a_weekday_names_the_same_morning():
    decision = check_hours(SITE, utc(2026, 11, 24, 12, 0))  # Tuesday 06:00 CST
    assert decision.next_opening == datetime(2026, 11, 24, 9, 0, tzinfo=CHICAGO)
    assert "Tuesday, November 24 at 9:00 AM CST" in decision.message


def test_a_site_with_no_hours_says_it_does_not_offer_video():
    site = SiteConfig(hours=OpeningHours({}))
    decision = check_hours(site, OPEN_NOW)
    assert decision.outcome is Outcome.CLOSED
    assert decision.next_opening is None
    assert "not offered" in decision.message


def test_a_naive_time_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="aware"):
        check_hours(SITE, datetime(2026, 11, 24, 10, 0))


def test_closed_is_reported_when_everything_else_is_fine():
    decision = decide(now=utc(2026, 11, 28, 18, 0))
    assert decision.outcome is Outcome.CLOSED
    assert decide(now=utc(2026, 11, 28, 18, 0), check_open_hours=False).eligible


# -- red flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RED_FLAG_CODES))
def test_any_yes_to_a_red_flag_sends_the_patient_to_911(code: str):
    decision = check_red_flags({**NO_FLAGS, code: True})

    assert decision.outcome is Outcome.EMERGENCY
    assert decision.message.startswith(EMERGENCY_MESSAGE)
    assert "Call 911 or go to the nearest emergency department or urgent care facility" \
        in decision.message
    assert ("988" in decision.message) == (code == "suicidal_thoughts")


def test_thoughts_of_self_harm_also_give_the_988_lifeline():
    decision = check_red_flags({**NO_FLAGS, "suicidal_thoughts": True})

    assert "call or text 988 (the Suicide & Crisis Lifeline)" in decision.message
    assert "Call 911" in decision.message


def test_the_consent_names_the_limits_of_video_care():
    from workstation.core.intake import CONSENT_TEXT

    for limit in ("cannot examine me in person", "equipment can fail",
                  "poor transmission or image quality", "not for emergencies", "not recorded"):
        assert limit in CONSENT_TEXT


def test_all_no_is_fine():
    assert check_red_flags(NO_FLAGS).eligible


def test_an_unknown_red_flag_code_is_a_programming_error():
    with pytest.raises(ValueError, match="chest_pian"):
        check_red_flags({**NO_FLAGS, "chest_pian": False})


def test_unanswered_red_flags_are_listed_in_question_order():
    answered = {"chest_pain", "fainting"}
    missing = missing_red_flag_answers(answered)
    assert missing == [f.code for f in RED_FLAGS if f.code not in answered]
    assert missing_red_flag_answers(NO_FLAGS) == []


# -- condition ---------------------------------------------------------------------------------


def test_a_condition_not_on_the_list_points_to_walk_in_care():
    decision = check_condition("broken_leg", CONDITIONS)

    assert decision.outcome is Outcome.NOT_LISTED
    assert decision.message == NOT_LISTED_MESSAGE
    assert "walk-in care" in decision.message


def test_every_listed_condition_is_accepted():
    for condition in CONDITIONS:
        assert check_condition(condition.code, CONDITIONS).eligible


# -- all together ------------------------------------------------------------------------------


def test_an_emergency_wins_over_every_other_reason():
    decision = decide(dob=date(2015, 1, 1), condition="broken_leg",
                      red_flags={**NO_FLAGS, "trouble_breathing": True},
                      now=utc(2026, 11, 29, 3, 0))  # Saturday night, closed
    assert decision.outcome is Outcome.EMERGENCY
    assert "911" in decision.message


def test_age_is_reported_before_condition_and_hours():
    decision = decide(dob=date(2015, 1, 1), condition="broken_leg", now=utc(2026, 11, 29, 3, 0))
    assert decision.outcome is Outcome.TOO_YOUNG


def test_condition_is_reported_before_hours():
    decision = decide(condition="broken_leg", now=utc(2026, 11, 29, 3, 0))
    assert decision.outcome is Outcome.NOT_LISTED


def test_an_adult_with_a_listed_condition_in_hours_is_seen():
    decision = decide()
    assert decision.eligible
    assert decision.message == "You can be seen by video."


def _oracle_open(now: datetime) -> bool:
    local = now.astimezone(CHICAGO)
    return local.weekday() < 5 and 9 <= local.hour < 18


def _oracle_adult(dob: date, now: datetime) -> bool:
    today = now.astimezone(CHICAGO).date()
    try:
        birthday_18 = dob.replace(year=dob.year + 18)
    except ValueError:  # Feb 29 in a year without one
        birthday_18 = date(dob.year + 18, 3, 1)
    return today >= birthday_18


@settings(max_examples=400, deadline=None)
@given(
    dob=st.dates(min_value=date(1900, 1, 1), max_value=date(2040, 12, 31)),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31),
                     timezones=st.just(UTC)),
    condition=st.sampled_from([c.code for c in CONDITIONS] + ["broken_leg", "", "SORE_THROAT"]),
    red_flags=st.dictionaries(st.sampled_from(sorted(RED_FLAG_CODES)), st.booleans()),
)
def test_eligible_exactly_when_all_four_checks_pass(
    dob: date, now: datetime, condition: str, red_flags: dict[str, bool]
):
    decision = check_eligibility(config=SITE, conditions=CONDITIONS, date_of_birth=dob,
                                 condition=condition, red_flags=red_flags, now=now)

    emergency = any(red_flags.values())
    adult = _oracle_adult(dob, now)
    listed = condition in {c.code for c in CONDITIONS}
    is_open = _oracle_open(now)
    assert decision.eligible is (not emergency and adult and listed and is_open)
    if emergency:
        assert decision.outcome is Outcome.EMERGENCY
    elif not adult:
        assert decision.outcome is Outcome.TOO_YOUNG
    elif not listed:
        assert decision.outcome is Outcome.NOT_LISTED
    elif not is_open:
        assert decision.outcome is Outcome.CLOSED
        assert decision.next_opening is not None
        assert decision.next_opening > now
        assert _oracle_open(decision.next_opening)
        assert not _oracle_open(decision.next_opening - timedelta(minutes=1))
