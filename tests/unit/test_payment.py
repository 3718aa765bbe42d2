"""Paying the visit fee: card checks a patient can act on, and no card number left behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from workstation.core.payment import (
    CardDetails,
    PaymentDeclined,
    PaymentMethod,
    PaymentUnavailable,
    RecordingProcessor,
    luhn_valid,
    validate_card,
)

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
VISA = "4111111111111111"


def card(number: str = VISA, month: int = 12, year: int = 2030,
         holder: str = "Rosalind Quartermaine") -> CardDetails:
    return CardDetails(number, month, year, holder)


def charge(processor: RecordingProcessor, details: CardDetails,
           method: PaymentMethod = PaymentMethod.CARD, key: str | None = None) -> str:
    return processor.authorize(amount=Decimal("49.00"), currency="USD", method=method,
                               card=details, now=NOW, key=key or str(uuid.uuid4()))


@pytest.mark.parametrize("number", [
    "4111111111111111",  # Visa test number
    "4012888888881881",
    "5555555555554444",  # Mastercard
    "378282246310005",  # American Express, 15 digits
    "6011111111111117",  # Discover
    "4222222222222",  # 13-digit Visa
    "6304000000000000",  # 16-digit Maestro
])
def test_real_test_card_numbers_pass(number: str):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", [
    "4111111111111112",  # last digit off by one
    "4111111111111121",  # two neighbouring digits swapped
    "1234567812345678",
    "41111111111",  # 11 digits: too short even though it could checksum
    "0" * 11,
    "4" + "0" * 19,  # 20 digits: too long
    "",
    "4111 1111 1111 1111",  # the hub strips spaces before this point
    "4111-1111-1111-1111",
    "411111111111111a",
])
def test_mistyped_or_malformed_numbers_fail(number: str):
    assert not luhn_valid(number)


def test_the_length_bounds_are_12_and_19_digits():
    assert luhn_valid("0" * 12)
    assert luhn_valid("0" * 19)
    assert not luhn_valid("0" * 20)


@pytest.mark.parametrize("number", [
    "²" * 16,  # superscript two: str.isdigit() says yes, int() says no
    "٤١١١١١١١١١١١١١١١",  # Arabic-Indic digits of the Visa test number
], ids=["superscript", "arabic-indic"])
def test_non_ascii_digits_are_an_invalid_card_not_a_crash(number: str):
    # BUG: luhn_valid checks str.isdigit(), which is true for these; the superscript case
    # then raises ValueError from int(), and the Arabic-Indic case is passed as valid.
    assert luhn_valid(number) is False


def test_a_superscript_digit_is_declined_not_a_server_error():
    # The hub's card schema also uses str.isdigit(), so "4111 1111 1111 111²" reaches here.
    with pytest.raises(PaymentDeclined, match="card number is not valid"):
        charge(RecordingProcessor(), card(number="411111111111111²"))


def test_a_card_expiring_this_month_still_works():
    assert validate_card(card(month=11, year=2026), NOW) == []


def test_a_card_that_expired_last_month_is_refused():
    assert validate_card(card(month=10, year=2026), NOW) == ["The card has expired."]
    assert validate_card(card(month=12, year=2025), NOW) == ["The card has expired."]


@pytest.mark.parametrize("month", [0, 13, -1])
def test_an_impossible_month_is_named(month: int):
    assert validate_card(card(month=month), NOW) == ["The expiry month must be 1 to 12."]


def test_a_blank_holder_name_is_asked_for():
    assert validate_card(card(holder="   "), NOW) == ["Enter the name on the card."]


def test_every_problem_is_reported_at_once():
    problems = validate_card(card(number="4111111111111112", month=1, year=2020, holder=""),
                             NOW)
    assert problems == ["The card number is not valid. Check the digits.",
                        "The card has expired.", "Enter the name on the card."]


def test_a_good_card_is_charged_and_each_charge_has_its_own_reference():
    processor = RecordingProcessor()

    first = charge(processor, card())
    second = charge(processor, card(), PaymentMethod.HSA)

    assert first.startswith("local-20261124160000-")
    assert first != second


@pytest.mark.parametrize(("details", "expected"), [
    (card(number="4111111111111112"), "The card number is not valid. Check the digits."),
    (card(month=1, year=2024), "The card has expired."),
    (card(holder=""), "Enter the name on the card."),
])
def test_a_bad_card_is_declined_with_words_the_patient_understands(
        details: CardDetails, expected: str):
    with pytest.raises(PaymentDeclined) as caught:
        charge(RecordingProcessor(), details)

    assert str(caught.value) == expected


def test_a_decline_never_repeats_the_card_number():
    bad = "4111111111111112"
    with pytest.raises(PaymentDeclined) as caught:
        charge(RecordingProcessor(), card(number=bad, month=1, year=2020))
    assert bad not in str(caught.value)
    assert bad not in repr(caught.value)


def test_a_declined_card_does_not_use_up_a_reference():
    processor = RecordingProcessor()
    with pytest.raises(PaymentDeclined):
        charge(processor, card(number="4111111111111112"))
    assert charge(processor, card()).endswith("-1")


def test_card_details_never_show_the_number_when_printed():
    details = card(number="5555555555554444", holder="Rosalind Quartermaine")

    for shown in (repr(details), str(details), f"{details}", f"{details!r}",
                  repr([details]), repr({"card": details})):
        assert "5555555555554444" not in shown
        assert "555555555555" not in shown  # not even the first twelve
        assert "Rosalind" not in shown
        assert "4444" in shown  # the last four are what the patient recognises


def test_the_same_key_gives_the_same_hold_and_a_voided_hold_is_never_captured():
    processor = RecordingProcessor()
    first = charge(processor, card(), key="checkin-1")

    assert charge(processor, card(), key="checkin-1") == first  # a retry: no second hold
    assert processor.hold_for("checkin-1") == first
    assert processor.hold_for("checkin-2") is None
    processor.void(first, key="void-1")
    with pytest.raises(PaymentUnavailable):
        processor.capture(first, key="capture-1")
    second = charge(processor, card(), key="checkin-2")
    processor.capture(second, key="capture-2")
    processor.void(second, key="void-2")  # too late to release: it stays captured
    assert processor.states == {first: "voided", second: "captured"}
