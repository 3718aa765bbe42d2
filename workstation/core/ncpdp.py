"""NCPDP SCRIPT 2017071 messages: NewRx and CancelRx built and read back, and the answers.

Only the parts a new prescription for a non-controlled drug needs are written: the header (To:
the pharmacy's NCPDP ID; From: the prescriber's NPI; MessageID; SentTime;
PrescriberOrderNumber), the patient, pharmacy, prescriber and the medication prescribed. The
answers a gateway gives, Status, Error and Verify, are read. Element names and order follow the
2017071 structure; the check of a whole message is in ``ncpdp_check``.

Untrusted XML (a file on the command line, a gateway's answer) is parsed with defusedxml: no
document type, no entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from defusedxml import ElementTree as SafeET

from workstation.core.people import Address

NAMESPACE = "http://www.ncpdp.org/schema/SCRIPT"
VERSION = "20170715"  # the 2017071 standard's version attributes
RXNORM_QUALIFIER = "SCD"  # RxNorm semantic clinical drug
QUANTITY_CODE_LIST = "38"  # original quantity
NOT_CONTROLLED = "C38046"  # DEASchedule "unspecified": not a controlled substance
PHONE_DIGITS = 10
COUNTRY = "US"  # prescriptions go to U.S. pharmacies only

# NCI Thesaurus codes NCPDP uses for the unit of a quantity.
QUANTITY_UNITS: dict[str, str] = {
    "capsule": "C48480",
    "tablet": "C48542",
    "mL": "C28254",
    "g": "C48155",
}
UNIT_NAMES = {code: name for name, code in QUANTITY_UNITS.items()}

# Status codes: 000 the gateway took it; 010 the pharmacy took it.
STATUS_RECEIVED = "000"
STATUS_ACCEPTED = "010"
# Error codes: 600-602 are the receiver's trouble (try again later); 900 rejects the message.
TRANSIENT_ERRORS = frozenset({"600", "601", "602"})
ERROR_REJECTED = "900"


class MessageError(ValueError):
    """Text that is not a SCRIPT message this program can read; says why."""


@dataclass(frozen=True)
class PatientParty:
    last_name: str
    first_name: str
    gender: str  # M, F or U
    date_of_birth: date | None
    address: Address | None
    phone: str


@dataclass(frozen=True)
class PharmacyParty:
    ncpdp_id: str
    npi: str
    name: str
    address: Address | None
    phone: str


@dataclass(frozen=True)
class PrescriberParty:
    last_name: str
    first_name: str
    npi: str
    address: Address | None
    phone: str


@dataclass(frozen=True)
class MedicationPrescribed:
    description: str
    rxcui: str
    quantity: Decimal
    quantity_unit: str  # an NCI code from QUANTITY_UNITS
    days_supply: int
    refills: int
    sig_text: str
    written_date: date
    substitution_allowed: bool = True
    note: str = ""


@dataclass(frozen=True)
class Header:
    message_id: str
    sent_time: datetime
    prescriber_order_number: str
    relates_to_message_id: str = ""


@dataclass(frozen=True)
class Prescription:
    """The content of a NewRx, or of the CancelRx that withdraws one (``kind``)."""

    kind: str  # "NewRx" or "CancelRx"
    header: Header
    patient: PatientParty
    pharmacy: PharmacyParty
    prescriber: PrescriberParty
    medication: MedicationPrescribed


@dataclass(frozen=True)
class Answer:
    """What a gateway or a pharmacy said about a message: Status, Error, Verify, or the
    pharmacy's CancelRxResponse (code "Approved" or "Denied")."""

    kind: str  # "Status", "Error", "Verify" or "CancelRxResponse"
    code: str
    relates_to_message_id: str
    description: str = ""
    description_code: str = ""

    @property
    def accepted(self) -> bool:
        return self.kind in ("Status", "Verify") and self.code in (STATUS_RECEIVED,
                                                                   STATUS_ACCEPTED)

    @property
    def transient(self) -> bool:
        """An error worth trying again later (the receiver's trouble, not the message's)."""
        return self.kind == "Error" and self.code in TRANSIENT_ERRORS


# --- building ---------------------------------------------------------------------------------


# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _sub(parent: ET.Element, tag: str, text: str | None = None,
         **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        # A control character pasted into a note would make the message unreadable to every
        # receiver; it carries no meaning, so it becomes a space.
        element.text = _NOT_XML.sub(" ", text)
    return element


def _address(parent: ET.Element, address: Address | None) -> None:
    if address is None:
        return
    element = _sub(parent, "Address")
    _sub(element, "AddressLine1", address.line1)
    if address.line2:
        _sub(element, "AddressLine2", address.line2)
    _sub(element, "City", address.city)
    _sub(element, "StateProvince", address.state)
    # SCRIPT wants 5 or 9 digits; a ZIP+4 is written as people type it, 78664-1234.
    _sub(element, "PostalCode", address.postal_code.replace("-", ""))
    _sub(element, "CountryCode", COUNTRY)


def _phone(parent: ET.Element, phone: str) -> None:
    numbers = _sub(parent, "CommunicationNumbers")
    _sub(_sub(numbers, "PrimaryTelephone"), "Number", digits(phone))


def digits(text: str) -> str:
    """The digits of a phone number or code, a leading US country code dropped."""
    found = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    return found[1:] if len(found) == PHONE_DIGITS + 1 and found.startswith("1") else found


def _name(parent: ET.Element, last: str, first: str) -> None:
    name = _sub(parent, "Name")
    _sub(name, "LastName", last)
    _sub(name, "FirstName", first)


def _root(header: Header, to_ncpdp: str, from_npi: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("Message", {
        "xmlns": NAMESPACE, "DatatypesVersion": VERSION, "TransportVersion": VERSION,
        "TransactionDomain": "SCRIPT", "TransactionVersion": VERSION,
        "StructuresVersion": VERSION, "ECLVersion": VERSION})
    head = _sub(root, "Header")
    _sub(head, "To", to_ncpdp, Qualifier="P")
    _sub(head, "From", from_npi, Qualifier="D")
    _sub(head, "MessageID", header.message_id)
    if header.relates_to_message_id:
        _sub(head, "RelatesToMessageID", header.relates_to_message_id)
    _sub(head, "SentTime", _timestamp(header.sent_time))
    _sub(head, "PrescriberOrderNumber", header.prescriber_order_number)
    return root, _sub(root, "Body")


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("SentTime needs a time zone")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build(prescription: Prescription) -> bytes:
    """The NewRx or CancelRx as UTF-8 XML. Empty values are left out, for the check to name."""
    if prescription.kind not in ("NewRx", "CancelRx"):
        raise ValueError(f"not a message this program sends: {prescription.kind}")
    root, body = _root(prescription.header, prescription.pharmacy.ncpdp_id,
                       prescription.prescriber.npi)
    message = _sub(body, prescription.kind)

    patient = _sub(_sub(message, "Patient"), "HumanPatient")
    p = prescription.patient
    _name(patient, p.last_name, p.first_name)
    _sub(patient, "Gender", p.gender)
    if p.date_of_birth is not None:
        _sub(_sub(patient, "DateOfBirth"), "Date", p.date_of_birth.isoformat())
    _address(patient, p.address)
    _phone(patient, p.phone)

    pharmacy = _sub(message, "Pharmacy")
    ph = prescription.pharmacy
    ids = _sub(pharmacy, "Identification")
    _sub(ids, "NCPDPID", ph.ncpdp_id)
    _sub(ids, "NPI", ph.npi)
    _sub(pharmacy, "BusinessName", ph.name)
    _address(pharmacy, ph.address)
    _phone(pharmacy, ph.phone)

    prescriber = _sub(_sub(message, "Prescriber"), "NonVeterinarian")
    pr = prescription.prescriber
    _sub(_sub(prescriber, "Identification"), "NPI", pr.npi)
    _name(prescriber, pr.last_name, pr.first_name)
    _address(prescriber, pr.address)
    _phone(prescriber, pr.phone)

    m = prescription.medication
    med = _sub(message, "MedicationPrescribed")
    _sub(med, "DrugDescription", m.description)
    coded = _sub(med, "DrugCoded")
    db_code = _sub(coded, "DrugDBCode")
    _sub(db_code, "Code", m.rxcui)
    _sub(db_code, "Qualifier", RXNORM_QUALIFIER)
    _sub(_sub(coded, "DEASchedule"), "Code", NOT_CONTROLLED)
    quantity = _sub(med, "Quantity")
    _sub(quantity, "Value", format(m.quantity.normalize(), "f"))
    _sub(quantity, "CodeListQualifier", QUANTITY_CODE_LIST)
    _sub(_sub(quantity, "QuantityUnitOfMeasure"), "Code", m.quantity_unit)
    _sub(med, "DaysSupply", str(m.days_supply))
    _sub(_sub(med, "WrittenDate"), "Date", m.written_date.isoformat())
    _sub(med, "Substitutions", "0" if m.substitution_allowed else "1")
    _sub(med, "NumberOfRefills", str(m.refills))
    if m.note:
        _sub(med, "Note", m.note)
    _sub(_sub(med, "Sig"), "SigText", m.sig_text)
    _prune_empty(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _prune_empty(element: ET.Element) -> None:
    """Drop elements with no text and no children: a missing value is absent, not blank."""
    for child in list(element):
        _prune_empty(child)
        if len(child) == 0 and not (child.text or "").strip():
            element.remove(child)


def build_answer(answer: Answer, *, message_id: str, sent_time: datetime, to: str,
                 sender: str) -> bytes:
    """A Status, Error or Verify answer, or a CancelRxResponse (what the pharmacy network
    simulator and its pharmacies send)."""
    root = ET.Element("Message", {"xmlns": NAMESPACE, "TransportVersion": VERSION,
                                  "TransactionDomain": "SCRIPT", "TransactionVersion": VERSION})
    head = _sub(root, "Header")
    _sub(head, "To", to, Qualifier="D")
    _sub(head, "From", sender, Qualifier="P")
    _sub(head, "MessageID", message_id)
    _sub(head, "RelatesToMessageID", answer.relates_to_message_id)
    _sub(head, "SentTime", _timestamp(sent_time))
    body = _sub(root, "Body")
    if answer.kind == "Verify":
        status = _sub(_sub(body, "Verify"), "VerifyStatus")
    elif answer.kind == "CancelRxResponse":
        decision = _sub(_sub(_sub(body, answer.kind), "Response"), answer.code)
        if answer.description:
            _sub(decision, "Note" if answer.code == "Approved" else "DenialReason",
                 answer.description)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    elif answer.kind in ("Status", "Error"):
        status = _sub(body, answer.kind)
    else:
        raise ValueError(f"not an answer: {answer.kind}")
    _sub(status, "Code", answer.code)
    if answer.description_code:
        _sub(status, "DescriptionCode", answer.description_code)
    if answer.description:
        _sub(status, "Description", answer.description)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


# --- reading ----------------------------------------------------------------------------------


def parse_xml(data: bytes | str) -> ET.Element:
    """The document's root, with namespaces stripped from the tags; MessageError if not XML."""
    try:
        root: ET.Element = SafeET.fromstring(data)
    except ET.ParseError as exc:
        raise MessageError(f"not well-formed XML ({exc})") from exc
    except Exception as exc:  # defusedxml's refusals: DTDs, entities, external references
        raise MessageError(f"XML refused: {type(exc).__name__}") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def text_at(element: ET.Element | None, path: str) -> str:
    """The stripped text at a slash path below ``element``; "" when absent."""
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def body_kind(root: ET.Element) -> tuple[str, ET.Element | None]:
    """The message type in Body (NewRx, CancelRx, Status ...) and its element."""
    body = root.find("Body")
    children = list(body) if body is not None else []
    if len(children) != 1:
        return "", None
    return str(children[0].tag), children[0]


def _read_address(element: ET.Element | None) -> Address | None:
    if element is None or element.find("Address") is None:
        return None
    return Address(line1=text_at(element, "Address/AddressLine1"),
                         line2=text_at(element, "Address/AddressLine2"),
                         city=text_at(element, "Address/City"),
                         state=text_at(element, "Address/StateProvince"),
                         postal_code=text_at(element, "Address/PostalCode"))


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_prescription(data: bytes | str) -> Prescription:
    """A NewRx or CancelRx read back into its values. MessageError when it is neither, or a
    number or date cannot be read; missing text comes back empty (``ncpdp_check`` names it)."""
    root = parse_xml(data)
    if root.tag != "Message":
        raise MessageError("the document is not a SCRIPT Message")
    kind, message = body_kind(root)
    if kind not in ("NewRx", "CancelRx") or message is None:
        raise MessageError(f"expected NewRx or CancelRx, found {kind or 'no single message'}")
    head = root.find("Header")
    try:
        header = Header(message_id=text_at(head, "MessageID"),
                        sent_time=datetime.fromisoformat(text_at(head, "SentTime")),
                        prescriber_order_number=text_at(head, "PrescriberOrderNumber"),
                        relates_to_message_id=text_at(head, "RelatesToMessageID"))
        patient = message.find("Patient/HumanPatient")
        pharmacy = message.find("Pharmacy")
        prescriber = message.find("Prescriber/NonVeterinarian")
        med = message.find("MedicationPrescribed")
        written = _date(text_at(med, "WrittenDate/Date"))
        if written is None:
            raise ValueError("WrittenDate")
        return Prescription(
            kind=kind, header=header,
            patient=PatientParty(
                last_name=text_at(patient, "Name/LastName"),
                first_name=text_at(patient, "Name/FirstName"),
                gender=text_at(patient, "Gender"),
                date_of_birth=_date(text_at(patient, "DateOfBirth/Date")),
                address=_read_address(patient),
                phone=text_at(patient, "CommunicationNumbers/PrimaryTelephone/Number")),
            pharmacy=PharmacyParty(
                ncpdp_id=text_at(pharmacy, "Identification/NCPDPID"),
                npi=text_at(pharmacy, "Identification/NPI"),
                name=text_at(pharmacy, "BusinessName"), address=_read_address(pharmacy),
                phone=text_at(pharmacy, "CommunicationNumbers/PrimaryTelephone/Number")),
            prescriber=PrescriberParty(
                last_name=text_at(prescriber, "Name/LastName"),
                first_name=text_at(prescriber, "Name/FirstName"),
                npi=text_at(prescriber, "Identification/NPI"),
                address=_read_address(prescriber),
                phone=text_at(prescriber, "CommunicationNumbers/PrimaryTelephone/Number")),
            medication=MedicationPrescribed(
                description=text_at(med, "DrugDescription"),
                rxcui=text_at(med, "DrugCoded/DrugDBCode/Code"),
                quantity=Decimal(text_at(med, "Quantity/Value")),
                quantity_unit=text_at(med, "Quantity/QuantityUnitOfMeasure/Code"),
                days_supply=int(text_at(med, "DaysSupply")),
                refills=int(text_at(med, "NumberOfRefills")),
                sig_text=text_at(med, "Sig/SigText"),
                written_date=written,
                substitution_allowed=text_at(med, "Substitutions") != "1",
                note=text_at(med, "Note")))
    except (ValueError, ArithmeticError) as exc:
        raise MessageError(f"a value cannot be read: {exc}") from exc


def parse_answer(data: bytes | str) -> Answer:
    """A gateway's Status, Error or Verify, or a CancelRxResponse; MessageError otherwise."""
    root = parse_xml(data)
    if root.tag != "Message":
        raise MessageError("the answer is not a SCRIPT Message")
    kind, element = body_kind(root)
    relates_to = text_at(root.find("Header"), "RelatesToMessageID")
    if kind == "CancelRxResponse" and element is not None:
        response = element.find("Response")
        decision = next(iter(response), None) if response is not None else None
        if decision is None or decision.tag not in ("Approved", "Denied"):
            raise MessageError("CancelRxResponse without Approved or Denied")
        return Answer(kind=kind, code=str(decision.tag), relates_to_message_id=relates_to,
                      description=text_at(decision, "Note") or text_at(decision,
                                                                      "DenialReason"))
    if kind == "Verify" and element is not None:
        element = element.find("VerifyStatus")
    if kind not in ("Status", "Error", "Verify") or element is None:
        raise MessageError(f"expected Status, Error or Verify, found {kind or 'nothing'}")
    code = text_at(element, "Code")
    if not code:
        raise MessageError(f"{kind} without a Code")
    return Answer(kind=kind, code=code,
                  relates_to_message_id=text_at(root.find("Header"), "RelatesToMessageID"),
                  description=text_at(element, "Description"),
                  description_code=text_at(element, "DescriptionCode"))

