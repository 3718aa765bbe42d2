"""Finding and reading the data files in ``resources/`` (conditions, pharmacies, ...)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from workstation.core.charting import TreatmentPlan
from workstation.core.conditions import ConditionList
from workstation.core.formulary import Formulary, FormularyError
from workstation.core.prescribing import PrescribingRules


@dataclass(frozen=True)
class Pharmacy:
    ncpdp_id: str
    npi: str
    name: str
    address: str
    city: str
    state: str
    postal_code: str
    phone: str
    fax: str
    hours: str


class ResourceFileError(ValueError):
    """A data file in ``resources/`` is missing or not what the program expects; names the file."""


@dataclass(frozen=True)
class Resources:
    conditions: ConditionList
    pharmacies: tuple[Pharmacy, ...]
    # Condition code → the ICD-10-CM codes offered first, most likely first.
    diagnosis_shortlists: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False)
    # What clinicians type ("uti", "pink eye") → the codes they mean, offered first.
    diagnosis_synonyms: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False)
    # Condition code → the plan the provider starts from.
    plan_templates: Mapping[str, TreatmentPlan] = field(
        default_factory=lambda: MappingProxyType({}), hash=False)
    formulary: Formulary = field(default_factory=lambda: Formulary(()), hash=False)
    # Allergy classes, cross-sensitivities and the interaction table.
    prescribing_rules: PrescribingRules = field(default_factory=PrescribingRules, hash=False)

    def shortlist_for(self, condition: str) -> tuple[str, ...]:
        """The diagnosis codes to offer first for this condition; () for an unknown one."""
        return self.diagnosis_shortlists.get(condition, ())

    def synonym_codes(self, typed: str) -> tuple[str, ...]:
        """The codes a clinician's everyday term means ("UTI"); () when it is not one."""
        return self.diagnosis_synonyms.get(" ".join(typed.casefold().split()), ())

    def plan_template(self, condition: str) -> TreatmentPlan:
        """The starting plan for this condition; an empty plan for an unknown one."""
        return self.plan_templates.get(condition, TreatmentPlan())

    def pharmacy(self, ncpdp_id: str) -> Pharmacy | None:
        return next((p for p in self.pharmacies if p.ncpdp_id == ncpdp_id), None)

    def search_pharmacies(self, query: str, limit: int = 20) -> list[Pharmacy]:
        """Partial, case-insensitive match on name, city, ZIP or NCPDP ID."""
        words = query.casefold().split()
        hits = [
            p for p in self.pharmacies
            if all(
                any(w in text.casefold() for text in (p.name, p.city, p.postal_code, p.ncpdp_id,
                                                       p.address))
                for w in words
            )
        ]
        return hits[:limit]


def resources_dir() -> Path:
    """``WORKSTATION_RESOURCES``, the source tree's ``resources/``, or the installed copy."""
    override = os.environ.get("WORKSTATION_RESOURCES")
    candidates = [Path(override)] if override else []
    candidates += [
        Path(__file__).resolve().parent.parent / "resources",
        Path(sys.prefix) / "share" / "workstation" / "resources",
    ]
    for path in candidates:
        if (path / "conditions.json").is_file():
            return path
    raise FileNotFoundError(
        "The resources folder (conditions, pharmacies) was not found; reinstall the workstation "
        "or set WORKSTATION_RESOURCES."
    )


def _read(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ResourceFileError(f"{path} is missing; reinstall the workstation.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResourceFileError(f"{path} could not be read: {exc}") from exc


def _section(path: Path, key: str) -> dict[str, Any]:
    """The object under ``key`` at the top of a JSON file, or an error naming the file."""
    data = _read(path)
    section = data.get(key) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ResourceFileError(f"{path} has no \"{key}\" object.")
    return section


def _read_shortlists(path: Path, section: str = "shortlists",
                     ) -> Mapping[str, tuple[str, ...]]:
    """Name -> codes: the shortlists by condition, or the synonyms by what clinicians type."""
    shortlists: dict[str, tuple[str, ...]] = {}
    for name, codes in _section(path, section).items():
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            raise ResourceFileError(
                f"{path}: the list for \"{name}\" must be a list of codes.")
        shortlists[name.casefold() if section == "synonyms" else name] = tuple(codes)
    return MappingProxyType(shortlists)


def _read_plan_templates(path: Path) -> Mapping[str, TreatmentPlan]:
    known = {f.name for f in fields(TreatmentPlan)}
    templates: dict[str, TreatmentPlan] = {}
    for condition, template in _section(path, "templates").items():
        if not isinstance(template, dict) or not all(isinstance(v, str)
                                                     for v in template.values()):
            raise ResourceFileError(
                f"{path}: the template for \"{condition}\" must be an object of texts.")
        unknown = sorted(set(template) - known)
        if unknown:  # a misspelt field would otherwise vanish from the plan without a word
            raise ResourceFileError(
                f"{path}: the template for \"{condition}\" has unknown fields "
                f"{', '.join(unknown)}; expected {', '.join(sorted(known))}.")
        templates[condition] = TreatmentPlan.from_mapping(template)
    return MappingProxyType(templates)


def load_resources(path: Path | None = None) -> Resources:
    """Read every data file of ``resources/``.

    Raises:
        ResourceFileError: a file is missing or is not JSON, or the shortlists or plan
            templates are not shaped as expected; the message names the file. (Shortlisted codes
            are checked against ICD-10-CM by the tests, not here: that would load the
            classification at start.)
    """
    base = path or resources_dir()
    conditions = ConditionList.from_records(_read(base / "conditions.json")["conditions"])
    pharmacies = tuple(Pharmacy(**p) for p in _read(base / "pharmacies.json")["pharmacies"])
    return Resources(
        conditions,
        pharmacies,
        diagnosis_shortlists=_read_shortlists(base / "diagnosis_shortlists.json"),
        diagnosis_synonyms=_read_shortlists(base / "diagnosis_synonyms.json", "synonyms"),
        plan_templates=_read_plan_templates(base / "plan_templates.json"),
        formulary=_read_formulary(base / "formulary.json"),
        prescribing_rules=_read_rules(base / "allergy_classes.json",
                                      base / "drug_interactions.json"),
    )


def _read_formulary(path: Path) -> Formulary:
    try:
        return Formulary.from_mapping(_read(path))
    except FormularyError as exc:
        raise ResourceFileError(f"{path}: {exc}") from exc


def _read_rules(allergy_path: Path, interactions_path: Path) -> PrescribingRules:
    allergy, interactions = _read(allergy_path), _read(interactions_path)
    try:
        return PrescribingRules.from_mappings(allergy, interactions)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ResourceFileError(
            f"{allergy_path} or {interactions_path} is not shaped as expected: {exc!r}") from exc
