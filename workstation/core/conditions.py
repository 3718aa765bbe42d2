"""The fixed list of conditions a patient may be seen for by video or E-Visit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Condition:
    code: str
    name: str
    e_visit: bool
    service_line: str


class ConditionList:
    """The conditions of a site, looked up by code."""

    def __init__(self, conditions: Iterable[Condition]) -> None:
        self._by_code = {c.code: c for c in conditions}

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ConditionList:
        """Build from the records of ``resources/conditions.json``."""
        return cls(
            Condition(
                code=str(r["code"]),
                name=str(r["name"]),
                e_visit=bool(r.get("e_visit", False)),
                service_line=str(r.get("service_line", "urgent_care")),
            )
            for r in records
        )

    def get(self, code: str) -> Condition | None:
        return self._by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)
