"""Patients, providers and the service lines providers work in."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True)
class Patient:
    id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    phone: str
    email: str = ""
    address: Address | None = None


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str


@dataclass(frozen=True)
class Provider:
    id: str
    username: str
    display_name: str
    service_lines: tuple[str, ...]
    npi: str = ""


def age_on(date_of_birth: date, on: date) -> int:
    """Age in whole years on a day; a birthday on Feb 29 counts from Mar 1 in other years."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years
