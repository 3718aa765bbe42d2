"""A returning patient is recognised only on a strict match (names, birth date, phone and
email): a wrong merge shows one person's record to another's provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.factories import patient
from workstation.core.people import same_person

BASE = patient()


@pytest.mark.parametrize("other", [
    replace(BASE, id="x"),
    replace(BASE, id="x", given_name="  ROSALIND ", family_name="quartermaine"),
    replace(BASE, id="x", phone="+1 (512) 555 0142", email="RQ@Example.org "),
], ids=["identical", "case-and-spaces", "contacts-written-differently"])
def test_the_same_person_is_recognised(other):
    assert same_person(BASE, other)


@pytest.mark.parametrize("other", [
    replace(BASE, id="x", date_of_birth=date(1985, 3, 15)),
    replace(BASE, id="x", given_name="Rosalyn"),
    replace(BASE, id="x", family_name="Quartermain"),
    replace(BASE, id="x", phone="512-555-0199", email="other@example.org"),
    replace(BASE, id="x", phone="512-555-0199"),
    replace(BASE, id="x", email="someone@example.org"),
    replace(BASE, id="x", phone="", email=""),
], ids=["other-birthday", "other-given-name", "other-family-name", "no-shared-contact",
        "email-only", "phone-only", "no-contact-at-all"])
def test_anyone_else_is_not(other):
    assert not same_person(BASE, other)
