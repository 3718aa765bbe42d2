"""Prescription rules: the checks a script passes before it is sent.

A *refusal* cannot be overridden (a controlled substance); a *warning* needs the provider's
reason to go on, and that reason is kept in the audit log. The rule data (allergy classes and
cross-sensitivity, the interaction table) come from ``resources/`` through ``resource_files``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from workstation.core.formulary import FREQUENCIES, Drug, Formulary, Sig
from workstation.core.ncpdp import STATUS_ACCEPTED, Answer

MAX_REFILLS = 11
QUANTITY_SLACK = Decimal("0.1")  # a supply within 10 % (or one day) of the sig's is consistent
# Classes too broad to call two drugs a duplicate (ibuprofen with acetaminophen is usual care).
BROAD_CLASSES = frozenset({"analgesic"})
# Eye drops and skin creams reach the blood in amounts too small for the interaction table,
# which is about systemic exposure (moxifloxacin drops do not raise tizanidine levels).
LOCAL_ROUTES = frozenset({"ophthalmic", "topical"})


class RxStatus(enum.StrEnum):
    """Where a script is: in the outbox, with the network, taken by the pharmacy, or not."""

    QUEUED = "queued"  # in the outbox; retried until the gateway answers
    SENT = "sent"  # the network has it (Status 000)
    ACCEPTED = "accepted"  # the pharmacy has it (Status or Verify 010)
    ERROR = "error"  # refused, with the reason; nothing more is tried
    CANCELLING = "cancelling"  # a CancelRx is in the outbox
    CANCELLED = "cancelled"  # the pharmacy confirmed the cancel
    CANCEL_FAILED = "cancel_failed"  # the pharmacy refused the cancel; call them
    WITHDRAWN = "withdrawn"  # cancelled before it ever left


# Where each status may be reached from. Answers can overtake each other (a pharmacy's Verify
# before the sender has written the network's receipt); a status never goes back.
MOVES_FROM: dict[RxStatus, frozenset[RxStatus]] = {
    RxStatus.SENT: frozenset({RxStatus.QUEUED}),
    RxStatus.ACCEPTED: frozenset({RxStatus.QUEUED, RxStatus.SENT}),
    RxStatus.ERROR: frozenset({RxStatus.QUEUED, RxStatus.SENT}),
    RxStatus.CANCELLING: frozenset({RxStatus.CANCELLING}),
    RxStatus.CANCELLED: frozenset({RxStatus.CANCELLING}),
    RxStatus.CANCEL_FAILED: frozenset({RxStatus.CANCELLING}),
}
# Statuses in which a message is still on its way (a retry's reason is worth showing).
IN_FLIGHT = frozenset({RxStatus.QUEUED, RxStatus.SENT, RxStatus.CANCELLING})

# A script that reached the network may be cancelled with a CancelRx.
CANCELLABLE = frozenset({RxStatus.SENT, RxStatus.ACCEPTED, RxStatus.CANCEL_FAILED})
# A script that never left may be withdrawn from the outbox.
WITHDRAWABLE = frozenset({RxStatus.QUEUED, RxStatus.ERROR})


@dataclass(frozen=True)
class PrescriptionRecord:
    """A script as kept: what was prescribed (``content``) and what the network said."""

    id: str
    visit_id: str
    patient_id: str
    provider_id: str
    content: Mapping[str, Any]
    pharmacy_ncpdp_id: str
    message_id: str
    status: RxStatus
    status_reason: str
    created_at: datetime
    updated_at: datetime
    revision: int = 1


@dataclass(frozen=True)
class Finding:
    kind: str  # controlled, allergy, interaction, duplicate, quantity, dose, field
    severity: str  # "refusal" or "warning"
    message: str

    @property
    def blocks(self) -> bool:
        return self.severity == "refusal"


@dataclass(frozen=True)
class RxDraft:
    """A prescription as the provider writes it, before it becomes a NewRx."""

    drug: Drug
    sig: Sig
    quantity: Decimal
    quantity_unit: str
    days_supply: int
    refills: int = 0
    substitution_allowed: bool = True
    note: str = ""

    @classmethod
    def from_defaults(cls, drug: Drug) -> RxDraft:
        return cls(drug=drug, sig=drug.sig, quantity=drug.quantity,
                   quantity_unit=drug.quantity_unit, days_supply=drug.days_supply)


@dataclass(frozen=True)
class CrossSensitivity:
    allergy_class: str
    drug_class: str
    reason: str


@dataclass(frozen=True)
class Interaction:
    a: str
    b: str
    severity: str
    effect: str
    advice: str
    b_terms: tuple[str, ...] = ()


def _matches(text: str, term: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(term.casefold())}(?![a-z])", text) is not None


@dataclass(frozen=True)
class PrescribingRules:
    """Allergy classes and their cross-sensitivities, and the interaction table."""

    allergens: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # class → terms
    cross: tuple[CrossSensitivity, ...] = ()
    interactions: tuple[Interaction, ...] = ()

    @classmethod
    def from_mappings(cls, allergy: Mapping[str, Any],
                      interactions: Mapping[str, Any]) -> PrescribingRules:
        return cls(
            allergens={str(e["class"]): tuple(str(t).casefold() for t in e["terms"])
                       for e in allergy.get("allergens", ())},
            cross=tuple(CrossSensitivity(str(e["allergy_class"]), str(e["drug_class"]),
                                         str(e.get("reason", "")))
                        for e in allergy.get("cross_sensitivity", ())),
            interactions=tuple(
                Interaction(a=str(e["a"]).casefold(), b=str(e["b"]).casefold(),
                            severity=str(e.get("severity", "moderate")),
                            effect=str(e.get("effect", "")), advice=str(e.get("advice", "")),
                            b_terms=tuple(str(t).casefold() for t in e.get("b_terms", ())))
                for e in interactions.get("interactions", ())))

    def allergy_classes(self, allergies: str) -> dict[str, str]:
        """The classes a patient's allergy text names → the words that named them."""
        lowered = allergies.casefold()
        found: dict[str, str] = {}
        for allergy_class, terms in self.allergens.items():
            for term in terms:
                if _matches(lowered, term):
                    found.setdefault(allergy_class, term)
        return found


def _is(drug: Drug, name: str) -> bool:
    """A drug is ``name`` when name is one of its ingredients or classes."""
    return name in (drug.ingredient.casefold(), *drug.ingredients) \
        or name in (c.casefold() for c in drug.classes)


def _plural(word: str) -> str:
    return word if word.endswith("s") else word + "s"


def check_allergies(draft: RxDraft, allergies: str, rules: PrescribingRules) -> list[Finding]:
    drug, lowered = draft.drug, allergies.casefold()
    findings = []
    for ingredient in drug.ingredients:
        if ingredient and _matches(lowered, ingredient):
            findings.append(Finding("allergy", "warning",
                                    f"Allergy on record to {ingredient}."))
    named = rules.allergy_classes(allergies)
    for allergy_class, term in named.items():
        if allergy_class in drug.classes and not any(f.kind == "allergy" for f in findings):
            findings.append(Finding(
                "allergy", "warning",
                f"Allergy on record to {term}: {drug.ingredient} is a {allergy_class}."))
    for cross in rules.cross:
        if cross.allergy_class in named and cross.drug_class in drug.classes \
                and cross.allergy_class not in drug.classes:
            findings.append(Finding(
                "allergy", "warning",
                f"Allergy on record to {named[cross.allergy_class]} "
                f"({cross.allergy_class}); {drug.ingredient} is a {cross.drug_class}: "
                f"{cross.reason}"))
    return findings


def check_interactions(draft: RxDraft, medications: str, others: Sequence[Drug],
                       rules: PrescribingRules) -> list[Finding]:
    """Against the patient's own medications (free text) and the visit's other scripts."""
    if draft.drug.route in LOCAL_ROUTES:
        return []
    others = [d for d in others if d.route not in LOCAL_ROUTES]
    lowered = medications.casefold()
    findings = []
    for row in rules.interactions:
        for mine, theirs in ((row.a, row.b), (row.b, row.a)):
            if not _is(draft.drug, mine):
                continue
            terms = (theirs, *row.b_terms) if theirs == row.b else (theirs,)
            hit = next((t for t in terms if _matches(lowered, t)), None)
            other = next((d.ingredient for d in others if _is(d, theirs)), None)
            if hit or other:
                findings.append(Finding(
                    "interaction", "warning",
                    f"{row.severity.capitalize()} interaction: {draft.drug.ingredient} with "
                    f"{other or hit}: {row.effect}. {row.advice}".rstrip()))
                break
    return findings


def check_duplicates(draft: RxDraft, medications: str, others: Sequence[Drug],
                     formulary: Formulary) -> list[Finding]:
    findings = []
    taking = [d for d in formulary.mentioned_in(medications)]
    for other, where in [(d, "in this visit") for d in others] + \
            [(d, "in the patient's medications") for d in taking]:
        if other.route != draft.drug.route:
            continue  # eye drops beside tablets of the same class are not the same therapy
        shared = set(draft.drug.ingredients) & set(other.ingredients)
        classes = (set(draft.drug.classes) & set(other.classes)) - BROAD_CLASSES
        if shared:
            findings.append(Finding("duplicate", "warning",
                                    f"Duplicate therapy: {', '.join(sorted(shared))} "
                                    f"already {where}."))
        elif classes:
            findings.append(Finding("duplicate", "warning",
                                    f"Duplicate therapy: {other.ingredient} ("
                                    f"{', '.join(sorted(classes))}) already {where}."))
    return findings


def check_amounts(draft: RxDraft) -> list[Finding]:
    """Quantity against days supply, the dose against the usual range, refills in range."""
    findings = []
    sig, drug = draft.sig, draft.drug
    per_day = FREQUENCIES[sig.frequency][1]
    if sig.dose <= 0 or draft.quantity <= 0 or draft.days_supply <= 0:
        return [Finding("field", "refusal", "Dose, quantity and days supply must be above zero.")]
    if not 0 <= draft.refills <= MAX_REFILLS:
        findings.append(Finding("field", "refusal", f"Refills must be 0 to {MAX_REFILLS}."))
    if sig.dose > drug.max_per_dose:
        findings.append(Finding("dose", "warning",
                                f"Dose {sig.dose} {sig.dose_unit} is above the usual "
                                f"{drug.max_per_dose} per dose for {drug.ingredient}."))
    if per_day is not None and sig.dose * per_day > drug.max_per_day:
        findings.append(Finding("dose", "warning",
                                f"{sig.dose * per_day} {sig.dose_unit} a day is above the usual "
                                f"{drug.max_per_day} a day for {drug.ingredient}."))
    if sig.dose_unit == draft.quantity_unit and per_day is not None:
        daily = sig.dose * per_day
        lasts = draft.quantity / daily
        if sig.prn:
            if lasts < 1:
                findings.append(Finding("quantity", "warning",
                                        f"{draft.quantity} {draft.quantity_unit} is less than "
                                        "one day at the most the sig allows."))
        elif abs(lasts - draft.days_supply) > max(Decimal(1),
                                                  draft.days_supply * QUANTITY_SLACK):
            findings.append(Finding(
                "quantity", "warning",
                f"{draft.quantity.normalize()} {draft.quantity_unit} at {daily.normalize()} a "
                f"day lasts {lasts.quantize(Decimal('0.1')).normalize()} days, "
                f"not the {draft.days_supply} days supply entered."))
        elif (course := sig.total_doses()) is not None and course != draft.quantity:
            # A course with an end: the quantity is exactly what the directions use.
            findings.append(Finding(
                "quantity", "warning",
                f"{draft.quantity.normalize()} {draft.quantity_unit} dispensed, but the "
                f"directions use {course.normalize()} {draft.quantity_unit} in all."))
    return findings


def check_draft(draft: RxDraft, *, allergies: str, medications: str,
                others: Iterable[Drug], formulary: Formulary,
                rules: PrescribingRules) -> list[Finding]:
    """Every finding for this script, refusals first. ``others``: the visit's other scripts."""
    drug = draft.drug
    if drug.controlled:
        return [Finding(
            "controlled", "refusal",
            f"{drug.name} is a schedule {drug.dea_schedule} controlled substance. Electronic "
            "prescribing of controlled substances needs identity proofing and two-factor "
            "signing, which this workstation does not offer. Do not send it from here; "
            "arrange an in-person visit or another prescriber if it is needed.")]
    other_drugs = list(others)
    findings = check_amounts(draft) + check_allergies(draft, allergies, rules) \
        + check_interactions(draft, medications, other_drugs, rules) \
        + check_duplicates(draft, medications, other_drugs, formulary)
    return sorted(findings, key=lambda f: not f.blocks)


def split_name(display_name: str) -> tuple[str, str]:
    """(last, first) from "Amara Okafor, MD": credentials after a comma are not the name."""
    name = display_name.split(",", 1)[0].strip()
    first, _, last = name.rpartition(" ")
    return (last, first) if first else (name, "")


def gender_code(sex: str) -> str:
    """NCPDP's M, F or U from the record's sex."""
    return {"male": "M", "female": "F"}.get(sex, "U")


def status_after_answer(kind: str, answer: Answer) -> tuple[RxStatus, str]:
    """Where a script stands once the network answered its NewRx or CancelRx: Status 000 is
    the network's receipt, 010 the pharmacy's; a cancel is settled by the pharmacy's
    CancelRxResponse, which may come with the answer or later."""
    said = answer.description
    if answer.kind == "CancelRxResponse":
        if answer.code == "Approved":
            return RxStatus.CANCELLED, said or "The pharmacy cancelled it."
        return RxStatus.CANCEL_FAILED, (f"The pharmacy refused the cancel: "
                                        f"{said or 'no reason given'}. Phone the pharmacy.")
    if kind == "CancelRx":
        return RxStatus.CANCELLING, ("The pharmacy network has the cancel request; waiting "
                                     "for the pharmacy's answer.")
    if answer.code == STATUS_ACCEPTED:
        return RxStatus.ACCEPTED, said
    return RxStatus.SENT, said or "The pharmacy network has it; waiting for the pharmacy."
