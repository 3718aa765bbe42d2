"""Writing, checking, queueing and cancelling prescriptions; telling everyone how they stand.

The hub decides, not the workstation: it runs the prescribing checks again on what it is
sent, refuses controlled substances, wants a reason for every warning and for a pharmacy other
than the patient's choice, and checks the NewRx it builds field by field before it goes into
the outbox. Each decision is audited.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from workstation.core import ncpdp
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.formulary import Sig
from workstation.core.ncpdp_check import check_message
from workstation.core.people import Address, Provider
from workstation.core.practice import Practice
from workstation.core.prescribing import (
    CANCELLABLE,
    MOVES_FROM,
    WITHDRAWABLE,
    Finding,
    PrescriptionRecord,
    RxDraft,
    RxStatus,
    check_draft,
    gender_code,
    split_name,
    status_after_answer,
)
from workstation.hub.errors import ApiError
from workstation.hub.prescription_json import (
    STATUS_WORDS,
    findings_json,
    patient_json,
    record_json,
    who_fixes,
)
from workstation.hub.schemas import PrescriptionIn
from workstation.hub.visit_service import VisitService
from workstation.storage.charts import DOCUMENTABLE
from workstation.storage.prescriptions import (
    PrescriptionNotFound,
    PrescriptionStore,
    StatusChanged,
)
from workstation.storage.store import VisitDetail, VisitNotFound

# Scripts that count against a new one (duplicates, interactions).
ACTIVE = frozenset({RxStatus.QUEUED, RxStatus.SENT, RxStatus.ACCEPTED, RxStatus.CANCEL_FAILED})
NOT_FOUND = ApiError(404, "not_found", "There is no such prescription.")


class Outbox(Protocol):
    """The background sender, seen from the hub: told when there is something to send."""

    def wake(self) -> None: ...


class PrescriptionService:
    def __init__(self, visits: VisitService, *, simulator: bool = False) -> None:
        self.visits = visits
        self.store = PrescriptionStore(visits.store)
        self.outbox: Outbox | None = None
        self.self_url: Callable[[], str] = lambda: ""
        # The pharmacy network simulator answers here: on the embedded hub (the default), or
        # on a clinic's hub that asks for it for training (``erx_simulator``).
        self.simulator = simulator
        # Only this hub's own sender may post to its simulator: it alone holds the key.
        self.simulator_key = secrets.token_urlsafe(32)
        self._later: set[asyncio.Task[None]] = set()

    def later(self, delay: float, data: bytes) -> None:
        """Receive ``data`` after ``delay`` seconds (the simulator's pharmacies answering)."""
        async def run() -> None:
            await asyncio.sleep(delay)
            await self.receive(data)

        task = asyncio.get_running_loop().create_task(run())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def close(self) -> None:
        for task in list(self._later):
            task.cancel()
        await asyncio.gather(*self._later, return_exceptions=True)

    @property
    def _resources(self) -> Any:
        return self.visits.resources

    def gateway_url(self) -> str:
        """The site's gateway, or this hub's own pharmacy network simulator."""
        configured = self.visits.config.erx_gateway_url
        if configured or not self.simulator:
            return configured
        return f"{self.self_url()}/erx/gateway"

    def gateway_headers(self) -> dict[str, str]:
        """What the sender adds to each post: the simulator's key when it is the gateway."""
        if self.visits.config.erx_gateway_url or not self.simulator:
            return {}
        return {"Authorization": f"Bearer {self.simulator_key}"}

    def _pharmacy_name(self, ncpdp_id: str) -> str:
        found = self._resources.pharmacy(ncpdp_id)
        return found.name if found else ncpdp_id

    def to_json(self, record: PrescriptionRecord) -> dict[str, Any]:
        return record_json(record, self._pharmacy_name(record.pharmacy_ncpdp_id))

    def _audit(self, provider: Provider, action: str, outcome: AuditOutcome,
               detail: VisitDetail | PrescriptionRecord, text: str = "") -> AuditEvent:
        if isinstance(detail, VisitDetail):
            patient_id, visit_id = detail.patient.id, detail.visit.id
        else:
            patient_id, visit_id = detail.patient_id, detail.visit_id
        return AuditEvent(self.visits.clock(), f"provider:{provider.id}", action, outcome,
                          patient_id, visit_id, text)

    async def _visit(self, provider: Provider, visit_id: str, action: str) -> VisitDetail:
        try:
            detail = await asyncio.to_thread(self.visits.store.visit_detail, visit_id)
        except VisitNotFound as exc:
            raise ApiError(404, "not_found", "There is no such visit.") from exc
        if detail.visit.provider_id != provider.id:
            await asyncio.to_thread(self.visits.store.audit, self._audit(
                provider, action, AuditOutcome.DENIED, detail))
            raise ApiError(403, "not_yours", "This visit is with another provider.")
        return detail

    # --- reading ---

    async def for_visit(self, provider: Provider, visit_id: str) -> list[dict[str, Any]]:
        detail = await self._visit(provider, visit_id, "erx.list")
        records = await asyncio.to_thread(self.store.for_visit, detail.visit.id)
        await asyncio.to_thread(self.visits.store.audit, self._audit(
            provider, "erx.list", AuditOutcome.SUCCESS, detail))
        return [self.to_json(r) for r in records]

    async def for_patient_page(self, visit_id: str) -> list[dict[str, Any]]:
        """What the patient's own page shows: drug, pharmacy and status."""
        records = await asyncio.to_thread(self.store.for_visit, visit_id)
        return [patient_json(self.to_json(r)) for r in records
                if r.status is not RxStatus.WITHDRAWN]

    # --- writing ---

    async def prescribe(self, provider: Provider, visit_id: str,
                        body: PrescriptionIn) -> tuple[dict[str, Any], bool]:
        """The script queued (True), or the one this message_id already made (False)."""
        detail = await self._visit(provider, visit_id, "erx.prescribe")
        existing = await asyncio.to_thread(self.store.for_visit, visit_id)
        for record in existing:
            if record.message_id == body.message_id:
                return self.to_json(record), False
        if detail.visit.state not in DOCUMENTABLE:
            raise ApiError(409, "not_open", "This visit is closed; prescriptions can be written "
                           "only while it is open. Add an addendum instead.")
        if not self.visits.config.erx_gateway_url and not self.simulator:
            raise ApiError(409, "no_gateway", "No pharmacy network is set up for this clinic, "
                           "so nothing can be sent. Ask IT to set erx_gateway_url in the site "
                           "settings; until then, phone or fax the pharmacy.")
        draft, intake, pharmacy = await self._parts(detail, body)
        told = await asyncio.to_thread(self.visits.store.patient_told, detail.visit.id)
        findings = self._findings(draft, told, existing)
        now = self.visits.clock()
        practice = await self.visits.practice()
        message = self._new_rx(draft, detail, intake, pharmacy, provider, practice,
                               body.message_id, now)
        payload = ncpdp.build(message)
        problems = check_message(payload)
        refusals = [f for f in findings if f.blocks]
        if refusals:
            await asyncio.to_thread(self.visits.store.audit, self._audit(
                provider, "erx.prescribe", AuditOutcome.DENIED, detail,
                f"rxcui {draft.drug.rxcui}: " + "; ".join(f.kind for f in refusals)))
            raise ApiError(422, "refused", " ".join(f.message for f in refusals),
                           findings=findings_json(refusals))
        if problems:
            await asyncio.to_thread(self.visits.store.audit, self._audit(
                provider, "erx.prescribe", AuditOutcome.FAILED, detail,
                "incomplete: " + ", ".join(p.label for p in problems)))
            raise ApiError(422, "incomplete",
                           "The pharmacy needs more before this can be sent: "
                           + "; ".join(f"{p.label} {p.message}" for p in problems) + "."
                           + "".join(" " + hint for hint in who_fixes(
                               problems, embedded=self.visits.embedded)),
                           problems=[asdict(p) for p in problems])
        seen = set(body.acknowledged)
        unseen = [f for f in findings if f.message not in seen]
        if findings and (not body.override_reason or unseen):
            # A reason covers only warnings the provider was shown: one found here alone
            # (another workstation's script, a changed intake) is asked about first.
            raise ApiError(409, "needs_override",
                           "Give a reason to go on despite: "
                           + " ".join(f.message for f in (unseen or findings)),
                           findings=findings_json(findings))
        audit = [self._audit(provider, "erx.prescribe", AuditOutcome.SUCCESS, detail,
                             f"rxcui {draft.drug.rxcui}; to pharmacy {pharmacy.ncpdp_id}")]
        if findings:
            audit.append(self._audit(
                provider, "erx.override", AuditOutcome.SUCCESS, detail,
                "; ".join(f"{f.kind}: {f.message}" for f in findings)
                + f" | reason: {body.override_reason}"))
        chosen = await asyncio.to_thread(self.visits.store.chosen_pharmacy_id, detail.visit.id)
        if pharmacy.ncpdp_id != chosen:
            audit.append(self._audit(
                provider, "erx.pharmacy_change", AuditOutcome.SUCCESS, detail,
                f"from {chosen or 'none'} to {pharmacy.ncpdp_id}; reason: "
                f"{body.pharmacy_change_reason}"))
        content = {
            "rxcui": draft.drug.rxcui, "description": draft.drug.name,
            "sig": {"dose": str(draft.sig.dose), "dose_unit": draft.sig.dose_unit,
                    "frequency": draft.sig.frequency, "duration_days": draft.sig.duration_days,
                    "prn": draft.sig.prn},
            "sig_text": draft.sig.text, "quantity": str(draft.quantity),
            "quantity_unit": draft.quantity_unit, "days_supply": draft.days_supply,
            "refills": draft.refills, "substitution_allowed": draft.substitution_allowed,
            "note": draft.note, "prescriber_order_number": message.header.prescriber_order_number,
        }
        try:
            record = await asyncio.to_thread(
                self.store.add, visit_id=visit_id, patient_id=detail.patient.id,
                provider_id=provider.id, content=content, pharmacy_ncpdp_id=pharmacy.ncpdp_id,
                message_id=body.message_id, payload=payload.decode("utf-8"), now=now,
                audit=audit)
        except IntegrityError:  # the same send, twice at once: the first one stands
            for record in await asyncio.to_thread(self.store.for_visit, visit_id):
                if record.message_id == body.message_id:
                    return self.to_json(record), False
            raise
        if self.outbox is not None:
            self.outbox.wake()
        await self.changed(record)
        return self.to_json(record), True

    def _active_drugs(self, records: list[PrescriptionRecord]) -> list[Any]:
        drugs = (self._resources.formulary.get(str(r.content.get("rxcui", "")))
                 for r in records if r.status in ACTIVE)
        return [d for d in drugs if d is not None]

    async def _parts(self, detail: VisitDetail, body: PrescriptionIn,
                     ) -> tuple[RxDraft, Any, Any]:
        """The draft, the intake and the pharmacy; ApiError for what makes no script at all."""
        resources = self._resources
        drug = resources.formulary.get(body.rxcui)
        if drug is None:
            raise ApiError(422, "unknown_drug", f"RxNorm {body.rxcui} is not in the formulary.")
        intake = await asyncio.to_thread(self.visits.store.intake, detail.visit.id)
        pharmacy = resources.pharmacy(body.pharmacy_ncpdp_id)
        if pharmacy is None:
            raise ApiError(422, "unknown_pharmacy",
                           f"No pharmacy with NCPDP ID {body.pharmacy_ncpdp_id} is in the "
                           "directory. Search for the pharmacy by name, city or ZIP.")
        chosen = await asyncio.to_thread(self.visits.store.chosen_pharmacy_id, detail.visit.id)
        if pharmacy.ncpdp_id != chosen and not body.pharmacy_change_reason:
            raise ApiError(409, "pharmacy_change_reason",
                           "This is not the pharmacy the patient chose. Say why it changed.")
        draft = RxDraft(drug=drug, sig=Sig(dose=body.sig.dose, dose_unit=body.sig.dose_unit,
                                          route=drug.route, frequency=body.sig.frequency,
                                          duration_days=body.sig.duration_days,
                                          prn=body.sig.prn),
                        quantity=body.quantity, quantity_unit=body.quantity_unit,
                        days_supply=body.days_supply, refills=body.refills,
                        substitution_allowed=body.substitution_allowed, note=body.note)
        return draft, intake, pharmacy

    def _findings(self, draft: RxDraft, told: tuple[str, str] | None,
                  existing: list[PrescriptionRecord]) -> list[Finding]:
        """The checks against what the patient told (at check-in or eCheck-in)."""
        allergies, medications = told or ("", "")
        return check_draft(draft, allergies=allergies, medications=medications,
                           others=self._active_drugs(existing),
                           formulary=self._resources.formulary,
                           rules=self._resources.prescribing_rules)

    async def check(self, provider: Provider, visit_id: str,
                    body: PrescriptionIn) -> dict[str, Any]:
        """Everything that would stop or question this script, without sending it: the
        prescribing findings and the fields the pharmacy needs (the pre-send check)."""
        detail = await self._visit(provider, visit_id, "erx.check")
        existing = await asyncio.to_thread(self.store.for_visit, visit_id)
        draft, intake, pharmacy = await self._parts(detail, body)
        message = self._new_rx(draft, detail, intake, pharmacy, provider,
                               await self.visits.practice(), body.message_id,
                               self.visits.clock())
        problems = check_message(ncpdp.build(message))
        await asyncio.to_thread(self.visits.store.audit, self._audit(
            provider, "erx.check", AuditOutcome.SUCCESS, detail,
            f"rxcui {draft.drug.rxcui}: {len(problems)} missing or malformed fields"))
        told = await asyncio.to_thread(self.visits.store.patient_told, detail.visit.id)
        return {"findings": findings_json(self._findings(draft, told, existing)),
                "problems": [asdict(p) for p in problems],
                "hints": who_fixes(problems, embedded=self.visits.embedded),
                "sig_text": draft.sig.text}

    def _new_rx(self, draft: RxDraft, detail: VisitDetail, intake: Any, pharmacy: Any,
                provider: Provider, practice: Practice, message_id: str,
                now: datetime) -> ncpdp.Prescription:
        """The NewRx; ``practice`` is the one in use (``ProviderAccounts.practice``: the site
        file's, or on the embedded hub what its first provider saved)."""
        patient, config = detail.patient, self.visits.config
        last, first = split_name(provider.display_name)
        unit = ncpdp.QUANTITY_UNITS[draft.quantity_unit]
        return ncpdp.Prescription(
            kind="NewRx",
            header=ncpdp.Header(message_id=message_id, sent_time=now,
                                prescriber_order_number=uuid.uuid4().hex),
            patient=ncpdp.PatientParty(
                last_name=patient.family_name, first_name=patient.given_name,
                gender=gender_code(patient.sex.value), date_of_birth=patient.date_of_birth,
                address=patient.address,
                phone=(intake.callback_phone if intake else "") or patient.phone),
            pharmacy=ncpdp.PharmacyParty(
                ncpdp_id=pharmacy.ncpdp_id, npi=pharmacy.npi, name=pharmacy.name,
                address=Address(pharmacy.address, pharmacy.city, pharmacy.state,
                                pharmacy.postal_code),
                phone=pharmacy.phone),
            prescriber=ncpdp.PrescriberParty(last_name=last, first_name=first, npi=provider.npi,
                                             address=practice.address,
                                             phone=practice.phone),
            medication=ncpdp.MedicationPrescribed(
                description=draft.drug.name, rxcui=draft.drug.rxcui, quantity=draft.quantity,
                quantity_unit=unit, days_supply=draft.days_supply, refills=draft.refills,
                sig_text=draft.sig.text, written_date=now.astimezone(config.zone).date(),
                substitution_allowed=draft.substitution_allowed, note=draft.note))

    async def cancel(self, provider: Provider, prescription_id: str,
                     reason: str) -> dict[str, Any]:
        """Withdraw a script that never left, or send a CancelRx for one that did."""
        try:
            record = await asyncio.to_thread(self.store.get, prescription_id)
        except PrescriptionNotFound as exc:
            raise NOT_FOUND from exc
        detail = await self._visit(provider, record.visit_id, "erx.cancel")
        now = self.visits.clock()
        audit = self._audit(provider, "erx.cancel", AuditOutcome.SUCCESS, detail,
                            f"prescription {record.id}; reason: {reason}")
        try:
            if record.status in WITHDRAWABLE:
                record = await asyncio.to_thread(self.store.withdraw, record.id, now=now,
                                                 audit=audit)
            elif record.status in CANCELLABLE:
                payload = await asyncio.to_thread(self._cancel_rx, record, now)
                record = await asyncio.to_thread(
                    self.store.queue_cancel, record.id, message_id=payload[0],
                    payload=payload[1], now=now, expected=CANCELLABLE, audit=audit)
                if self.outbox is not None:
                    self.outbox.wake()
            else:
                raise StatusChanged(record.id)
        except StatusChanged as exc:
            if record.status is RxStatus.QUEUED:
                raise ApiError(409, "may_have_arrived",
                               "This prescription may already be at the pharmacy: an attempt "
                               "to send it got no answer, and it is being retried. It can be "
                               "cancelled once the pharmacy network answers; if it is urgent, "
                               "phone the pharmacy.") from exc
            raise ApiError(409, "status_changed",
                           f"This prescription is {STATUS_WORDS[record.status].lower()} and "
                           "cannot be cancelled now.") from exc
        await self.changed(record)
        return self.to_json(record)

    def _cancel_rx(self, record: PrescriptionRecord, now: datetime) -> tuple[str, str]:
        sent = self.store.outbox_item(record.message_id)
        assert sent is not None  # written with the script
        original = ncpdp.parse_prescription(sent.payload)
        message_id = uuid.uuid4().hex
        cancel = ncpdp.Prescription(
            kind="CancelRx",
            header=ncpdp.Header(message_id=message_id, sent_time=now,
                                prescriber_order_number=original.header.prescriber_order_number,
                                relates_to_message_id=record.message_id),
            patient=original.patient, pharmacy=original.pharmacy,
            prescriber=original.prescriber, medication=original.medication)
        return message_id, ncpdp.build(cancel).decode("utf-8")

    async def receive(self, data: bytes) -> ncpdp.Answer:
        """An answer that comes later from the network or the pharmacy (Verify, Status, Error,
        CancelRxResponse) settles the script it is about. MessageError when it cannot be read;
        one about no script of ours, or about a script that moved on, changes nothing."""
        answer = ncpdp.parse_answer(data)
        found = await asyncio.to_thread(self.store.by_message, answer.relates_to_message_id)
        if found is None:
            return answer
        record, kind = found
        status, reason, expected = _settlement(kind, answer)
        if status is None:
            return answer
        now = self.visits.clock()
        audit = AuditEvent(now, "system:pharmacy-network", "erx.answer", AuditOutcome.SUCCESS,
                           record.patient_id, record.visit_id,
                           f"prescription {record.id}: {answer.kind} {answer.code}")
        settled = await asyncio.to_thread(self.store.settle, record.id, status=status,
                                          reason=reason, now=now, expected=expected,
                                          audit=audit)
        if settled is not None:
            await self.changed(settled)
        return answer

    async def changed(self, record: PrescriptionRecord) -> None:
        """Push a script's status to its provider's workstations and the patient's page."""
        data = self.to_json(record)
        broker = self.visits.broker
        await broker.to_provider(record.provider_id, {"type": "prescription",
                                                      "prescription": data})
        await broker.to_patient(record.visit_id, {"type": "prescription",
                                                  "prescription": patient_json(data)})


def _settlement(kind: str, answer: ncpdp.Answer,
                ) -> tuple[RxStatus | None, str, frozenset[RxStatus]]:
    """(new status, reason, the statuses it may move from) for a later answer."""
    if kind == "CancelRx":
        if answer.kind == "CancelRxResponse":
            status, reason = status_after_answer(kind, answer)
            return status, reason, MOVES_FROM[status]
        if answer.kind == "Error":
            return (RxStatus.CANCEL_FAILED, f"The pharmacy network answered error "
                    f"{answer.code}: {answer.description or 'no reason given'}. Phone the "
                    "pharmacy.", MOVES_FROM[RxStatus.CANCEL_FAILED])
        return None, "", frozenset()
    if answer.kind in ("Verify", "Status") and answer.code == ncpdp.STATUS_ACCEPTED:
        return RxStatus.ACCEPTED, answer.description, MOVES_FROM[RxStatus.ACCEPTED]
    if answer.kind == "Error":  # the pharmacy cannot fill it, even after taking it
        return (RxStatus.ERROR, f"The pharmacy answered error {answer.code}: "
                f"{answer.description or 'no reason given'}.",
                MOVES_FROM[RxStatus.ERROR] | {RxStatus.ACCEPTED})
    return None, "", frozenset()
