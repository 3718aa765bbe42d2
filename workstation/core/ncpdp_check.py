"""The check every NewRx and CancelRx passes before it is sent (and ``workstation erx validate``).

Each field a pharmacy needs is named with where it sits in the message and what is wrong with
it, so a provider (or IT, with a file) can fix them all at once instead of one per attempt.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from workstation.core import ncpdp

MAX_REFILLS = 11
MAX_ID_LENGTH = 35
MAX_DESCRIPTION = 105
MAX_NOTE = 210
MAX_SIG = 1000
MAX_DAYS_SUPPLY = 365
DRUG_DB_QUALIFIERS = frozenset({"SCD", "SBD", "GPK", "BPK", "SGP", "SBP"})
GENDERS = frozenset({"M", "F", "U"})


@dataclass(frozen=True)
class Problem:
    """One missing or malformed field: where it is (a path in the message) and what is wrong."""

    field: str
    label: str
    message: str

    def __str__(self) -> str:
        return f"{self.label} ({self.field}): {self.message}"


def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over "80840" + the first nine (CMS rule)."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        return False
    total = 0
    for position, ch in enumerate(reversed("80840" + npi)):
        value = int(ch)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


Check = Callable[[str], str | None]  # the text → what is wrong with it, or None


def _pattern(regex: str, what: str) -> Check:
    # ASCII only: \d would also take other scripts' digits, which no pharmacy system reads.
    return lambda text: None if re.fullmatch(regex, text, re.ASCII) else what


def _npi(text: str) -> str | None:
    return None if npi_is_valid(text) else "not a valid NPI (10 digits with its check digit)"


def _max_length(limit: int) -> Check:
    return lambda text: None if len(text) <= limit else f"longer than {limit} characters"


def _date_past(text: str) -> str | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return "not a date (YYYY-MM-DD)"
    return "in the future" if day > date.today() else None


def _date(text: str) -> str | None:
    try:
        date.fromisoformat(text)
    except ValueError:
        return "not a date (YYYY-MM-DD)"
    return None


def _timestamp(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return "not a date and time (ISO 8601)"
    return "has no time zone" if moment.tzinfo is None else None


def _quantity(text: str) -> str | None:
    if not re.fullmatch(r"[0-9]{1,8}(\.[0-9]{1,3})?", text):
        return "not a plain decimal number (up to 8 digits and 3 decimals)"
    return "must be more than zero" if Decimal(text) <= 0 else None


def _int_range(low: int, high: int) -> Check:
    def check(text: str) -> str | None:
        if not re.fullmatch(r"[0-9]{1,4}", text) or not low <= int(text) <= high:
            return f"must be a whole number from {low} to {high}"
        return None
    return check


def _one_of(allowed: frozenset[str] | set[str]) -> Check:
    return lambda text: None if text in allowed else f"must be one of {', '.join(sorted(allowed))}"


_PHONE = _pattern(r"\d{10}", "not a 10-digit phone number")
_STATE = _pattern(r"[A-Z]{2}", "not a two-letter state code")
_ZIP = _pattern(r"\d{5}(\d{4})?", "not a 5- or 9-digit ZIP code")


def _address(prefix: str, who: str) -> list[tuple[str, str, Check | None]]:
    return [(f"{prefix}/Address/AddressLine1", f"{who} street address", None),
            (f"{prefix}/Address/City", f"{who} city", None),
            (f"{prefix}/Address/StateProvince", f"{who} state", _STATE),
            (f"{prefix}/Address/PostalCode", f"{who} ZIP code", _ZIP)]


_PATIENT = "Patient/HumanPatient"
_PRESCRIBER = "Prescriber/NonVeterinarian"
_MED = "MedicationPrescribed"

# (path under the NewRx or CancelRx element, what people call it, the check of its text)
BODY_FIELDS: list[tuple[str, str, Check | None]] = [
    (f"{_PATIENT}/Name/LastName", "patient last name", None),
    (f"{_PATIENT}/Name/FirstName", "patient first name", None),
    (f"{_PATIENT}/Gender", "patient gender", _one_of(GENDERS)),
    (f"{_PATIENT}/DateOfBirth/Date", "patient date of birth", _date_past),
    *_address(_PATIENT, "patient"),
    (f"{_PATIENT}/CommunicationNumbers/PrimaryTelephone/Number", "patient phone", _PHONE),
    ("Pharmacy/Identification/NCPDPID", "pharmacy NCPDP ID",
     _pattern(r"\d{7}", "not a 7-digit NCPDP ID")),
    ("Pharmacy/Identification/NPI", "pharmacy NPI", _npi),
    ("Pharmacy/BusinessName", "pharmacy name", None),
    *_address("Pharmacy", "pharmacy"),
    ("Pharmacy/CommunicationNumbers/PrimaryTelephone/Number", "pharmacy phone", _PHONE),
    (f"{_PRESCRIBER}/Identification/NPI", "prescriber NPI", _npi),
    (f"{_PRESCRIBER}/Name/LastName", "prescriber last name", None),
    (f"{_PRESCRIBER}/Name/FirstName", "prescriber first name", None),
    *_address(_PRESCRIBER, "prescriber"),
    (f"{_PRESCRIBER}/CommunicationNumbers/PrimaryTelephone/Number", "prescriber phone",
     _PHONE),
    (f"{_MED}/DrugDescription", "drug description", _max_length(MAX_DESCRIPTION)),
    (f"{_MED}/DrugCoded/DrugDBCode/Code", "RxNorm code",
     _pattern(r"\d{1,8}", "not an RxNorm code (digits)")),
    (f"{_MED}/DrugCoded/DrugDBCode/Qualifier", "RxNorm code qualifier",
     _one_of(DRUG_DB_QUALIFIERS)),
    (f"{_MED}/DrugCoded/DEASchedule/Code", "DEA schedule",
     _one_of({ncpdp.NOT_CONTROLLED})),
    (f"{_MED}/Quantity/Value", "quantity", _quantity),
    (f"{_MED}/Quantity/CodeListQualifier", "quantity qualifier",
     _one_of({ncpdp.QUANTITY_CODE_LIST})),
    (f"{_MED}/Quantity/QuantityUnitOfMeasure/Code", "quantity unit",
     _one_of(set(ncpdp.QUANTITY_UNITS.values()))),
    (f"{_MED}/DaysSupply", "days supply", _int_range(1, MAX_DAYS_SUPPLY)),
    (f"{_MED}/WrittenDate/Date", "written date", _date),
    (f"{_MED}/Substitutions", "substitutions", _one_of({"0", "1"})),
    (f"{_MED}/NumberOfRefills", "refills", _int_range(0, MAX_REFILLS)),
    (f"{_MED}/Sig/SigText", "directions (sig)", _max_length(MAX_SIG)),
]

HEADER_FIELDS: list[tuple[str, str, Check | None]] = [
    ("To", "to (pharmacy NCPDP ID)", _pattern(r"\d{7}", "not a 7-digit NCPDP ID")),
    ("From", "from (prescriber NPI)", _npi),
    ("MessageID", "message ID", _max_length(MAX_ID_LENGTH)),
    ("SentTime", "sent time", _timestamp),
    ("PrescriberOrderNumber", "prescriber order number", _max_length(MAX_ID_LENGTH)),
]
CANCEL_FIELDS: list[tuple[str, str, Check | None]] = [
    ("RelatesToMessageID", "the NewRx it cancels (RelatesToMessageID)",
     _max_length(MAX_ID_LENGTH)),
]
OPTIONAL_FIELDS: list[tuple[str, str, Check]] = [
    (f"{_MED}/Note", "note to the pharmacist", _max_length(MAX_NOTE)),
]


def _check_fields(parent: ET.Element | None, prefix: str,
                  fields: list[tuple[str, str, Check | None]]) -> list[Problem]:
    problems = []
    for path, label, check in fields:
        text = ncpdp.text_at(parent, path)
        where = f"{prefix}/{path}"
        if not text:
            problems.append(Problem(where, label, "missing"))
        elif check is not None and (wrong := check(text)):
            problems.append(Problem(where, label, wrong))
    return problems


def check_message(data: bytes | str) -> list[Problem]:
    """Every missing or malformed field of a NewRx or CancelRx; [] for a complete message."""
    try:
        root = ncpdp.parse_xml(data)
    except ncpdp.MessageError as exc:
        return [Problem("", "document", str(exc))]
    if root.tag != "Message":
        return [Problem(str(root.tag), "document", "the root element is not Message")]
    kind, body = ncpdp.body_kind(root)
    if kind not in ("NewRx", "CancelRx") or body is None:
        return [Problem("Message/Body", "message type",
                        f"expected one NewRx or CancelRx, found {kind or 'none'}")]
    header = root.find("Header")
    header_fields = HEADER_FIELDS + (CANCEL_FIELDS if kind == "CancelRx" else [])
    problems = _check_fields(header, "Message/Header", header_fields)
    prefix = f"Message/Body/{kind}"
    problems += _check_fields(body, prefix, BODY_FIELDS)
    for path, label, check in OPTIONAL_FIELDS:
        text = ncpdp.text_at(body, path)
        if text and (wrong := check(text)):
            problems.append(Problem(f"{prefix}/{path}", label, wrong))
    to = ncpdp.text_at(header, "To")
    ncpdp_id = ncpdp.text_at(body, "Pharmacy/Identification/NCPDPID")
    if to and ncpdp_id and to != ncpdp_id:
        problems.append(Problem("Message/Header/To", "to (pharmacy NCPDP ID)",
                                "is not the pharmacy named in the message"))
    sender = ncpdp.text_at(header, "From")
    npi = ncpdp.text_at(body, f"{_PRESCRIBER}/Identification/NPI")
    if sender and npi and sender != npi:
        problems.append(Problem("Message/Header/From", "from (prescriber NPI)",
                                "is not the prescriber named in the message"))
    return problems
