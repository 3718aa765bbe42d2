"""NCPDP SCRIPT NewRx / CancelRx: built, read back, checked field by field; answers read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workstation.cli import main
from workstation.core import ncpdp
from workstation.core.ncpdp_check import (
    BODY_FIELDS,
    CANCEL_FIELDS,
    HEADER_FIELDS,
    check_message,
    npi_is_valid,
)
from workstation.core.people import Address

ADDRESS = Address("12 Oak Lane", "Austin", "TX", "78701", line2="Apt 4")
SAMPLE = ncpdp.Prescription(
    kind="NewRx",
    header=ncpdp.Header(message_id="a1b2c3d4e5f60718293a4b5c6d7e8f90",
                        sent_time=datetime(2026, 11, 26, 15, 4, 5, tzinfo=UTC),
                        prescriber_order_number="0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    patient=ncpdp.PatientParty(last_name="Rivera", first_name="Dana", gender="F",
                               date_of_birth=date(1988, 4, 2), address=ADDRESS,
                               phone="512-555-0142"),
    pharmacy=ncpdp.PharmacyParty(ncpdp_id="4410011", npi="1912345679",
                                 name="Main Street Pharmacy",
                                 address=Address("101 Main St", "Austin", "TX",
                                                             "78701"),
                                 phone="(512) 555-0101"),
    prescriber=ncpdp.PrescriberParty(last_name="Okafor", first_name="Amara", npi="1234567893",
                                     address=Address("500 Clinic Way", "Austin",
                                                                 "TX", "78702"),
                                     phone="512 555 0100"),
    medication=ncpdp.MedicationPrescribed(
        description="amoxicillin 500 MG Oral Capsule", rxcui="308191",
        quantity=Decimal("30"), quantity_unit=ncpdp.QUANTITY_UNITS["capsule"], days_supply=10,
        refills=0, sig_text="Take 1 capsule by mouth 3 times a day for 10 days.",
        written_date=date(2026, 11, 26), substitution_allowed=False,
        note="Patient prefers capsules <not tablets> & asks for large print."))


def _cancel() -> ncpdp.Prescription:
    return replace(SAMPLE, kind="CancelRx", header=replace(
        SAMPLE.header, message_id="ffee0011", relates_to_message_id=SAMPLE.header.message_id))


def test_a_new_rx_reads_back_to_the_same_values() -> None:
    back = ncpdp.parse_prescription(ncpdp.build(SAMPLE))
    assert back.header == SAMPLE.header
    assert back.medication == SAMPLE.medication
    assert back.patient == replace(SAMPLE.patient, phone="5125550142")
    assert back.pharmacy == replace(SAMPLE.pharmacy, phone="5125550101")
    assert back.prescriber == replace(SAMPLE.prescriber, phone="5125550100")


def test_a_cancel_rx_reads_back_and_names_the_new_rx_it_cancels() -> None:
    back = ncpdp.parse_prescription(ncpdp.build(_cancel()))
    assert back.kind == "CancelRx"
    assert back.header.relates_to_message_id == SAMPLE.header.message_id
    assert back.medication == SAMPLE.medication


def test_the_message_has_the_2017071_envelope_and_codes() -> None:
    root = ET.fromstring(ncpdp.build(SAMPLE))
    ns = {"s": ncpdp.NAMESPACE}

    def at(path: str) -> ET.Element:
        found = root.find(path, ns)
        assert found is not None, path
        return found

    med = "s:Body/s:NewRx/s:MedicationPrescribed/"
    assert root.tag == f"{{{ncpdp.NAMESPACE}}}Message"
    assert root.get("TransactionVersion") == "20170715"
    assert (at("s:Header/s:To").get("Qualifier"), at("s:Header/s:To").text) == ("P", "4410011")
    assert at("s:Header/s:From").text == "1234567893"
    assert at(med + "s:DrugCoded/s:DrugDBCode/s:Qualifier").text == "SCD"
    assert at(med + "s:Quantity/s:QuantityUnitOfMeasure/s:Code").text == "C48480"
    assert at(med + "s:Substitutions").text == "1"  # the prescriber forbids substitution


def test_a_complete_message_has_no_problems() -> None:
    assert check_message(ncpdp.build(SAMPLE)) == []
    assert check_message(ncpdp.build(_cancel())) == []


def _without(message: bytes, kind: str, path: str) -> bytes:
    root = ET.fromstring(message)
    ET.register_namespace("", ncpdp.NAMESPACE)
    prefix = "Header" if path in {p for p, _l, _c in HEADER_FIELDS + CANCEL_FIELDS} \
        else f"Body/{kind}"
    parts = f"{prefix}/{path}".split("/")
    ns = f"{{{ncpdp.NAMESPACE}}}"
    parent = root.find("/".join(ns + p for p in parts[:-1]))
    assert parent is not None, path
    child = parent.find(ns + parts[-1])
    assert child is not None, path
    parent.remove(child)
    return ET.tostring(root)


@pytest.mark.parametrize(("path", "label"), [(p, label) for p, label, _c in
                                             HEADER_FIELDS + BODY_FIELDS])
def test_validate_names_each_missing_required_field_of_a_new_rx(path: str, label: str,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 ) -> None:
    broken = _without(ncpdp.build(SAMPLE), "NewRx", path)
    problems = check_message(broken)
    assert [(p.label, p.message) for p in problems if p.field.endswith(path)] == \
        [(label, "missing")]
    file = tmp_path / "newrx.xml"
    file.write_bytes(broken)
    assert main(["erx", "validate", str(file)]) == 1
    assert f"{label} (" in capsys.readouterr().out


@pytest.mark.parametrize(("path", "label"), [(p, label) for p, label, _c in CANCEL_FIELDS])
def test_validate_names_each_missing_field_only_a_cancel_needs(path: str, label: str) -> None:
    problems = check_message(_without(ncpdp.build(_cancel()), "CancelRx", path))
    assert [p.label for p in problems] == [label]


@pytest.mark.parametrize(("change", "label", "why"), [
    (lambda m: replace(m, pharmacy=replace(m.pharmacy, npi="1912345678")), "pharmacy NPI",
     "check digit"),
    (lambda m: replace(m, patient=replace(m.patient, gender="X")), "patient gender", "one of"),
    (lambda m: replace(m, patient=replace(m.patient, date_of_birth=date(2999, 1, 1))),
     "patient date of birth", "future"),
    (lambda m: replace(m, patient=replace(m.patient, address=replace(ADDRESS, state="Texas"))),
     "patient state", "two-letter"),
    (lambda m: replace(m, patient=replace(m.patient, phone="555-0142")), "patient phone",
     "10-digit"),
    (lambda m: replace(m, medication=replace(m.medication, refills=12)), "refills", "0 to 11"),
    (lambda m: replace(m, medication=replace(m.medication, quantity=Decimal("-3"))), "quantity",
     "plain decimal"),
    (lambda m: replace(m, medication=replace(m.medication, quantity=Decimal("0"))), "quantity",
     "more than zero"),

    (lambda m: replace(m, medication=replace(m.medication, quantity_unit="C99999")),
     "quantity unit", "one of"),
    (lambda m: replace(m, medication=replace(m.medication, note="x" * 211)),
     "note to the pharmacist", "longer than 210"),
])
def test_validate_names_malformed_fields(change, label: str, why: str) -> None:  # type: ignore[no-untyped-def]
    problems = check_message(ncpdp.build(change(SAMPLE)))
    assert [p.label for p in problems] == [label]
    assert why in problems[0].message


def test_to_must_be_the_pharmacy_named_in_the_body() -> None:
    text = ncpdp.build(SAMPLE).replace(b'<To Qualifier="P">4410011', b'<To Qualifier="P">4410022')
    assert [p.message for p in check_message(text)] == [
        "is not the pharmacy named in the message"]


@pytest.mark.parametrize("text", [b"", b"not xml", b"<Message><Header/></Message>",
                                  b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">]>'
                                  b"<Message>&a;</Message>"])
def test_what_is_not_a_message_is_one_problem_and_no_crash(text: bytes, tmp_path: Path) -> None:
    assert len(check_message(text)) == 1
    file = tmp_path / "bad.xml"
    file.write_bytes(text)
    assert main(["erx", "validate", str(file)]) == 1


def test_validate_exits_0_for_a_complete_file_and_2_for_no_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "ok.xml"
    file.write_bytes(ncpdp.build(SAMPLE))
    assert main(["erx", "validate", str(file)]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["erx", "validate", str(tmp_path / "missing.xml")]) == 2


@pytest.mark.parametrize(("kind", "code", "accepted", "transient"), [
    ("Status", "010", True, False), ("Status", "000", True, False),
    ("Verify", "010", True, False), ("Error", "900", False, False),
    ("Error", "601", False, True)])
def test_answers_read_back(kind: str, code: str, accepted: bool, transient: bool) -> None:
    sent = ncpdp.Answer(kind=kind, code=code, relates_to_message_id="abc12345",
                        description="Pharmacy said <so> & so", description_code="1000")
    text = ncpdp.build_answer(sent, message_id="m1", sent_time=datetime.now(UTC),
                              to="1234567893", sender="SIM")
    back = ncpdp.parse_answer(text)
    assert back == sent
    assert (back.accepted, back.transient) == (accepted, transient)


@pytest.mark.parametrize("text", [b"<html>502 Bad Gateway</html>", b"{}",
                                  b"<Message><Body><Status/></Body></Message>",
                                  b"<Message><Body><NewRx/></Body></Message>"])
def test_an_answer_that_is_not_status_error_or_verify_is_refused(text: bytes) -> None:
    with pytest.raises(ncpdp.MessageError):
        ncpdp.parse_answer(text)


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893")  # the CMS worked example
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")


@given(st.text(max_size=300))
def test_any_free_text_goes_through_as_text(note: str) -> None:
    printable = "".join(ch for ch in note if ch.isprintable())[:210]
    message = replace(SAMPLE, medication=replace(SAMPLE.medication, note=printable))
    assert ncpdp.parse_prescription(ncpdp.build(message)).medication.note == printable.strip()


def test_a_control_character_in_free_text_does_not_break_the_message() -> None:
    message = replace(SAMPLE, medication=replace(SAMPLE.medication, note="Call\x07 first\x00"))
    data = ncpdp.build(message)
    assert check_message(data) == []
    assert ncpdp.parse_prescription(data).medication.note == "Call  first"


def fullwidth(digits: str) -> str:
    """The same digits as FULLWIDTH DIGIT characters (U+FF10...)."""
    return "".join(chr(0xFF10 + int(d)) for d in digits)


def test_an_npi_in_other_digits_is_not_an_npi() -> None:
    assert not npi_is_valid(fullwidth("1234567893"))


@pytest.mark.parametrize(("written", "replacement", "label"), [
    (b"<Value>30</Value>", "<Value>1E+2</Value>", "quantity"),
    (b"<Number>5125550142</Number>", f"<Number>{fullwidth('5125550142')}</Number>",
     "patient phone"),
])
def test_numbers_a_file_may_hold_that_no_pharmacy_reads(written: bytes, replacement: str,
                                                         label: str) -> None:
    text = ncpdp.build(SAMPLE).replace(written, replacement.encode("utf-8"))
    assert [p.label for p in check_message(text)] == [label]
