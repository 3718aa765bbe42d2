"""Whether a patient may be seen by video now: age, condition, service hours, red flags."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workstation.core.conditions import ConditionList
from workstation.core.people import age_on
from workstation.core.site import OpeningHours, SiteConfig


@dataclass(frozen=True)
class RedFlag:
    code: str
    question: str


RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("chest_pain", "Chest pain or pressure"),
    RedFlag("trouble_breathing", "Trouble breathing or shortness of breath"),
    RedFlag(
        "stroke_signs",
        "Face drooping, arm or leg weakness, trouble speaking, or sudden confusion",
    ),
    RedFlag("severe_bleeding", "Bleeding that will not stop"),
    RedFlag("suicidal_thoughts", "Thoughts of harming yourself or others"),
    RedFlag("fainting", "Fainting or passing out"),
    RedFlag("severe_pain", "Sudden, severe pain"),
    RedFlag("pregnancy_bleeding", "Pregnant with bleeding or severe abdominal pain"),
)
RED_FLAG_CODES = frozenset(f.code for f in RED_FLAGS)

EMERGENCY_MESSAGE = (
    "Your answers suggest you may need emergency care. Call 911 or go to the nearest "
    "emergency department or urgent care facility now. A video visit is not right for this."
)
# Added when the patient answered yes to thoughts of harming themselves or others.
CRISIS_MESSAGE = (
    "If you are thinking about harming yourself, call or text 988 (the Suicide & Crisis "
    "Lifeline) now: it is free, confidential and open day and night."
)
CRISIS_FLAG = "suicidal_thoughts"
NOT_LISTED_MESSAGE = (
    "We can't treat this by video. Please make an appointment with your doctor or visit "
    "walk-in care."
)


class Outcome(enum.StrEnum):
    ELIGIBLE = "eligible"
    TOO_YOUNG = "too_young"
    NOT_LISTED = "not_listed"
    CLOSED = "closed"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    message: str
    next_opening: datetime | None = None

    @property
    def eligible(self) -> bool:
        return self.outcome is Outcome.ELIGIBLE


ELIGIBLE = Decision(Outcome.ELIGIBLE, "You can be seen by video.")


def check_age(date_of_birth: date, on: date, minimum_age: int) -> Decision:
    if date_of_birth > on:
        return Decision(Outcome.TOO_YOUNG, "The date of birth is in the future.")
    if age_on(date_of_birth, on) < minimum_age:
        return Decision(
            Outcome.TOO_YOUNG,
            f"Video visits are for adults {minimum_age} and older. Please contact your "
            "doctor's office or visit walk-in care.",
        )
    return ELIGIBLE


def check_condition(code: str, conditions: ConditionList) -> Decision:
    return ELIGIBLE if code in conditions else Decision(Outcome.NOT_LISTED, NOT_LISTED_MESSAGE)


def check_red_flags(answers: Mapping[str, bool]) -> Decision:
    """Any 'yes' to a red-flag question stops check-in. Unknown codes are refused."""
    unknown = set(answers) - RED_FLAG_CODES
    if unknown:
        raise ValueError(f"Unknown red-flag questions: {', '.join(sorted(unknown))}.")
    if any(answers.values()):
        return Decision(Outcome.EMERGENCY, EMERGENCY_MESSAGE + (
            " " + CRISIS_MESSAGE if answers.get(CRISIS_FLAG) else ""))
    return ELIGIBLE


def is_open(hours: OpeningHours, local: datetime) -> bool:
    span = hours.by_weekday.get(local.weekday())
    return span is not None and span[0] <= local.time() < span[1]


def next_opening(hours: OpeningHours, local: datetime) -> datetime | None:
    """The next moment the service opens after ``local`` (site-local, aware), or None if never."""
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        span = hours.by_weekday.get(day.weekday())
        if span is None:
            continue
        opens = datetime.combine(day, span[0], tzinfo=local.tzinfo)
        if opens > local:
            return opens
    return None


def check_hours(config: SiteConfig, now: datetime) -> Decision:
    """``now`` must be timezone-aware; it is compared in the site's time zone."""
    if now.tzinfo is None:
        raise ValueError("check_hours needs an aware datetime.")
    local = now.astimezone(config.zone)
    if is_open(config.hours, local):
        return ELIGIBLE
    opening = next_opening(config.hours, local)
    if opening is None:
        return Decision(Outcome.CLOSED, "Video visits are not offered at this site right now.")
    # Once, in the clinic's time and words: "Monday, November 30 at 9:00 AM CST".
    clock = f"{opening:%I:%M %p}".lstrip("0")
    when = f"{opening:%A}, {opening:%B} {opening.day} at {clock} {opening:%Z}"
    return Decision(
        Outcome.CLOSED,
        f"Video visits are closed now. We open again {when}.",
        next_opening=opening,
    )


def check_eligibility(
    *,
    config: SiteConfig,
    conditions: ConditionList,
    date_of_birth: date,
    condition: str,
    red_flags: Mapping[str, bool],
    now: datetime,
    check_open_hours: bool = True,
) -> Decision:
    """All checks, emergencies first (they matter whatever else is true)."""
    local_day = now.astimezone(config.zone).date()
    checks: list[Decision] = [
        check_red_flags(red_flags),
        check_age(date_of_birth, local_day, config.minimum_age),
        check_condition(condition, conditions),
    ]
    if check_open_hours:
        checks.append(check_hours(config, now))
    return next((d for d in checks if not d.eligible), ELIGIBLE)


def missing_red_flag_answers(answers: Collection[str]) -> list[str]:
    return [f.code for f in RED_FLAGS if f.code not in answers]
