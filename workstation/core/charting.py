"""The provider's documentation of a visit: diagnoses, plan, disposition, and the signed note.

While the provider writes, each pane is a draft (a plain mapping, saved as typed). Signing turns
the drafts into a :class:`NoteContent`, refused with every missing item named until complete;
a signed note never changes again, and anything later is an :class:`Addendum`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workstation.core.visit import VisitState

PANES = ("diagnosis", "plan", "disposition")
# Kept as drafts too: the note's panes, and the prescription being written (which is not part
# of the note: a sent script lives in the prescriptions, not in the draft).
DRAFT_PANES = (*PANES, "prescription")


class Disposition(enum.StrEnum):
    TREATED = "treated"
    REDIRECTED = "redirected"  # to in-person care; the visit is still charged
    EMERGENCY = "emergency_department"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


DISPOSITION_NAMES = {
    Disposition.TREATED: "Treated",
    Disposition.REDIRECTED: "Redirected to in-person care",
    Disposition.EMERGENCY: "Sent to the emergency department",
    Disposition.NO_SHOW: "No-show",
    Disposition.CANCELLED: "Cancelled",
}

# The state a visit ends in when its note is signed with this disposition.
FINAL_STATE = {
    Disposition.TREATED: VisitState.SIGNED,
    Disposition.EMERGENCY: VisitState.SIGNED,
    Disposition.REDIRECTED: VisitState.REDIRECTED,
    Disposition.NO_SHOW: VisitState.NO_SHOW,
    Disposition.CANCELLED: VisitState.CANCELLED,
}

# Dispositions where the provider saw the patient: the clinical sections are required.
SEEN = frozenset({Disposition.TREATED, Disposition.REDIRECTED, Disposition.EMERGENCY})


class CallOutcome(enum.StrEnum):
    """What happened when a video visit's call never connected or dropped for good."""

    PHONE = "phone"  # finished by phone instead
    NO_JOIN = "no_join"  # the patient did not join the video
    TECHNICAL = "technical"  # a technical failure ended the visit


CALL_OUTCOME_NAMES = {
    CallOutcome.PHONE: "Finished by phone: the video call did not work",
    CallOutcome.NO_JOIN: "The patient did not join the video call",
    CallOutcome.TECHNICAL: "Technical failure: the video call could not be completed",
}


@dataclass(frozen=True)
class CodedDiagnosis:
    code: str  # ICD-10-CM, dotted (J02.9)
    description: str
    primary: bool = False


@dataclass(frozen=True)
class TreatmentPlan:
    plan: str = ""
    patient_instructions: str = ""
    follow_up: str = ""
    return_precautions: str = ""
    work_note: str = ""  # empty: no work/school note

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TreatmentPlan:
        return cls(**{k: str(data.get(k) or "") for k in _PLAN_FIELDS})


_PLAN_FIELDS = ("plan", "patient_instructions", "follow_up", "return_precautions", "work_note")


@dataclass(frozen=True)
class NoteContent:
    diagnoses: tuple[CodedDiagnosis, ...] = ()
    plan: TreatmentPlan = field(default_factory=TreatmentPlan)
    disposition: Disposition | None = None
    redirect_to: str = ""  # where the patient was sent, for redirected / emergency
    reason: str = ""  # why, for no-show / cancelled / redirected
    identity_confirmed: bool = False
    call_outcome: CallOutcome | None = None  # said when the video call did not hold

    @property
    def primary(self) -> CodedDiagnosis | None:
        return next((d for d in self.diagnoses if d.primary), None)


class NoteIncomplete(ValueError):
    """Signing was asked for a note that still misses something; nothing was signed."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("Not ready to sign: " + "; ".join(missing) + ".")
        self.missing = tuple(missing)


def note_from_drafts(drafts: Mapping[str, Mapping[str, Any]]) -> NoteContent:
    """Read the panes' drafts (as the workstation saves them) into a note. Unknown keys are
    ignored; wrong types become empty values, which :func:`missing_for_signing` then names."""
    diagnosis = drafts.get("diagnosis") or {}
    plan = drafts.get("plan") or {}
    disposition = drafts.get("disposition") or {}
    diagnoses = []
    for item in diagnosis.get("diagnoses") or ():
        if isinstance(item, Mapping) and item.get("code"):
            diagnoses.append(CodedDiagnosis(str(item["code"]), str(item.get("description") or ""),
                                            bool(item.get("primary"))))
    try:
        chosen = Disposition(str(disposition.get("disposition")))
    except ValueError:
        chosen = None
    try:
        outcome = CallOutcome(str(disposition.get("call_outcome")))
    except ValueError:
        outcome = None
    return NoteContent(
        diagnoses=tuple(diagnoses),
        plan=TreatmentPlan.from_mapping(plan),
        disposition=chosen,
        redirect_to=str(disposition.get("redirect_to") or ""),
        reason=str(disposition.get("reason") or ""),
        identity_confirmed=disposition.get("identity_confirmed") is True,
        call_outcome=outcome,
    )


def missing_for_signing(note: NoteContent, *, call_failed: bool = False) -> list[str]:
    """Everything that must be done before this note can be signed, in words; [] when ready.

    ``call_failed``: this is a video visit whose call never connected or dropped for good, so
    the note must say what happened instead."""
    missing: list[str] = []
    if note.disposition is None:
        missing.append("choose a disposition")
    if call_failed and note.call_outcome is None:
        missing.append("say what happened to the video call (it never connected or dropped)")
    seen = note.disposition in SEEN or note.disposition is None
    if seen:
        primaries = [d for d in note.diagnoses if d.primary]
        if not primaries:
            missing.append("choose a primary diagnosis")
        elif len(primaries) > 1:
            missing.append("keep only one primary diagnosis")
        codes = [d.code for d in note.diagnoses]
        if len(codes) != len(set(codes)):
            missing.append("remove the diagnosis listed twice")
        if not note.plan.plan.strip():
            missing.append("write the treatment plan")
        if not note.plan.patient_instructions.strip():
            missing.append("write the patient instructions")
        if not note.plan.return_precautions.strip():
            missing.append("write the return precautions")
    if note.disposition in (Disposition.REDIRECTED, Disposition.EMERGENCY) \
            and not note.redirect_to.strip():
        missing.append("say where the patient was sent")
    if note.disposition in (Disposition.NO_SHOW, Disposition.CANCELLED) and not note.reason.strip():
        missing.append("give the reason")
    if seen and not note.identity_confirmed:
        missing.append("confirm the patient's identity (name and date of birth)")
    return missing


def check_ready(note: NoteContent, *, call_failed: bool = False) -> None:
    missing = missing_for_signing(note, call_failed=call_failed)
    if missing:
        raise NoteIncomplete(missing)


@dataclass(frozen=True)
class SignedNote:
    visit_id: str
    content: NoteContent
    summary: str  # the after-visit summary, as the patient and their own doctor read it
    signed_by: str  # provider id
    signed_by_name: str
    signed_at: datetime


@dataclass(frozen=True)
class Addendum:
    id: str
    visit_id: str
    author_id: str
    author_name: str
    at: datetime
    text: str


@dataclass(frozen=True)
class ChatLine:
    """A line of the in-call chat (a drug name spelled out, instructions), kept with the
    visit: who wrote it ("provider" or "patient"), what, and when."""

    id: str
    sender: str
    text: str
    sent_at: datetime


def long_date(day: date) -> str:
    """As patients read a date: "November 24, 2026"."""
    return f"{day:%B} {day.day}, {day.year}"


@dataclass(frozen=True)
class SummaryPrescription:
    """A script as the summary lists it: drug, directions, quantity, pharmacy and status."""

    drug: str
    directions: str
    quantity: str  # with its unit: "6 tablets"
    pharmacy: str
    status: str  # in words, as at signing


def after_visit_summary(note: NoteContent, *, condition_name: str, provider_name: str,
                        site_name: str, visit_date: str, fee_note: str, kind: str = "on_demand",
                        prescriptions: Sequence[SummaryPrescription] = ()) -> str:
    """Plain text for the patient's page and the record: what was found and what to do.

    ``kind``: the visit's kind ("e_visit" is written as an E-Visit, the others as a video
    visit, or a phone visit when the provider finished by phone)."""
    assert note.disposition is not None
    if kind == "e_visit":
        how = "E-Visit"
    elif note.call_outcome is CallOutcome.PHONE:
        how = "Visit by phone"
    else:
        how = "Video visit"
    lines = [f"{site_name} — {how} on {visit_date} with {provider_name}",
             f"Reason for the visit: {condition_name}"]
    if note.call_outcome is not None and kind != "e_visit":
        lines.append(f"Video call: {CALL_OUTCOME_NAMES[note.call_outcome]}")
    if note.diagnoses:
        lines.append("Diagnoses:")
        ordered = sorted(note.diagnoses, key=lambda d: not d.primary)
        lines += [f"  {d.code} {d.description}{' (primary)' if d.primary else ''}"
                  for d in ordered]
    lines.append(f"Outcome: {DISPOSITION_NAMES[note.disposition]}"
                 + (f" — {note.redirect_to}" if note.redirect_to.strip() else ""))
    if note.reason.strip():
        lines.append(f"Reason: {note.reason.strip()}")
    for title, text in (("Treatment plan", note.plan.plan),
                        ("What to do at home", note.plan.patient_instructions),
                        ("Follow-up", note.plan.follow_up),
                        ("Get care right away if", note.plan.return_precautions),
                        ("Work/school note", note.plan.work_note)):
        if text.strip():
            lines.append(f"{title}:")
            lines += [f"  {line}" for line in text.strip().splitlines()]
    if prescriptions:
        lines.append("Prescriptions:")
        for rx in prescriptions:
            lines.append(f"  {rx.drug}: {rx.directions.rstrip('. ')}. Quantity: {rx.quantity}.")
            lines.append(f"    Pharmacy: {rx.pharmacy}. Status: {rx.status}.")
    elif note.disposition in SEEN:
        lines.append("Prescriptions: none")
    if note.disposition is Disposition.REDIRECTED:
        lines.append(fee_note)
    return "\n".join(lines)


def note_as_drafts(note: NoteContent) -> dict[str, dict[str, Any]]:
    """The inverse of :func:`note_from_drafts`: how a note is stored and sent."""
    return {
        "diagnosis": {"diagnoses": [
            {"code": d.code, "description": d.description, "primary": d.primary}
            for d in note.diagnoses]},
        "plan": {k: getattr(note.plan, k) for k in _PLAN_FIELDS},
        "disposition": {
            "disposition": note.disposition.value if note.disposition else None,
            "redirect_to": note.redirect_to, "reason": note.reason,
            "identity_confirmed": note.identity_confirmed,
            "call_outcome": note.call_outcome.value if note.call_outcome else None,
        },
    }
