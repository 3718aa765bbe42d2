"""The formulary: the outpatient drugs this service prescribes, and structured directions (sig).

Read from ``resources/formulary.json`` (RxNorm codes, with where each was checked) by
``resource_files``; this module only gives the data its shape and the sig its words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# code → (words in the sig, doses a day; None where it does not repeat)
FREQUENCIES: dict[str, tuple[str, int | None]] = {
    "QD": ("once a day", 1),
    "BID": ("twice a day", 2),
    "TID": ("3 times a day", 3),
    "QID": ("4 times a day", 4),
    "Q4H": ("every 4 hours", 6),
    "Q6H": ("every 6 hours", 4),
    "Q8H": ("every 8 hours", 3),
    "Q12H": ("every 12 hours", 2),
    "QHS": ("at bedtime", 1),
    "ONCE": ("once", None),
}
ROUTES: dict[str, str] = {
    "oral": "by mouth",
    "nasal": "in each nostril",
    "ophthalmic": "in the affected eye",
    "topical": "to the affected area",
}
DOSE_UNITS = ("capsule", "tablet", "mL", "g", "spray", "drop", "application", "packet")
DISPENSE_UNITS = ("capsule", "tablet", "mL", "g")
SCHEDULES = ("II", "III", "IV", "V")
_VERBS = {"spray": "Use", "drop": "Instill", "application": "Apply"}
_PLURALS = {"capsule": "capsules", "tablet": "tablets", "spray": "sprays", "drop": "drops",
            "application": "applications", "packet": "packets"}


class FormularyError(ValueError):
    """The formulary data is not what the program expects; says which entry and why."""


def unit_words(unit: str, amount: Decimal) -> str:
    """"1 capsule", "2 capsules", "17 g": the unit as a sig says it."""
    shown = format(amount.normalize(), "f")
    word = unit if amount == 1 else _PLURALS.get(unit, unit)
    return f"{shown} {word}"


@dataclass(frozen=True)
class Sig:
    """Structured directions: what the pane edits; ``text`` is what the pharmacy prints."""

    dose: Decimal
    dose_unit: str
    route: str
    frequency: str
    duration_days: int | None
    prn: bool = False

    @property
    def doses_per_day(self) -> int | None:
        return FREQUENCIES[self.frequency][1]

    @property
    def text(self) -> str:
        verb = _VERBS.get(self.dose_unit, "Take")
        words = [verb, unit_words(self.dose_unit, self.dose), ROUTES.get(self.route, self.route),
                 FREQUENCIES[self.frequency][0]]
        if self.prn:
            words.append("as needed")
        if self.duration_days and self.frequency != "ONCE":
            words.append(f"for {self.duration_days} day{'s' if self.duration_days != 1 else ''}")
        return " ".join(words) + "."

    def total_doses(self) -> Decimal | None:
        """How much the whole course takes, in the dose unit; None where it cannot be known."""
        if self.frequency == "ONCE":
            return self.dose
        per_day = self.doses_per_day
        if per_day is None or not self.duration_days:
            return None
        return self.dose * per_day * self.duration_days


@dataclass(frozen=True)
class Drug:
    rxcui: str
    name: str
    ingredient: str
    strength: str
    dose_form: str
    route: str
    classes: tuple[str, ...]
    dea_schedule: str | None
    conditions: tuple[str, ...]
    sig: Sig
    quantity: Decimal
    quantity_unit: str
    days_supply: int
    max_per_dose: Decimal
    max_per_day: Decimal
    source: str

    @property
    def controlled(self) -> bool:
        return self.dea_schedule is not None

    @property
    def ingredients(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.ingredient.split("/"))


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise FormularyError(f"{where}: {value!r} is not a number") from exc


def drug_from_mapping(entry: Mapping[str, Any]) -> Drug:
    """One formulary entry; FormularyError names the entry and the field that is wrong."""
    where = f"formulary entry {entry.get('rxcui', '?')}"
    try:
        sig, dispense, usual = entry["sig"], entry["dispense"], entry["usual_dose"]
        schedule = entry.get("dea_schedule")
        drug = Drug(
            rxcui=str(entry["rxcui"]), name=str(entry["name"]),
            ingredient=str(entry["ingredient"]), strength=str(entry["strength"]),
            dose_form=str(entry["dose_form"]), route=str(entry["route"]),
            classes=tuple(entry["classes"]), dea_schedule=schedule,
            conditions=tuple(entry.get("conditions", ())),
            sig=Sig(dose=_decimal(sig["dose"], where), dose_unit=str(sig["dose_unit"]),
                    route=str(entry["route"]), frequency=str(sig["frequency"]),
                    duration_days=sig.get("duration_days"), prn=bool(sig.get("prn", False))),
            quantity=_decimal(dispense["quantity"], where),
            quantity_unit=str(dispense["unit"]), days_supply=int(dispense["days_supply"]),
            max_per_dose=_decimal(usual["max_per_dose"], where),
            max_per_day=_decimal(usual["max_per_day"], where),
            source=str(entry.get("source", "")))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FormularyError):
            raise
        raise FormularyError(f"{where}: {exc!r} is missing or wrong") from exc
    problems = [
        (not drug.rxcui.isdigit(), "the RxNorm code is not digits"),
        (drug.route not in ROUTES, f"unknown route {drug.route}"),
        (drug.sig.dose_unit not in DOSE_UNITS, f"unknown dose unit {drug.sig.dose_unit}"),
        (drug.quantity_unit not in DISPENSE_UNITS, f"unknown unit {drug.quantity_unit}"),
        (drug.sig.frequency not in FREQUENCIES, f"unknown frequency {drug.sig.frequency}"),
        (schedule is not None and schedule not in SCHEDULES, f"unknown schedule {schedule}"),
    ]
    for wrong, why in problems:
        if wrong:
            raise FormularyError(f"{where}: {why}")
    return drug


def _words(text: str) -> list[str]:
    return text.casefold().replace("/", " ").replace("-", " ").split()


class Formulary:
    """The drugs, searchable by name, ingredient or RxNorm code, with shortlists by condition."""

    def __init__(self, drugs: Iterable[Drug]) -> None:
        self.drugs: tuple[Drug, ...] = tuple(drugs)
        self._by_rxcui = {drug.rxcui: drug for drug in self.drugs}
        if len(self._by_rxcui) != len(self.drugs):
            raise FormularyError("an RxNorm code appears twice in the formulary")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Formulary:
        return cls(drug_from_mapping(entry) for entry in data.get("drugs", ()))

    def get(self, rxcui: str) -> Drug | None:
        return self._by_rxcui.get(rxcui)

    def shortlist(self, condition: str) -> tuple[Drug, ...]:
        """The drugs commonly used for this condition, not controlled ones."""
        return tuple(d for d in self.drugs if condition in d.conditions and not d.controlled)

    def search(self, typed: str, limit: int = 30) -> tuple[Drug, ...]:
        """Drugs whose name or code matches every word typed (word starts), best first."""
        words = _words(typed)
        if not words:
            return ()
        found = []
        for drug in self.drugs:
            if typed.strip() == drug.rxcui:
                return (drug,)
            haystack = _words(f"{drug.name} {drug.ingredient} {' '.join(drug.classes)}")
            if all(any(w.startswith(word) for w in haystack) for word in words):
                found.append(drug)
        typed_text = " ".join(words)
        found.sort(key=lambda d: (not " ".join(_words(d.name)).startswith(typed_text),
                                  not d.ingredient.casefold().startswith(words[0]),
                                  len(d.ingredients), d.name))
        return tuple(found[:limit])

    def mentioned_in(self, text: str) -> Sequence[Drug]:
        """Formulary drugs whose ingredient a free text names ("takes cetirizine daily")."""
        lowered = text.casefold()
        return [d for d in self.drugs if any(i and i in lowered for i in d.ingredients)]
