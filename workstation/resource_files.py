"""Finding and reading the data files in ``resources/`` (conditions, pharmacies, ...)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.core.conditions import ConditionList


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


@dataclass(frozen=True)
class Resources:
    conditions: ConditionList
    pharmacies: tuple[Pharmacy, ...]

    def pharmacy(self, ncpdp_id: str) -> Pharmacy | None:
        return next((p for p in self.pharmacies if p.ncpdp_id == ncpdp_id), None)

    def search_pharmacies(self, query: str, limit: int = 20) -> list[Pharmacy]:
        """Partial, case-insensitive match on name, city, ZIP or NCPDP ID."""
        words = query.casefold().split()
        hits = [
            p for p in self.pharmacies
            if all(
                any(w in field.casefold() for field in (p.name, p.city, p.postal_code, p.ncpdp_id,
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
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def load_resources(path: Path | None = None) -> Resources:
    base = path or resources_dir()
    conditions = ConditionList.from_records(_read(base / "conditions.json")["conditions"])
    pharmacies = tuple(Pharmacy(**p) for p in _read(base / "pharmacies.json")["pharmacies"])
    return Resources(conditions, pharmacies)
