"""The ground of every repository in this package: the engine, its sessions, and the audit
log that each of them writes to (chained as it is written: see ``audit_log``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.storage import audit_log
from workstation.storage.orm import AuditRow
from workstation.storage.rows import audit_row


class Repository:
    """Methods are synchronous and each runs in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """For the other repositories of this package, sharing the engine."""
        return self._sessions

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- audit -------------------------------------------------------------------------------

    def audit(self, event: AuditEvent) -> None:
        with self._sessions.begin() as s:
            s.add(audit_row(event))

    def audit_events(self, *, visit_id: str | None = None,
                     patient_id: str | None = None) -> list[AuditEvent]:
        with self._sessions() as s:
            query = select(AuditRow).order_by(AuditRow.id)
            if visit_id is not None:
                query = query.where(AuditRow.visit_id == visit_id)
            if patient_id is not None:
                query = query.where(AuditRow.patient_id == patient_id)
            return [
                AuditEvent(r.at, r.actor, r.action, AuditOutcome(r.outcome), r.patient_id,
                           r.visit_id, r.detail)
                for r in s.scalars(query)
            ]

    def verify_audit_chain(self) -> audit_log.ChainCheck:
        """Every event checked against its hash and the one before it; the first break."""
        return audit_log.verify_chain(self.engine)

    def audit_log_between(self, start: datetime, end: datetime, *,
                          patient_id: str | None = None) -> Iterator[audit_log.LoggedEvent]:
        """The events from ``start`` (inclusive) to ``end`` (exclusive), oldest first."""
        return audit_log.events_between(self.engine, start, end, patient_id=patient_id)
