"""The NPI check (10 digits, the Luhn check digit over 80840 and the first nine) and the
practice's address and phone as a form checks them before asking the hub."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workstation.core.people import Address
from workstation.core.practice import (
    Practice,
    is_valid_npi,
    luhn_check_digit,
    npi_problem,
    practice_problems,
)

AUSTIN = Address("500 Clinic Way", "Austin", "TX", "78702")


def test_a_known_valid_npi_passes() -> None:
    # CMS's own worked example: 123456789 gets the check digit 3.
    assert npi_problem("1234567893") is None
    assert is_valid_npi("1234567893")
    assert is_valid_npi("1245319599")


@pytest.mark.parametrize(("npi", "problem"), [
    ("1234567890", "This is not a valid NPI: its last digit does not match the others. "
                   "Check it for a typo."),
    ("1234567839", "This is not a valid NPI: its last digit does not match the others. "
                   "Check it for a typo."),  # two digits swapped
    ("123456789", "An NPI is 10 digits."),
    ("12345678930", "An NPI is 10 digits."),
    ("12345-7893", "An NPI is 10 digits."),
    ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff13",
     "An NPI is 10 digits."),  # full-width digits are digits, but not ASCII
    ("", "Enter your NPI (10 digits)."),
])
def test_an_invalid_npi_says_what_is_wrong(npi: str, problem: str) -> None:
    assert npi_problem(npi) == problem
    assert not is_valid_npi(npi)


def test_the_luhn_digit_is_the_standard_one() -> None:
    assert luhn_check_digit("7992739871") == 3  # the textbook example
    assert luhn_check_digit("80840" "123456789") == 3


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_last_digit_makes_an_npi(first_nine: str) -> None:
    valid = [d for d in "0123456789" if is_valid_npi(first_nine + d)]
    assert len(valid) == 1


def test_a_saved_practice_wins_field_by_field_over_the_site_file() -> None:
    site_file = Practice(AUSTIN, "512-555-0100")
    dallas = Address("1 Main St", "Dallas", "TX", "75201")

    assert Practice().over(site_file) == site_file
    assert Practice(dallas, "").over(site_file) == Practice(dallas, "512-555-0100")
    assert Practice(None, "214-555-0100").over(site_file) == Practice(AUSTIN, "214-555-0100")
    assert Practice(dallas, "214-555-0100").over(Practice()) == Practice(dallas,
                                                                        "214-555-0100")
    assert site_file.complete and not Practice(AUSTIN, "").complete


def test_the_practice_needs_an_address_and_phone_in_the_hubs_formats() -> None:
    assert practice_problems(Practice(AUSTIN, "512-555-0100")) == {}
    assert practice_problems(Practice(Address("1 Main St", "Dallas", "tx", "75201-1234"),
                                      "+1 (214) 555.0100")) == {}
    assert list(practice_problems(Practice())) == ["line1", "city", "state", "postal_code",
                                                   "phone"]
    assert practice_problems(Practice(Address("1 Main St", "Dallas", "Texas", "752"),
                                      "call us")) == {
        "state": "Use the two-letter state code, e.g. TX.",
        "postal_code": "Enter a 5-digit ZIP code.",
        "phone": "Enter the practice's phone number: digits, spaces and + ( ) - . only."}
