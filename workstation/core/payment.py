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
    AUTHORIZED = "authorized"  # held on the card, captured once the visit is saved
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
class ProcessorCard:
    """A card as the processor's own element in the page made it known (a Stripe PaymentMethod
    id): the hub never sees its number."""

    token: str
    last4: str
    holder: str


PaymentSource = CardDetails | ProcessorCard


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


class PaymentUnavailable(Exception):
    """The processor could not be reached or failed; nothing is known to have happened."""


class PaymentProcessor(Protocol):
    """Authorise, then capture or void. Every call carries a key: the same call made again
    with the same key (a retry after a lost answer, a page submitted twice, a hub restarted)
    does nothing more than the first one did."""

    def authorize(
        self, *, amount: Decimal, currency: str, method: PaymentMethod, card: PaymentSource,
        now: datetime, key: str,
    ) -> str:
        """Hold the amount on the card; return the processor's reference for the hold, or
        raise PaymentDeclined (the patient can act on it) or PaymentUnavailable."""

    def capture(self, reference: str, *, key: str) -> None:
        """Take the held amount. Raises PaymentUnavailable; done again, it changes nothing."""

    def void(self, reference: str, *, key: str) -> None:
        """Release a hold that was never captured (its visit was not saved)."""

    def hold_for(self, key: str) -> str | None:
        """The reference of the hold authorised under ``key``, if the processor made one
        (after a crash between authorising and writing the reference down)."""


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

    A clinic replaces it with its merchant gateway behind the same interface. It keeps, in
    memory, what a processor would: the hold made under each key and what became of it.
    """

    def __init__(self) -> None:
        self._count = 0
        self.holds: dict[str, str] = {}  # key -> reference
        self.states: dict[str, str] = {}  # reference -> authorized | captured | voided

    def authorize(
        self, *, amount: Decimal, currency: str, method: PaymentMethod, card: PaymentSource,
        now: datetime, key: str,
    ) -> str:
        if key in self.holds:
            return self.holds[key]
        if not isinstance(card, CardDetails):
            raise PaymentDeclined("This clinic takes the card details on this page.")
        problems = validate_card(card, now)
        if problems:
            raise PaymentDeclined(" ".join(problems))
        self._count += 1
        reference = f"local-{now:%Y%m%d%H%M%S}-{self._count}"
        self.holds[key] = reference
        self.states[reference] = "authorized"
        return reference

    def capture(self, reference: str, *, key: str) -> None:
        if self.states.get(reference) == "voided":
            raise PaymentUnavailable("This hold was released; it cannot be captured.")
        self.states[reference] = "captured"

    def void(self, reference: str, *, key: str) -> None:
        if self.states.get(reference) == "authorized":
            self.states[reference] = "voided"

    def hold_for(self, key: str) -> str | None:
        return self.holds.get(key)
