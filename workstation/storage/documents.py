"""The outbox of documents for other clinicians (the visit summary for the patient's primary
care provider), and the inbox of the hub's own receiving simulator.

A message is written in the same transaction as the signed note (:meth:`ChartStore.sign`), so a
signed visit whose patient allowed sharing always has its message; a sender leases one due
message at a time, posts it, and records how it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from workstation.storage.orm import DocumentOutboxRow, PrimaryCareInboxRow
from workstation.storage.outbox import DELIVERED, QUEUED, SENDING, claim_due, next_due
from workstation.storage.repository import Repository

FAILED = "failed"
__all__ = ["DELIVERED", "FAILED", "QUEUED", "SENDING", "Document", "DocumentStore"]


@dataclass(frozen=True)
class Document:
    message_id: str
    visit_id: str
    recipient: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class DocumentStatus:
    message_id: str
    recipient: str
    state: str
    attempts: int
    last_error: str
    delivered_at: datetime | None


def outbox_row(*, message_id: str, visit_id: str, recipient: str, payload: str,
               now: datetime) -> DocumentOutboxRow:
    """A new message, due now (added by the caller's transaction)."""
    return DocumentOutboxRow(message_id=message_id, visit_id=visit_id, recipient=recipient,
                             payload=payload, state=QUEUED, attempts=0, next_attempt_at=now,
                             lease_until=None, last_error="", created_at=now, delivered_at=None)


class DocumentStore:
    def __init__(self, repository: Repository) -> None:
        self._sessions = repository.sessions

    def for_visit(self, visit_id: str) -> list[DocumentStatus]:
        with self._sessions() as s:
            rows = s.scalars(select(DocumentOutboxRow)
                             .where(DocumentOutboxRow.visit_id == visit_id)
                             .order_by(DocumentOutboxRow.created_at)).all()
            return [DocumentStatus(r.message_id, r.recipient, r.state, r.attempts, r.last_error,
                                   r.delivered_at) for r in rows]

    def claim_one(self, now: datetime, lease: timedelta) -> Document | None:
        """The message due first, leased to the caller (see :func:`claim_due`)."""
        return claim_due(self._sessions, DocumentOutboxRow, now, lease,
                         lambda row, attempts: Document(row.message_id, row.visit_id,
                                                        row.recipient, row.payload, attempts))

    def next_due(self) -> datetime | None:
        return next_due(self._sessions, DocumentOutboxRow)

    def finish(self, document: Document, *, state: str, error: str, now: datetime,
               retry_at: datetime | None = None) -> bool:
        """Record how an attempt ended (delivered, failed, or queued again for ``retry_at``),
        if this attempt still holds the message; False when another sender took it over."""
        values: dict[str, Any] = {"state": state, "last_error": error, "lease_until": None}
        if state == DELIVERED:
            values["delivered_at"] = now
        if state == QUEUED:
            assert retry_at is not None
            values["next_attempt_at"] = retry_at
        with self._sessions.begin() as s:
            got = s.execute(update(DocumentOutboxRow)
                            .where(DocumentOutboxRow.message_id == document.message_id,
                                   DocumentOutboxRow.state == SENDING,
                                   DocumentOutboxRow.attempts == document.attempts)
                            .values(**values).execution_options(synchronize_session=False))
            return bool(got.rowcount == 1)  # type: ignore[attr-defined]

    # --- the receiving simulator ---

    def receive(self, message_id: str, payload: str, now: datetime) -> bool:
        """Keep a received document once by its message id; False for a repeat."""
        try:
            with self._sessions.begin() as s:
                if s.get(PrimaryCareInboxRow, message_id) is not None:
                    return False
                s.add(PrimaryCareInboxRow(message_id=message_id, payload=payload,
                                          received_at=now))
        except IntegrityError:  # the same message twice at once: the first one stands
            return False
        return True

    def inbox(self) -> list[tuple[str, str, datetime]]:
        with self._sessions() as s:
            rows = s.scalars(select(PrimaryCareInboxRow)
                             .order_by(PrimaryCareInboxRow.received_at)).all()
            return [(r.message_id, r.payload, r.received_at) for r in rows]
