"""Prescriptions, the e-prescribing outbox, and the pharmacy network simulator's inbox.

A script and its NewRx go into the outbox in the same transaction as the audit event, so a
script is never written without its message or sent without its record. The outbox is claimed
row by row with a conditional update (a lease), so two senders, or one restarted mid-send,
never post a message at the same moment; a message whose lease ran out is posted again with the
same MessageID, which the gateway recognises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from workstation.core.audit import AuditEvent
from workstation.core.prescribing import IN_FLIGHT, MOVES_FROM, PrescriptionRecord, RxStatus
from workstation.storage.orm import ErxOutboxRow, PharmacyInboxRow, PrescriptionRow
from workstation.storage.outbox import claim_due, next_due
from workstation.storage.rows import audit_row
from workstation.storage.store import VisitStore, new_id

QUEUED, SENDING, DELIVERED, FAILED, WITHDRAWN = (
    "queued", "sending", "delivered", "failed", "withdrawn")


class PrescriptionNotFound(LookupError):
    pass


class StatusChanged(ValueError):
    """The script moved on (sent, or being sent) since the provider looked; try again."""


@dataclass(frozen=True)
class OutboxItem:
    message_id: str
    prescription_id: str
    kind: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class Received:
    """A message the simulator kept, with the answer it gave."""

    message_id: str
    ncpdp_id: str
    kind: str
    payload: str
    answer: str
    accepted: bool
    received_at: datetime


def _record(r: PrescriptionRow) -> PrescriptionRecord:
    return PrescriptionRecord(
        id=r.id, visit_id=r.visit_id, patient_id=r.patient_id, provider_id=r.provider_id,
        content=dict(r.content), pharmacy_ncpdp_id=r.pharmacy_ncpdp_id,
        message_id=r.message_id, status=RxStatus(r.status), status_reason=r.status_reason,
        created_at=r.created_at, updated_at=r.updated_at, revision=r.revision)


def _item(r: ErxOutboxRow) -> OutboxItem:
    return OutboxItem(r.message_id, r.prescription_id, r.kind, r.payload, r.attempts)


class PrescriptionStore:
    def __init__(self, store: VisitStore) -> None:
        self._sessions = store.sessions

    # --- scripts ---

    def add(self, *, visit_id: str, patient_id: str, provider_id: str,
            content: Mapping[str, Any], pharmacy_ncpdp_id: str, message_id: str,
            payload: str, now: datetime, audit: Iterable[AuditEvent]) -> PrescriptionRecord:
        """A new script, its NewRx queued, and its audit events: all or nothing."""
        row = PrescriptionRow(
            id=new_id(), visit_id=visit_id, patient_id=patient_id, provider_id=provider_id,
            content=dict(content), pharmacy_ncpdp_id=pharmacy_ncpdp_id, message_id=message_id,
            status=RxStatus.QUEUED.value, status_reason="", revision=1, created_at=now,
            updated_at=now)
        with self._sessions.begin() as s:
            s.add(row)
            s.flush()
            s.add(ErxOutboxRow(message_id=message_id, prescription_id=row.id, kind="NewRx",
                               payload=payload, state=QUEUED, attempts=0, next_attempt_at=now,
                               lease_until=None, last_error="", created_at=now,
                               delivered_at=None))
            s.add_all(audit_row(event) for event in audit)
            s.flush()
            return _record(row)

    def get(self, prescription_id: str) -> PrescriptionRecord:
        with self._sessions() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise PrescriptionNotFound(prescription_id)
            return _record(row)

    def for_visit(self, visit_id: str) -> list[PrescriptionRecord]:
        with self._sessions() as s:
            rows = s.scalars(select(PrescriptionRow).where(PrescriptionRow.visit_id == visit_id)
                             .order_by(PrescriptionRow.created_at, PrescriptionRow.id))
            return [_record(r) for r in rows]

    def by_message(self, message_id: str) -> tuple[PrescriptionRecord, str] | None:
        """The script a NewRx or CancelRx MessageID belongs to, and which of the two it is."""
        with self._sessions() as s:
            row = s.scalar(select(PrescriptionRow).where(or_(
                PrescriptionRow.message_id == message_id,
                PrescriptionRow.cancel_message_id == message_id)))
            if row is None:
                return None
            return _record(row), "NewRx" if row.message_id == message_id else "CancelRx"

    def settle(self, prescription_id: str, *, status: RxStatus, reason: str, now: datetime,
               expected: Iterable[RxStatus], audit: AuditEvent) -> PrescriptionRecord | None:
        """A later answer from the pharmacy moves the script on, if it still stands where the
        answer expects; None when it has moved on already (a late or repeated answer)."""
        with self._sessions.begin() as s:
            moved = s.execute(
                update(PrescriptionRow)
                .where(PrescriptionRow.id == prescription_id,
                       PrescriptionRow.status.in_([e.value for e in expected]))
                .values(status=status.value, status_reason=reason, updated_at=now,
                        revision=PrescriptionRow.revision + 1)
                .execution_options(synchronize_session=False))
            if not _changed(moved):
                return None
            s.add(audit_row(audit))
            row = s.get(PrescriptionRow, prescription_id)
            assert row is not None
            return _record(row)

    def queue_cancel(self, prescription_id: str, *, message_id: str, payload: str,
                     now: datetime, expected: Iterable[RxStatus],
                     audit: AuditEvent) -> PrescriptionRecord:
        """Put a CancelRx in the outbox, if the script is still in one of ``expected``."""
        with self._sessions.begin() as s:
            moved = s.execute(
                update(PrescriptionRow)
                .where(PrescriptionRow.id == prescription_id,
                       PrescriptionRow.status.in_([e.value for e in expected]))
                .values(status=RxStatus.CANCELLING.value, status_reason="",
                        cancel_message_id=message_id, updated_at=now,
                        revision=PrescriptionRow.revision + 1))
            if not _changed(moved):
                raise StatusChanged(prescription_id)
            s.add(ErxOutboxRow(message_id=message_id, prescription_id=prescription_id,
                               kind="CancelRx", payload=payload, state=QUEUED, attempts=0,
                               next_attempt_at=now, lease_until=None, last_error="",
                               created_at=now, delivered_at=None))
            s.add(audit_row(audit))
            row = s.get(PrescriptionRow, prescription_id)
            assert row is not None
            s.flush()
            return _record(row)

    def withdraw(self, prescription_id: str, *, now: datetime,
                 audit: AuditEvent) -> PrescriptionRecord:
        """Take a script out of the outbox that surely never reached a pharmacy: never posted,
        or refused outright. StatusChanged otherwise (being posted, or a post got no answer and
        the pharmacy may have it: that one is cancelled with a CancelRx once answered)."""
        with self._sessions.begin() as s:
            row = s.get(PrescriptionRow, prescription_id)
            if row is None:
                raise PrescriptionNotFound(prescription_id)
            taken = s.execute(
                update(ErxOutboxRow)
                .where(ErxOutboxRow.message_id == row.message_id,
                       or_((ErxOutboxRow.state == QUEUED) & (ErxOutboxRow.attempts == 0),
                           ErxOutboxRow.state == FAILED))
                .values(state=WITHDRAWN).execution_options(synchronize_session=False))
            if not _changed(taken):
                raise StatusChanged(prescription_id)
            row.status, row.status_reason, row.updated_at = RxStatus.WITHDRAWN.value, "", now
            row.revision += 1
            s.add(audit_row(audit))
            s.flush()
            return _record(row)

    # --- the outbox, for the sender ---

    def claim_one(self, now: datetime, lease: timedelta) -> OutboxItem | None:
        """The message due first (or one whose sender's lease ran out), leased to this caller
        just before it is posted; None when nothing is due (see :func:`claim_due`)."""
        return claim_due(self._sessions, ErxOutboxRow, now, lease,
                         lambda row, attempts: OutboxItem(row.message_id, row.prescription_id,
                                                          row.kind, row.payload, attempts))

    def next_due(self) -> datetime | None:
        """When the next queued message is due, or a lease runs out; None for an empty outbox."""
        return next_due(self._sessions, ErxOutboxRow)

    def _finish(self, item: OutboxItem, *, outbox: Mapping[str, Any], status: RxStatus | None,
                reason: str, now: datetime) -> PrescriptionRecord:
        """Record how an attempt ended, if this attempt still holds the message: a sender
        whose lease ran out and whose message another sender took over changes nothing."""
        with self._sessions.begin() as s:
            held = s.execute(update(ErxOutboxRow)
                             .where(ErxOutboxRow.message_id == item.message_id,
                                    ErxOutboxRow.state == SENDING,
                                    ErxOutboxRow.attempts == item.attempts)
                             .values(**outbox).execution_options(synchronize_session=False))
            overriding = not _changed(held) and outbox.get("state") == DELIVERED
            if overriding:
                # The pharmacy network took it: that stands even though this sender's lease
                # ran out (a later failure of the same MessageID must not hide it).
                held = s.execute(update(ErxOutboxRow)
                                 .where(ErxOutboxRow.message_id == item.message_id,
                                        ErxOutboxRow.state != DELIVERED)
                                 .values(**outbox))
            row = s.get(PrescriptionRow, item.prescription_id)
            assert row is not None  # a foreign key
            if not _changed(held):
                return _record(row)
            current = RxStatus(row.status)
            # A delivery that overrides a later attempt's failure undoes that failure too.
            undone = {RxStatus.ERROR, RxStatus.CANCEL_FAILED} if overriding else set()
            if status is not None and current in MOVES_FROM[status] | undone:
                row.status, row.status_reason, row.updated_at = status.value, reason, now
                row.revision += 1
            elif status is None and current in IN_FLIGHT:
                row.status_reason, row.updated_at = reason, now
                row.revision += 1
            s.flush()
            return _record(row)

    def delivered(self, item: OutboxItem, status: RxStatus, reason: str,
                  now: datetime) -> PrescriptionRecord:
        return self._finish(item, outbox={"state": DELIVERED, "delivered_at": now,
                                          "lease_until": None, "last_error": ""},
                            status=status, reason=reason, now=now)

    def failed(self, item: OutboxItem, status: RxStatus, reason: str,
               now: datetime) -> PrescriptionRecord:
        """The gateway refused the message: kept in the outbox with the reason, not retried."""
        return self._finish(item, outbox={"state": FAILED, "lease_until": None,
                                          "last_error": reason},
                            status=status, reason=reason, now=now)

    def retry_later(self, item: OutboxItem, reason: str, at: datetime,
                    now: datetime) -> PrescriptionRecord:
        """Not delivered this time; due again at ``at``. The script keeps its status."""
        return self._finish(item, outbox={"state": QUEUED, "next_attempt_at": at,
                                          "lease_until": None, "last_error": reason},
                            status=None, reason=reason, now=now)

    def outbox_item(self, message_id: str) -> OutboxItem | None:
        with self._sessions() as s:
            row = s.get(ErxOutboxRow, message_id)
            return None if row is None else _item(row)

    def about(self, message_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """MessageID → (patient id, visit id) of the script a NewRx or CancelRx carries."""
        ids = list(message_ids)
        with self._sessions() as s:
            rows = s.scalars(select(PrescriptionRow).where(or_(
                PrescriptionRow.message_id.in_(ids), PrescriptionRow.cancel_message_id.in_(ids))))
            found: dict[str, tuple[str, str]] = {}
            for r in rows:
                for mid in (r.message_id, r.cancel_message_id):
                    if mid:
                        found[mid] = (r.patient_id, r.visit_id)
            return found

    def outbox(self) -> list[tuple[OutboxItem, str, str]]:
        """Every message with its state and last error (for IT and tests)."""
        with self._sessions() as s:
            rows = s.scalars(select(ErxOutboxRow).order_by(ErxOutboxRow.created_at))
            return [(_item(r), r.state, r.last_error) for r in rows]

    # --- the pharmacy network simulator's inbox ---

    def received(self, message_id: str) -> Received | None:
        with self._sessions() as s:
            row = s.get(PharmacyInboxRow, message_id)
            return None if row is None else _received(row)

    def receive(self, message: Received) -> Received:
        """Keep a message once; a repeat of its MessageID gets the first one back."""
        try:
            with self._sessions.begin() as s:
                s.add(PharmacyInboxRow(**message.__dict__))
        except IntegrityError:
            first = self.received(message.message_id)
            assert first is not None
            return first
        return message

    def inbox(self, ncpdp_id: str | None = None) -> list[Received]:
        with self._sessions() as s:
            query = select(PharmacyInboxRow).order_by(PharmacyInboxRow.received_at)
            if ncpdp_id is not None:
                query = query.where(PharmacyInboxRow.ncpdp_id == ncpdp_id)
            return [_received(r) for r in s.scalars(query)]


def _changed(result: Any) -> bool:
    """Whether a conditional UPDATE found its row (it did not move on meanwhile)."""
    return bool(result.rowcount == 1)


def _received(r: PharmacyInboxRow) -> Received:
    return Received(r.message_id, r.ncpdp_id, r.kind, r.payload, r.answer, r.accepted,
                    r.received_at)
