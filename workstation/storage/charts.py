"""The documentation of visits: drafts as typed, signed notes, addenda, and a patient's history.

Every write here also writes its audit event in the same transaction: there is no change
without its record, and no record of a change that did not happen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.charting import (
    DRAFT_PANES,
    FINAL_STATE,
    Addendum,
    ChatLine,
    NoteContent,
    SignedNote,
    note_as_drafts,
    note_from_drafts,
)
from workstation.core.visit import VisitState
from workstation.storage.orm import (
    AddendumRow,
    AuditRow,
    ChatMessageRow,
    DocumentOutboxRow,
    DraftRow,
    NoteRow,
    ProviderRow,
    VisitRow,
)
from workstation.storage.store import (
    OPEN_STATES,
    VisitNotFound,
    VisitStore,
    move_visit,
    new_id,
)

# A visit may be documented while it is with its provider, before it ends.
DOCUMENTABLE = OPEN_STATES


class NotYourVisit(PermissionError):
    """Only the provider who has the visit may write its documentation."""


class NoteLocked(ValueError):
    """The visit is not open for documentation (signed, ended, or not yet claimed)."""


@dataclass(frozen=True)
class Draft:
    pane: str
    body: Mapping[str, Any]
    revision: int
    updated_at: datetime


@dataclass(frozen=True)
class PriorVisit:
    visit_id: str
    when: datetime
    condition: str
    state: str
    provider_name: str
    note: NoteContent | None
    summary: str


class ChartStore:
    def __init__(self, store: VisitStore) -> None:
        self._store = store
        self._sessions = store.sessions

    # -- drafts ----------------------------------------------------------------------------

    def drafts(self, visit_id: str) -> dict[str, Draft]:
        with self._sessions() as s:
            rows = s.scalars(select(DraftRow).where(DraftRow.visit_id == visit_id))
            return {r.pane: Draft(r.pane, r.body, r.revision, r.updated_at) for r in rows}

    def save_draft(self, visit_id: str, pane: str, body: Mapping[str, Any], *,
                   provider_id: str, now: datetime) -> Draft:
        if pane not in DRAFT_PANES:
            raise ValueError(f"Unknown pane {pane!r}; panes are {', '.join(DRAFT_PANES)}.")
        with self._sessions.begin() as s:
            visit = self._writable(s, visit_id, provider_id)
            row = s.get(DraftRow, (visit_id, pane), with_for_update=True)
            if row is None:
                row = DraftRow(visit_id=visit_id, pane=pane, provider_id=provider_id,
                               body=dict(body), revision=1, updated_at=now)
                s.add(row)
            else:
                row.body = dict(body)
                row.revision += 1
                row.updated_at = now
                row.provider_id = provider_id
            s.add(_audit(now, provider_id, "chart.draft", visit, detail=pane))
            s.flush()
            return Draft(pane, row.body, row.revision, row.updated_at)

    # -- signing ---------------------------------------------------------------------------

    def sign(self, visit_id: str, content: NoteContent, summary: str, *, provider_id: str,
             now: datetime, documents: Sequence[DocumentOutboxRow] = ()) -> SignedNote:
        """Lock the note and end the visit in the state its disposition says, in one step,
        with the messages the signing sends (``documents``: the summary for the patient's own
        doctor)."""
        assert content.disposition is not None
        with self._sessions.begin() as s:
            visit = self._writable(s, visit_id, provider_id)
            actor = f"provider:{provider_id}"
            if VisitState(visit.state) is not VisitState.DOCUMENTING:
                move_visit(s, visit_id, VisitState.DOCUMENTING, now, actor)
            move_visit(s, visit_id, FINAL_STATE[content.disposition], now, actor)
            s.add(NoteRow(visit_id=visit_id, content=note_as_drafts(content), summary=summary,
                          signed_by=provider_id, signed_at=now))
            s.execute(delete(DraftRow).where(DraftRow.visit_id == visit_id))
            s.add_all(documents)
            s.add(_audit(now, provider_id, "chart.sign", visit,
                         detail=content.disposition.value))
            provider = s.get(ProviderRow, provider_id)
            assert provider is not None
            return SignedNote(visit_id, content, summary, provider_id, provider.display_name, now)

    def note(self, visit_id: str) -> SignedNote | None:
        with self._sessions() as s:
            row = s.get(NoteRow, visit_id)
            if row is None:
                return None
            provider = s.get(ProviderRow, row.signed_by)
            return SignedNote(visit_id, note_from_drafts(row.content), row.summary, row.signed_by,
                              provider.display_name if provider else "", row.signed_at)

    def add_addendum(self, visit_id: str, text: str, *, provider_id: str,
                     now: datetime) -> Addendum:
        with self._sessions.begin() as s:
            visit = s.get(VisitRow, visit_id)
            if visit is None:
                raise VisitNotFound(visit_id)
            if s.get(NoteRow, visit_id) is None:
                raise NoteLocked("An addendum follows a signed note; this visit has none yet.")
            row = AddendumRow(id=new_id(), visit_id=visit_id, author_id=provider_id, at=now,
                              text=text)
            s.add(row)
            s.add(_audit(now, provider_id, "chart.addendum", visit))
            provider = s.get(ProviderRow, provider_id)
            return Addendum(row.id, visit_id, provider_id,
                            provider.display_name if provider else "", now, text)

    def addenda(self, visit_id: str) -> list[Addendum]:
        with self._sessions() as s:
            rows = s.execute(
                select(AddendumRow, ProviderRow.display_name)
                .join(ProviderRow, ProviderRow.id == AddendumRow.author_id)
                .where(AddendumRow.visit_id == visit_id)
                .order_by(AddendumRow.at, AddendumRow.id)).all()
            return [Addendum(r.id, r.visit_id, r.author_id, name, r.at, r.text)
                    for r, name in rows]

    # -- the in-call chat ----------------------------------------------------------------------

    def add_chat(self, visit_id: str, line: ChatLine, *, provider_id: str,
                 now: datetime) -> bool:
        """Keep a chat line with the visit; False when it was kept already (sent twice)."""
        with self._sessions.begin() as s:
            visit = s.get(VisitRow, visit_id)
            if visit is None:
                raise VisitNotFound(visit_id)
            if s.get(ChatMessageRow, line.id) is not None:
                return False
            s.add(ChatMessageRow(id=line.id, visit_id=visit_id, sender=line.sender,
                                 text=line.text, sent_at=line.sent_at))
            s.add(_audit(now, provider_id, "chart.chat", visit, line.sender))
            return True

    def chat(self, visit_id: str) -> list[ChatLine]:
        with self._sessions() as s:
            rows = s.scalars(select(ChatMessageRow).where(ChatMessageRow.visit_id == visit_id)
                             .order_by(ChatMessageRow.sent_at, ChatMessageRow.id)).all()
            return [ChatLine(r.id, r.sender, r.text, r.sent_at) for r in rows]

    # -- the record --------------------------------------------------------------------------

    def history(self, patient_id: str, *, excluding: str | None = None) -> list[PriorVisit]:
        """The patient's other visits, newest first, with their signed notes."""
        with self._sessions() as s:
            query = (select(VisitRow, NoteRow, ProviderRow.display_name)
                     .outerjoin(NoteRow, NoteRow.visit_id == VisitRow.id)
                     .outerjoin(ProviderRow, ProviderRow.id == VisitRow.provider_id)
                     .where(VisitRow.patient_id == patient_id)
                     .order_by(VisitRow.created_at.desc()))
            if excluding is not None:
                query = query.where(VisitRow.id != excluding)
            return [
                PriorVisit(v.id, v.created_at, v.condition, v.state, name or "",
                           note_from_drafts(n.content) if n else None, n.summary if n else "")
                for v, n, name in s.execute(query).all()
            ]

    def audit(self, event: AuditEvent) -> None:
        self._store.audit(event)

    def _writable(self, s: Session, visit_id: str, provider_id: str) -> VisitRow:
        visit = s.get(VisitRow, visit_id, with_for_update=True)
        if visit is None:
            raise VisitNotFound(visit_id)
        if visit.provider_id != provider_id:
            raise NotYourVisit("This visit is with another provider.")
        if VisitState(visit.state) not in DOCUMENTABLE or s.get(NoteRow, visit_id) is not None:
            raise NoteLocked("This visit's note is signed or the visit has ended; "
                             "add an addendum instead.")
        return visit


def _audit(now: datetime, provider_id: str, action: str, visit: VisitRow,
           detail: str = "") -> AuditRow:
    return AuditRow(at=now, actor=f"provider:{provider_id}", action=action,
                    outcome=AuditOutcome.SUCCESS.value, patient_id=visit.patient_id,
                    visit_id=visit.id, detail=detail)
