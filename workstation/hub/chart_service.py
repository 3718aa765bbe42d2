"""The chart of a claimed visit: what the provider reads, drafts, signs and exports.

Every read of patient data here writes an audit event first; the workstation never reads a chart
any other way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from workstation.core import icd10
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.charting import (
    FINAL_STATE,
    Addendum,
    ChatLine,
    CodedDiagnosis,
    NoteContent,
    NoteIncomplete,
    SignedNote,
    SummaryPrescription,
    after_visit_summary,
    check_ready,
    long_date,
    note_as_drafts,
    note_from_drafts,
)
from workstation.core.eligibility import RED_FLAGS
from workstation.core.fhir_bundle import bundle_json
from workstation.core.fhir_people import PharmacyRef
from workstation.core.intake import CONSENT_TEXT
from workstation.core.people import Provider, age_on
from workstation.core.prescribing import RxStatus
from workstation.core.visit import call_failed
from workstation.hub.errors import ApiError
from workstation.hub.prescription_json import STATUS_WORDS
from workstation.hub.primary_care import PrimaryCareService
from workstation.hub.schemas import ChatIn, SignNoteIn
from workstation.hub.visit_service import VisitService
from workstation.resource_files import Resources
from workstation.storage.charts import ChartStore, NoteLocked, NotYourVisit, PriorVisit
from workstation.storage.prescriptions import PrescriptionStore
from workstation.storage.store import VisitDetail, VisitNotFound, VisitStore

RED_FLAG_QUESTIONS = {f.code: f.question for f in RED_FLAGS}
NOT_FOUND = ApiError(404, "not_found", "There is no such visit.")


class ChartService:
    def __init__(self, visits: VisitService, *,
                 primary_care: PrimaryCareService | None = None) -> None:
        self.visits = visits
        self.charts = ChartStore(visits.store)
        self.primary_care = primary_care

    def _clock(self) -> datetime:
        return self.visits.clock()

    # -- reading ----------------------------------------------------------------------------

    async def open_chart(self, provider: Provider, visit_id: str) -> dict[str, Any]:
        detail = await self._detail_for(provider, visit_id, "chart.open")
        return await asyncio.to_thread(self._chart, detail)

    def _chart(self, detail: VisitDetail) -> dict[str, Any]:
        store, visit, patient = self.visits.store, detail.visit, detail.patient
        resources, config = self.visits.resources, self.visits.config
        intake = store.intake(visit.id)
        echeckin = store.echeckin(visit.id)
        note = self.charts.note(visit.id)
        history = self.charts.history(patient.id, excluding=visit.id)
        today = self._clock().astimezone(config.zone).date()
        pharmacy = resources.pharmacy(store.chosen_pharmacy_id(visit.id))
        problems: dict[str, str] = {}
        for prior in history:
            for d in prior.note.diagnoses if prior.note else ():
                problems.setdefault(d.code, d.description)
        return {
            "site": {"time_zone": config.time_zone},
            "visit": {
                "id": visit.id, "kind": visit.kind.value, "state": visit.state.value,
                "condition": visit.condition,
                "condition_name": self.visits.condition_name(visit.condition),
                "created_at": visit.created_at.isoformat(),
                "waiting_since": visit.waiting_since.isoformat() if visit.waiting_since else None,
                "scheduled_for": visit.scheduled_for.isoformat() if visit.scheduled_for else None,
                "provider_name": detail.provider_name,
                # The call never connected, or dropped for good: signing needs what happened.
                "call_failed": call_failed(visit.kind, store.visit_states(visit.id)),
            },
            "patient": {
                "id": patient.id, "given_name": patient.given_name,
                "family_name": patient.family_name,
                "date_of_birth": patient.date_of_birth.isoformat(),
                "age": age_on(patient.date_of_birth, today), "sex": patient.sex.value,
                "phone": patient.phone, "email": patient.email,
                "address": asdict(patient.address) if patient.address else None,
            },
            "intake": None if intake is None else {
                "symptoms": intake.symptoms, "onset": intake.onset,
                "allergies": intake.allergies, "medications": intake.medications,
                "red_flags": [{"code": code, "question": RED_FLAG_QUESTIONS.get(code, code),
                               "answer": answer} for code, answer in intake.red_flags.items()],
                "consent_telehealth": intake.consent_telehealth, "consent_text": CONSENT_TEXT,
                "callback_phone": intake.callback_phone,
                "patient_location_state": intake.patient_location_state,
                "extra": dict(intake.extra),
            },
            # Allergies and medications as the patient told them (check-in or eCheck-in);
            # None: not asked yet, which is not "no allergies".
            "told": None if (told := store.patient_told(visit.id)) is None else {
                "allergies": told[0], "medications": told[1]},
            "echeckin": None if echeckin is None else {
                "forms": echeckin[0], "insurance": echeckin[1]},
            "payments": [{
                "method": p.method.value, "card_last4": p.card_last4,
                "amount": f"{p.amount:.2f}", "currency": p.currency,
                "status": p.status.value, "paid_at": p.paid_at.isoformat(),
            } for p in store.payments(visit.id)],
            "fee_note": self.fee_note(),
            "pharmacy": None if pharmacy is None else asdict(pharmacy),
            "primary_care": None if self.primary_care is None
            else self.primary_care.chart_json(visit.id),
            "drafts": {pane: {"body": d.body, "revision": d.revision,
                              "updated_at": d.updated_at.isoformat()}
                       for pane, d in self.charts.drafts(visit.id).items()},
            "note": _note_json(note) if note else None,
            "addenda": [_addendum_json(a) for a in self.charts.addenda(visit.id)],
            "chat": [{"id": c.id, "sender": c.sender, "text": c.text,
                      "sent_at": c.sent_at.isoformat()} for c in self.charts.chat(visit.id)],
            "history": [self._prior_json(p) for p in history],
            "problems": [{"code": c, "description": d} for c, d in problems.items()],
            "shortlist": [_code_json(c) for c in
                          icd10.shortlist(resources.shortlist_for(visit.condition))],
            "plan_template": asdict(resources.plan_template(visit.condition)),
        }

    def _prior_json(self, prior: PriorVisit) -> dict[str, Any]:
        return {
            "visit_id": prior.visit_id, "date": prior.when.isoformat(),
            "condition_name": self.visits.condition_name(prior.condition),
            "state": prior.state, "provider_name": prior.provider_name,
            "diagnoses": [asdict(d) for d in prior.note.diagnoses] if prior.note else [],
            "summary": prior.summary,
        }

    def fee_note(self) -> str:
        fee = f"${self.visits.config.fee:.2f}" if self.visits.config.currency == "USD" \
            else f"{self.visits.config.fee:.2f} {self.visits.config.currency}"
        return (f"The {fee} visit fee is charged even when the patient is redirected to "
                "in-person care; it is never billed to insurance.")

    # -- writing ----------------------------------------------------------------------------

    async def save_draft(self, provider: Provider, visit_id: str, pane: str,
                         body: dict[str, Any]) -> dict[str, Any]:
        await self._detail_for(provider, visit_id, None)  # a refusal is audited there
        try:
            draft = await asyncio.to_thread(self.charts.save_draft, visit_id, pane, body,
                                            provider_id=provider.id, now=self._clock())
        except (VisitNotFound, NotYourVisit, NoteLocked) as exc:
            raise _refusal(exc) from exc
        return {"pane": pane, "revision": draft.revision,
                "updated_at": draft.updated_at.isoformat()}

    async def sign(self, provider: Provider, visit_id: str, body: SignNoteIn) -> dict[str, Any]:
        note = note_from_drafts(body.model_dump())
        # The code list loads on first use (seconds): never on the event loop.
        note = await asyncio.to_thread(_with_checked_codes, note)
        detail = await self._detail_for(provider, visit_id, None)
        states = await asyncio.to_thread(self.visits.store.visit_states, visit_id)
        try:
            check_ready(note, call_failed=call_failed(detail.visit.kind, states))
        except NoteIncomplete as exc:
            raise ApiError(422, "incomplete", str(exc), missing=list(exc.missing)) from exc
        config = self.visits.config
        summary = after_visit_summary(
            note, condition_name=self.visits.condition_name(detail.visit.condition),
            provider_name=provider.display_name, site_name=config.site_name,
            visit_date=long_date(self._clock().astimezone(config.zone).date()),
            fee_note=self.fee_note(), kind=detail.visit.kind.value,
            prescriptions=await asyncio.to_thread(self._summary_prescriptions, visit_id))
        now = self._clock()
        documents = [] if self.primary_care is None else await asyncio.to_thread(
            self.primary_care.outgoing, visit_id=visit_id, patient=detail.patient,
            provider=provider, summary=summary, signed_at=now)
        try:
            signed = await asyncio.to_thread(self.charts.sign, visit_id, note, summary,
                                             provider_id=provider.id, now=now,
                                             documents=documents)
        except (VisitNotFound, NotYourVisit, NoteLocked) as exc:
            raise _refusal(exc) from exc
        if self.primary_care is not None and documents:
            self.primary_care.signed()
        until = signed.signed_at + timedelta(days=config.summary_days)
        await self.visits.broker.to_patient(visit_id, {
            "type": "status", "visit_id": visit_id,
            "state": _final_state(signed), "summary": summary,
            "summary_until": until.isoformat(),
            "summary_until_text": self.visits.site_time(until)})
        return _note_json(signed)

    def _summary_prescriptions(self, visit_id: str) -> list[SummaryPrescription]:
        """The visit's scripts as the summary lists them (withdrawn ones never left)."""
        listed = []
        for record in PrescriptionStore(self.visits.store).for_visit(visit_id):
            if record.status is RxStatus.WITHDRAWN:
                continue
            c = record.content
            pharmacy = self.visits.resources.pharmacy(record.pharmacy_ncpdp_id)
            unit = str(c.get("quantity_unit", ""))
            quantity = str(c.get("quantity", ""))
            listed.append(SummaryPrescription(
                drug=str(c.get("description", "")), directions=str(c.get("sig_text", "")),
                quantity=f"{quantity} {unit}".strip() if unit in ("mL", "g")
                else f"{quantity} {unit}{'' if quantity == '1' else 's'}".strip(),
                pharmacy=f"{pharmacy.name}, {pharmacy.address}, {pharmacy.city}"
                if pharmacy else record.pharmacy_ncpdp_id,
                status=STATUS_WORDS[record.status]))
        return listed

    async def add_addendum(self, provider: Provider, visit_id: str, text: str) -> dict[str, Any]:
        await self._detail_for(provider, visit_id, None)
        try:
            addendum = await asyncio.to_thread(self.charts.add_addendum, visit_id, text,
                                               provider_id=provider.id, now=self._clock())
        except (VisitNotFound, NoteLocked) as exc:
            raise _refusal(exc) from exc
        return _addendum_json(addendum)

    async def add_chat(self, provider: Provider, visit_id: str, body: ChatIn) -> bool:
        """Keep a chat line of this provider's call with the visit (True: new, False: kept
        already)."""
        await self._detail_for(provider, visit_id, None)
        line = ChatLine(body.id, body.sender, body.text, body.sent_at)
        try:
            return await asyncio.to_thread(self.charts.add_chat, visit_id, line,
                                           provider_id=provider.id, now=self._clock())
        except VisitNotFound as exc:
            raise NOT_FOUND from exc

    async def export_fhir(self, provider: Provider, visit_id: str) -> str:
        detail = await self._detail_for(provider, visit_id, "chart.export")
        return await asyncio.to_thread(self._bundle, detail)

    def _bundle(self, detail: VisitDetail) -> str:
        try:
            return visit_bundle_json(self.visits.store, self.visits.resources, detail.visit.id,
                                     self.visits.condition_name)
        except VisitNotFound as exc:
            raise NOT_FOUND from exc
        except NotSigned as exc:
            raise ApiError(409, "not_signed", str(exc)) from exc

    # -- access -----------------------------------------------------------------------------

    async def _detail_for(self, provider: Provider, visit_id: str,
                          action: str | None) -> VisitDetail:
        """The visit, if this provider has it; every refusal and every read is audited."""
        try:
            detail = await asyncio.to_thread(self.visits.store.visit_detail, visit_id)
        except VisitNotFound as exc:
            raise NOT_FOUND from exc
        allowed = detail.visit.provider_id == provider.id
        if action is not None or not allowed:
            await asyncio.to_thread(self.visits.store.audit, AuditEvent(
                self._clock(), f"provider:{provider.id}", action or "chart.write",
                AuditOutcome.SUCCESS if allowed else AuditOutcome.DENIED,
                detail.patient.id, visit_id))
        if not allowed:
            raise ApiError(403, "not_yours", "This visit is with another provider.")
        return detail

    @staticmethod
    def search_codes(query: str, condition: str | None, resources: Any) -> list[dict[str, Any]]:
        if not query.strip():
            return [_code_json(c) for c in icd10.shortlist(resources.shortlist_for(condition))] \
                if condition else []
        meant = icd10.shortlist(resources.synonym_codes(query))
        found = [c for c in icd10.search(query) if c not in meant]
        return [_code_json(c) for c in [*meant, *found]]


class NotSigned(ValueError):
    """A visit without a signed note has nothing final to export."""

    def __init__(self) -> None:
        super().__init__("Only a signed visit can be exported.")


def visit_bundle_json(store: VisitStore, resources: Resources, visit_id: str,
                      condition_name: Callable[[str], str]) -> str:
    """The signed visit as a FHIR R4 Bundle (JSON), for the hub's export and the command line.

    The caller writes the audit event: this only reads.

    Raises:
        VisitNotFound: there is no visit with this id.
        NotSigned: the visit has no signed note yet.
    """
    detail = store.visit_detail(visit_id)
    charts = ChartStore(store)
    note = charts.note(visit_id)
    if note is None:
        raise NotSigned
    intake = store.intake(visit_id)
    found = resources.pharmacy(store.chosen_pharmacy_id(visit_id))
    pharmacy = None if found is None else PharmacyRef(
        found.ncpdp_id, found.npi, found.name, found.phone, found.address, found.city,
        found.state, found.postal_code)
    provider = store.provider(note.signed_by)
    assert provider is not None  # a note's signer is a foreign key to an account
    return bundle_json(
        patient=detail.patient, visit=detail.visit, intake=intake, note=note,
        provider=provider, condition_name=condition_name(detail.visit.condition),
        addenda=charts.addenda(visit_id), pharmacy=pharmacy,
        red_flag_questions=RED_FLAG_QUESTIONS)


def _with_checked_codes(note: NoteContent) -> NoteContent:
    """The note with each code checked and described as ICD-10-CM has it, or a 422."""
    checked = []
    for d in note.diagnoses:
        try:
            code = icd10.check_billable(d.code)
        except icd10.DiagnosisCodeRefused as exc:
            raise ApiError(422, "invalid_diagnosis", str(exc)) from exc
        checked.append(CodedDiagnosis(code.code, code.description, d.primary))
    return replace(note, diagnoses=tuple(checked))


def _final_state(note: SignedNote) -> str:
    assert note.content.disposition is not None
    return FINAL_STATE[note.content.disposition].value


def _refusal(exc: Exception) -> ApiError:
    if isinstance(exc, VisitNotFound):
        return NOT_FOUND
    if isinstance(exc, NotYourVisit):
        return ApiError(403, "not_yours", str(exc))
    return ApiError(409, "note_locked", str(exc))


def _code_json(code: icd10.Icd10Code) -> dict[str, Any]:
    return {"code": code.code, "description": code.description, "billable": code.billable}


def _note_json(note: SignedNote) -> dict[str, Any]:
    return {"content": note_as_drafts(note.content), "summary": note.summary,
            "signed_by": note.signed_by, "signed_by_name": note.signed_by_name,
            "signed_at": note.signed_at.isoformat()}


def _addendum_json(a: Addendum) -> dict[str, Any]:
    return {"id": a.id, "author_name": a.author_name, "at": a.at.isoformat(), "text": a.text}
