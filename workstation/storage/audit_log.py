"""The audit log as a hash chain: events chained as they are written, the chain checked, and a
time range read back.

Every event carries the hash of the event before it (``prev_hash``; zeros for the first) and
its own hash over its id, time, actor, action, outcome, patient, visit, detail and
``prev_hash``. The one-row ``audit_head`` keeps the id and hash of the last event written.
So an event edited in place no longer matches its hash; the event after one that was removed
is chained to a hash no event has; events slipped in between are passed over by the chain;
two events swapped are chained to a later one; and events removed from the end leave the head
naming an event that is gone.

The chain is not keyed: it shows the edits of anyone who does not also recompute every later
hash and the head. Checking it against a copy of the head kept elsewhere (a printed report,
a backup) shows those as well.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, event, func, insert, select, text, update
from sqlalchemy.orm import Mapper

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.storage.orm import AuditHeadRow, AuditRow

GENESIS = "0" * 64  # the first event's prev_hash
HEAD_ID = 1
# On PostgreSQL writers are not serialised by the database as on SQLite (BEGIN IMMEDIATE):
# this transaction-level advisory lock, taken before the head is read, keeps two transactions
# from chaining onto the same event. It is held to commit, so ids also come in chain order.
_PG_APPEND_LOCK = 0x41554454  # "AUDT"; no other lock of the program uses this key

_events = cast(Table, AuditRow.__table__)
_head = cast(Table, AuditHeadRow.__table__)


def event_hash(event_id: int, at: datetime, actor: str, action: str, outcome: str,
               patient_id: str | None, visit_id: str | None, detail: str,
               prev_hash: str) -> str:
    """Hex SHA-256 over a canonical form of the event (JSON, times in UTC)."""
    canonical = json.dumps(
        [event_id, at.astimezone(UTC).isoformat(), actor, action, outcome, patient_id,
         visit_id, detail, prev_hash],
        ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _stored_hash(row: Any) -> str:
    """The hash a stored row should carry, recomputed from its columns."""
    return event_hash(row.id, row.at, row.actor, row.action, row.outcome, row.patient_id,
                      row.visit_id, row.detail, row.prev_hash)


# -- writing: every new event is chained here, whichever store adds it ------------------------


@event.listens_for(AuditRow, "before_insert")
def _chain_new_event(_mapper: Mapper[AuditRow], connection: Connection,
                     target: AuditRow) -> None:
    last_id, last_hash = _claim_head(connection)
    target.id = _next_id(connection, last_id)
    target.prev_hash = last_hash
    target.hash = event_hash(target.id, target.at, target.actor, target.action,
                             target.outcome, target.patient_id, target.visit_id,
                             target.detail or "", last_hash)
    connection.execute(update(_head).where(_head.c.id == HEAD_ID)
                       .values(last_id=target.id, hash=target.hash))


def _claim_head(connection: Connection) -> tuple[int, str]:
    """The last event's id and hash, with the right to append after it until commit."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": _PG_APPEND_LOCK})
    head = connection.execute(
        select(_head.c.last_id, _head.c.hash).where(_head.c.id == HEAD_ID)).first()
    if head is not None:
        return int(head.last_id), str(head.hash)
    # No head (a database made from the models, or the head removed by hand): chain onto the
    # last event there is, so recording goes on. A removed head shows in verify_chain until
    # the next event is written.
    last = connection.execute(
        select(_events.c.id, _events.c.hash).order_by(_events.c.id.desc()).limit(1)).first()
    last_id, last_hash = (int(last.id), str(last.hash)) if last is not None else (0, GENESIS)
    connection.execute(insert(_head).values(id=HEAD_ID, last_id=last_id, hash=last_hash))
    return last_id, last_hash


def _next_id(connection: Connection, last_id: int) -> int:
    """An id above every id ever given, even to events since removed."""
    if connection.dialect.name == "postgresql":
        issued = connection.scalar(
            text("SELECT nextval(pg_get_serial_sequence('audit_events', 'id'))"))
    else:  # AUTOINCREMENT's record of the highest id ever inserted
        issued = connection.scalar(
            text("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'"))
        issued = (issued or 0) + 1
    return max(int(issued or 0), last_id + 1)


# -- checking -------------------------------------------------------------------------------


class Breach(enum.StrEnum):
    EDITED = "edited"
    MISSING_BEFORE = "missing before it"
    INSERTED = "inserted"
    OUT_OF_ORDER = "out of order"
    REMOVED_AT_END = "removed at the end"
    HEAD_MISSING = "head missing"


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold.

    ``event_id`` names the event (None when the head itself is gone); ``explanation`` says what
    was found, in ids only.
    """

    event_id: int | None
    breach: Breach
    explanation: str


@dataclass(frozen=True)
class ChainCheck:
    events: int  # events read up to the first break (all of them when intact)
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent view of the log and its head. On SQLite the transaction holds the write
    lock (BEGIN IMMEDIATE), so writers wait for the check; PostgreSQL gives a snapshot."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def verify_chain(engine: Engine, *, batch: int = 1000) -> ChainCheck:
    """Walk the log in id order (streamed, ``batch`` rows at a time), recomputing each hash
    and link; return how many events were read and the first break, if any."""
    with _snapshot(engine) as conn:
        head = conn.execute(
            select(_head.c.last_id, _head.c.hash).where(_head.c.id == HEAD_ID)).first()
        count, previous_id, expected = 0, 0, GENESIS
        first_after_head: int | None = None
        bad: Any = None
        with conn.execute(select(_events).order_by(_events.c.id)
                          .execution_options(yield_per=batch)) as rows:
            for row in rows:
                count += 1
                if row.prev_hash != expected or _stored_hash(row) != row.hash:
                    bad = row
                    break
                if head is not None and first_after_head is None and row.id > head.last_id:
                    first_after_head = row.id
                previous_id, expected = row.id, row.hash
        if bad is not None:
            if bad.prev_hash != expected:
                return ChainCheck(count, _broken_link(conn, bad, previous_id))
            return ChainCheck(count, ChainBreak(
                bad.id, Breach.EDITED, "its contents do not match its hash"))
        return ChainCheck(count, _check_head(head, previous_id, expected, first_after_head))


def _broken_link(conn: Connection, row: Any, previous_id: int) -> ChainBreak:
    """Why ``row`` is not chained to the event before it: which event it is chained to."""
    if row.prev_hash == GENESIS:
        chained_to: int | None = 0  # chained as the first event of the log
    else:
        chained_to = conn.scalar(select(func.min(_events.c.id))
                                 .where(_events.c.hash == row.prev_hash))
    if chained_to is None:
        return ChainBreak(row.id, Breach.MISSING_BEFORE,
                          "the event it was written after is no longer in the log as it was "
                          "(removed, or changed)")
    if chained_to >= row.id:
        return ChainBreak(row.id, Breach.OUT_OF_ORDER,
                          f"it is chained to event {chained_to}, which comes after it")
    # Chained to an earlier event (or to the start): what stands between was never chained.
    between = select(func.min(_events.c.id))
    first_between = conn.scalar(between.where(_events.c.id > chained_to) if chained_to
                                else between)
    return ChainBreak(first_between, Breach.INSERTED,
                      f"event {row.id} is chained to "
                      f"{f'event {chained_to}' if chained_to else 'the start of the log'}; "
                      + (f"event {previous_id} is" if first_between == previous_id else
                         f"events {first_between} to {previous_id} are")
                      + " not part of the chain")


def _check_head(head: Any, last_id: int, last_hash: str,
                first_after_head: int | None) -> ChainBreak | None:
    if head is None:
        return ChainBreak(None, Breach.HEAD_MISSING,
                          "the record of the last event written is gone; events may have "
                          "been removed at the end")
    if head.last_id > last_id:
        return ChainBreak(head.last_id, Breach.REMOVED_AT_END,
                          f"the log was written up to event {head.last_id} but ends at "
                          f"{f'event {last_id}' if last_id else 'no event'}")
    if first_after_head is not None:
        return ChainBreak(first_after_head, Breach.INSERTED,
                          f"it comes after event {head.last_id}, the last event written")
    if head.hash != last_hash:
        return ChainBreak(last_id, Breach.EDITED,
                          "its hash differs from the one recorded when it was written")
    return None


# -- reading a time range --------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    event: AuditEvent


def events_between(engine: Engine, start: datetime, end: datetime, *,
                   patient_id: str | None = None, batch: int = 1000) -> Iterator[LoggedEvent]:
    """Events at or after ``start`` and before ``end``, oldest first (streamed)."""
    query = (select(_events).where(_events.c.at >= start, _events.c.at < end)
             .order_by(_events.c.at, _events.c.id).execution_options(yield_per=batch))
    if patient_id is not None:
        query = query.where(_events.c.patient_id == patient_id)
    with engine.connect() as conn, conn.execute(query) as rows:
        for r in rows:
            yield LoggedEvent(r.id, AuditEvent(r.at, r.actor, r.action, AuditOutcome(r.outcome),
                                               r.patient_id, r.visit_id, r.detail))
