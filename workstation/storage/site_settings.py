"""Site settings kept in the database: the practice address and phone as the embedded hub's
first provider set them (at first run, then in Settings > Practice).

The site configuration file gives the default; what is kept here wins on the embedded hub (the
hub decides that, see ``workstation/hub/provider_accounts.py``). A clinic's hub takes them from
the file alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.core.audit import AuditEvent
from workstation.core.people import Address
from workstation.core.practice import Practice
from workstation.storage.orm import ProviderRow, SiteSettingRow
from workstation.storage.repository import Repository
from workstation.storage.rows import audit_row

PRACTICE_ADDRESS = "practice.address"
PRACTICE_PHONE = "practice.phone"


def _address_value(a: Address) -> dict[str, str]:
    return {"line1": a.line1, "line2": a.line2, "city": a.city, "state": a.state,
            "postal_code": a.postal_code}


def _address(value: Any) -> Address | None:
    if not isinstance(value, Mapping) or not value.get("line1"):
        return None
    return Address(str(value["line1"]), str(value.get("city", "")),
                   str(value.get("state", "")), str(value.get("postal_code", "")),
                   str(value.get("line2", "")))


def read_practice(s: Session) -> Practice:
    """What was saved (None and "" for what was not: the site file's values apply)."""
    rows = {r.key: r.value for r in s.scalars(
        select(SiteSettingRow).where(SiteSettingRow.key.in_((PRACTICE_ADDRESS,
                                                             PRACTICE_PHONE))))}
    phone = rows.get(PRACTICE_PHONE)
    return Practice(_address(rows.get(PRACTICE_ADDRESS)),
                    phone if isinstance(phone, str) else "")


def write_practice(s: Session, practice: Practice, now: datetime, actor: str) -> None:
    """Keep the practice's address and phone; a missing one is forgotten (the file's applies)."""
    values: dict[str, Any] = {
        PRACTICE_ADDRESS: _address_value(practice.address) if practice.address else None,
        PRACTICE_PHONE: practice.phone or None,
    }
    for key, value in values.items():
        row = s.get(SiteSettingRow, key)
        if value is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(SiteSettingRow(key=key, value=value, updated_at=now, updated_by=actor))
        else:
            row.value = value
            row.updated_at = now
            row.updated_by = actor


class SiteSettingsStore:
    """The site settings kept in the database, on the engine of a repository of this package."""

    def __init__(self, repository: Repository) -> None:
        self._sessions = repository.sessions

    def practice(self) -> Practice:
        with self._sessions() as s:
            return read_practice(s)

    def save_practice(self, practice: Practice, *, now: datetime, actor: str,
                      npi_of: str | None = None, npi: str = "",
                      audit: Iterable[AuditEvent] = ()) -> None:
        """Keep the practice's address and phone and, for provider ``npi_of``, their NPI, with
        the audit events, in one transaction."""
        with self._sessions.begin() as s:
            write_practice(s, practice, now, actor)
            if npi_of is not None:
                provider = s.get(ProviderRow, npi_of)
                if provider is None:
                    raise LookupError(npi_of)
                provider.npi = npi
            for event in audit:
                s.add(audit_row(event))
