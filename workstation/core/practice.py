"""The practice a prescriber writes from: the address and phone printed on each prescription as
the prescriber's, and the prescriber's NPI, checked the way CMS issues them.

The rules for addresses and phones are the hub's (``workstation/hub/schemas.py``), so a form
can say what is wrong before it asks the hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workstation.core.people import Address

# An NPI's check digit is the Luhn digit of the card issuer prefix 80840 followed by the NPI's
# first nine digits (CMS, "Requirements for NPI check digit", ISO/IEC 7812).
NPI_PREFIX = "80840"
NPI_LENGTH = 10

STATE_PATTERN = re.compile(r"^[A-Za-z]{2}$")
POSTAL_CODE_PATTERN = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
PHONE_PATTERN = re.compile(r"^[0-9+()\-. ]{7,25}$")


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # the digit beside the check digit, and every second one on
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def npi_problem(npi: str) -> str | None:
    """Why ``npi`` is not an NPI, in words for the provider; None when it is one."""
    if not npi:
        return "Enter your NPI (10 digits)."
    if len(npi) != NPI_LENGTH or not (npi.isascii() and npi.isdigit()):
        return "An NPI is 10 digits."
    if luhn_check_digit(NPI_PREFIX + npi[:-1]) != int(npi[-1]):
        return "This is not a valid NPI: its last digit does not match the others. Check it " \
               "for a typo."
    return None


def is_valid_npi(npi: str) -> bool:
    return npi_problem(npi) is None


@dataclass(frozen=True)
class Practice:
    """The practice address and phone printed on prescriptions as the prescriber's.

    Either may be missing (None, ""): the pre-send check of a prescription then names it.
    """

    address: Address | None = None
    phone: str = ""

    def over(self, default: Practice) -> Practice:
        """These values where they are set, ``default``'s elsewhere (what was saved in the
        program over what the site configuration file says)."""
        return Practice(self.address if self.address is not None else default.address,
                        self.phone or default.phone)

    @property
    def complete(self) -> bool:
        return self.address is not None and bool(self.phone)


def practice_problems(practice: Practice) -> dict[str, str]:
    """What is missing or malformed, by field (``line1``, ``city``, ``state``, ``postal_code``,
    ``phone``, in the order a form shows them); empty when the practice can be saved."""
    a = practice.address or Address("", "", "", "")
    problems: dict[str, str] = {}
    if not a.line1.strip():
        problems["line1"] = "Enter the practice's street address."
    if not a.city.strip():
        problems["city"] = "Enter the practice's city."
    if not STATE_PATTERN.match(a.state.strip()):
        problems["state"] = "Use the two-letter state code, e.g. TX."
    if not POSTAL_CODE_PATTERN.match(a.postal_code.strip()):
        problems["postal_code"] = "Enter a 5-digit ZIP code."
    if not PHONE_PATTERN.match(practice.phone.strip()):
        problems["phone"] = "Enter the practice's phone number: digits, spaces and + ( ) - . " \
                            "only."
    return problems
