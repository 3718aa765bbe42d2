"""The flat visit fee and how it is paid. No card number is ever kept."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    HSA = "hsa"


class PaymentStatus(enum.StrEnum):
    PAID = "paid"
    DECLINED = "declined"
    NOT_DUE = "not_due"


@dataclass(frozen=True)
class CardDetails:
    """What the patient typed. Lives only for the duration of the charge."""

    number: str
    expiry_month: int
    expiry_year: int
    holder: str

    def __repr__(self) -> str:  # never print the number
        return f"CardDetails(last4={self.number[-4:]!r})"


@dataclass(frozen=True)
class Payment:
    """The record kept of a payment: method, last four digits, amount. Never billed to insurance."""

    id: str
    visit_id: str
    method: PaymentMethod
    card_last4: str
    amount: Decimal
    currency: str
    status: PaymentStatus
    processor_reference: str
    paid_at: datetime


class PaymentDeclined(Exception):
    """The processor would not take the payment; the message is safe to show the patient."""


class PaymentProcessor(Protocol):
    def charge(
        self, *, amount: Decimal, currency: str, method: PaymentMethod, card: CardDetails,
        now: datetime,
    ) -> str:
        """Charge the card; return the processor's reference or raise PaymentDeclined."""


def luhn_valid(number: str) -> bool:
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def validate_card(card: CardDetails, now: datetime) -> list[str]:
    """Problems a patient can fix, in words they understand."""
    problems = []
    if not luhn_valid(card.number):
        problems.append("The card number is not valid. Check the digits.")
    if not 1 <= card.expiry_month <= 12:
        problems.append("The expiry month must be 1 to 12.")
    elif (card.expiry_year, card.expiry_month) < (now.year, now.month):
        problems.append("The card has expired.")
    if not card.holder.strip():
        problems.append("Enter the name on the card.")
    return problems


class RecordingProcessor:
    """The embedded default: accepts any valid card and records a reference, charging nothing.

    A clinic replaces it with its merchant gateway behind the same interface.
    """

    def __init__(self) -> None:
        self._count = 0

    def charge(
        self, *, amount: Decimal, currency: str, method: PaymentMethod, card: CardDetails,
        now: datetime,
    ) -> str:
        problems = validate_card(card, now)
        if problems:
            raise PaymentDeclined(" ".join(problems))
        self._count += 1
        return f"local-{now:%Y%m%d%H%M%S}-{self._count}"
