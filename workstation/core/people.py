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


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _digits(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    return digits[-10:]  # a leading country code 1 does not make another person


def same_person(a: Patient, b: Patient) -> bool:
    """A returning patient: the same names and date of birth, phone and email.

    Deliberately strict (no fuzzy names, every contact detail the same): check-in is not
    signed in, so a wrong match would show one person's record to another's provider; a missed
    match only leaves the prior visit out of the record.
    """
    if a.date_of_birth != b.date_of_birth:
        return False
    if (_name_key(a.given_name), _name_key(a.family_name)) != \
            (_name_key(b.given_name), _name_key(b.family_name)):
        return False
    return bool(_digits(a.phone)) and _digits(a.phone) == _digits(b.phone) \
        and a.email.strip().casefold() == b.email.strip().casefold()


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
