"""One signed visit as a FHIR R4 Bundle, for the patient's record and their own doctor.

Built with the model classes of the ``fhir.resources`` package, so the library validates every
element as it is made. That package's top level is FHIR R5 (5.0.0); FHIR R4 lives in its
``fhir.resources.R4B`` subpackage (R4B is FHIR 4.3.0, and the resources used here — Patient,
Practitioner, Organization, Encounter, Condition, CarePlan, MedicationRequest,
QuestionnaireResponse, Bundle — have the same shape in R4 4.0.1 and R4B).

Entries are identified by ``urn:uuid:`` full URLs that refer to one another. The UUIDs are
derived from our own ids (uuid5), so exporting the same visit twice gives the same bundle and the
same patient keeps one identity across visits' bundles. Empty text is left out rather than sent
as an empty string, which FHIR does not allow; any other text is kept exactly as typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.careplan import CarePlan, CarePlanActivity
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.encounter import (
    Encounter,
    EncounterDiagnosis,
    EncounterHospitalization,
    EncounterParticipant,
)
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.medicationrequest import (
    MedicationRequest,
    MedicationRequestDispenseRequest,
    MedicationRequestSubstitution,
)
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from workstation.core.charting import (
    DISPOSITION_NAMES,
    Addendum,
    CodedDiagnosis,
    Disposition,
    SignedNote,
)
from workstation.core.fhir_people import (
    PharmacyRef,
    nonblank,
    patient_resource,
    pharmacy_resource,
    practitioner_resource,
)
from workstation.core.intake import CONSENT_TEXT, Intake
from workstation.core.people import Patient, Provider
from workstation.core.visit import Visit

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
UCUM = "http://unitsofmeasure.org"

# Fixed, so the same ids always give the same entry UUIDs.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:workstation:fhir-bundle")

# Only where a discharge-disposition code says the same thing; the text always says it in full.
_DISPOSITION_CODE = {
    Disposition.TREATED: ("home", "Home"),
    Disposition.REDIRECTED: ("other-hcf", "Other healthcare facility"),
    Disposition.EMERGENCY: ("other-hcf", "Other healthcare facility"),
}
# The patient was never seen: the encounter did not take place.
_NOT_SEEN = frozenset({Disposition.NO_SHOW, Disposition.CANCELLED})

_NO_QUESTIONS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class MedicationOrder:
    """One prescription written in the visit (prescribing comes later; the bundle takes it now)."""

    rxnorm_code: str
    display: str
    sig_text: str
    quantity: Decimal
    quantity_unit: str
    days_supply: int
    refills: int
    substitution_allowed: bool
    written_on: date


def visit_bundle(*, patient: Patient, visit: Visit, intake: Intake | None, note: SignedNote,
                 provider: Provider, condition_name: str, addenda: Sequence[Addendum] = (),
                 pharmacy: PharmacyRef | None = None, medications: Sequence[MedicationOrder] = (),
                 red_flag_questions: Mapping[str, str] = _NO_QUESTIONS) -> dict[str, Any]:
    """The visit as a FHIR R4 Bundle (type collection), as JSON-ready data.

    ``red_flag_questions`` maps a red-flag code to the question the patient was asked; a code
    without one is shown by its code. Raises ValueError when the pieces belong to different
    visits or patients, or a time has no time zone.
    """
    return _build(patient=patient, visit=visit, intake=intake, note=note, provider=provider,
                  condition_name=condition_name, addenda=addenda, pharmacy=pharmacy,
                  medications=medications,
                  red_flag_questions=red_flag_questions).model_dump(mode="json")


def bundle_json(*, patient: Patient, visit: Visit, intake: Intake | None, note: SignedNote,
                provider: Provider, condition_name: str, addenda: Sequence[Addendum] = (),
                pharmacy: PharmacyRef | None = None, medications: Sequence[MedicationOrder] = (),
                red_flag_questions: Mapping[str, str] = _NO_QUESTIONS) -> str:
    """:func:`visit_bundle` as indented JSON text."""
    return _build(patient=patient, visit=visit, intake=intake, note=note, provider=provider,
                  condition_name=condition_name, addenda=addenda, pharmacy=pharmacy,
                  medications=medications,
                  red_flag_questions=red_flag_questions).model_dump_json(indent=2)


def _build(*, patient: Patient, visit: Visit, intake: Intake | None, note: SignedNote,
           provider: Provider, condition_name: str, addenda: Sequence[Addendum],
           pharmacy: PharmacyRef | None, medications: Sequence[MedicationOrder],
           red_flag_questions: Mapping[str, str]) -> Bundle:
    _check_same_visit(patient, visit, intake, note, addenda)
    ids = _Ids(visit.id)
    patient_url = ids.url("Patient", patient.id)
    practitioner_url = ids.url("Practitioner", provider.id)
    encounter_url = ids.visit_url("Encounter")
    careplan_url = ids.visit_url("CarePlan")
    pharmacy_url = ids.url("Organization", pharmacy.ncpdp_id) if pharmacy else None
    condition_urls = [ids.visit_url("Condition", str(i), d.code)
                      for i, d in enumerate(note.content.diagnoses)]
    medication_urls = [ids.visit_url("MedicationRequest", str(i), m.rxnorm_code)
                       for i, m in enumerate(medications)]
    refs = _Refs(patient=_ref(patient_url), practitioner=_ref(practitioner_url),
                 encounter=_ref(encounter_url), provider_id=provider.id)

    entries: list[tuple[str, Resource]] = [
        (patient_url, patient_resource(patient)),
        (practitioner_url, practitioner_resource(provider)),
    ]
    if pharmacy and pharmacy_url:
        entries.append((pharmacy_url, pharmacy_resource(pharmacy)))
    entries.append((encounter_url, _encounter(visit, note, refs, condition_name, condition_urls)))
    entries += [(url, _condition(d, note, refs))
                for url, d in zip(condition_urls, note.content.diagnoses, strict=True)]
    entries.append((careplan_url, _careplan(note, addenda, refs, condition_urls, medication_urls)))
    entries += [(url, _medication_request(m, refs, pharmacy_url))
                for url, m in zip(medication_urls, medications, strict=True)]
    if intake is not None:
        entries.append((ids.visit_url("QuestionnaireResponse"),
                        _questionnaire_response(intake, visit, refs, pharmacy_url,
                                                red_flag_questions)))

    # A "document" bundle would need a Composition first and carries attestation rules for the
    # whole bundle; the record only needs these resources together, so a collection it is.
    return Bundle(
        type="collection",
        timestamp=_aware(note.signed_at, "note.signed_at"),
        entry=[BundleEntry(fullUrl=url, resource=resource) for url, resource in entries],
    )


def _check_same_visit(patient: Patient, visit: Visit, intake: Intake | None, note: SignedNote,
                      addenda: Sequence[Addendum]) -> None:
    if visit.patient_id != patient.id:
        raise ValueError(f"Visit {visit.id} is not a visit of patient {patient.id}.")
    if note.visit_id != visit.id:
        raise ValueError(f"The signed note belongs to visit {note.visit_id}, not {visit.id}.")
    if intake is not None and intake.visit_id != visit.id:
        raise ValueError(f"The intake belongs to visit {intake.visit_id}, not {visit.id}.")
    for addendum in addenda:
        if addendum.visit_id != visit.id:
            raise ValueError(f"Addendum {addendum.id} belongs to visit {addendum.visit_id}, "
                             f"not {visit.id}.")


class _Ids:
    """Entry UUIDs: people and pharmacies by their own id, the visit's resources by the visit."""

    def __init__(self, visit_id: str) -> None:
        self._visit_id = visit_id

    def url(self, *parts: str) -> str:
        return "urn:uuid:" + str(uuid.uuid5(_UUID_NAMESPACE, "/".join(parts)))

    def visit_url(self, *parts: str) -> str:
        return self.url("Visit", self._visit_id, *parts)


@dataclass(frozen=True)
class _Refs:
    patient: Reference
    practitioner: Reference
    encounter: Reference
    provider_id: str


def _ref(url: str) -> Reference:
    return Reference(reference=url)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} has no time zone; FHIR times need one (store times in UTC).")
    return value


def _coding(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def _encounter(visit: Visit, note: SignedNote, refs: _Refs, condition_name: str,
               condition_urls: Sequence[str]) -> Encounter:
    content = note.content
    ranked = sorted(zip(condition_urls, content.diagnoses, strict=True),
                    key=lambda pair: not pair[1].primary)  # stable: the primary first
    return Encounter(  # type: ignore[call-arg]  # "class" is aliased; populate_by_name takes it
        identifier=[Identifier(value=visit.id)],
        status="cancelled" if content.disposition in _NOT_SEEN else "finished",
        class_fhir=Coding(system=ACT_CODE, code="VR", display="virtual"),
        subject=refs.patient,
        participant=[EncounterParticipant(
            type=[_coding(PARTICIPATION_TYPE, "PPRF", "primary performer")],
            individual=refs.practitioner,
        )],
        period=Period(start=_aware(visit.created_at, "visit.created_at"),
                      end=_aware(note.signed_at, "note.signed_at")),
        reasonCode=[CodeableConcept(text=condition_name)] if condition_name.strip() else None,
        diagnosis=[EncounterDiagnosis(condition=_ref(url), rank=rank,
                                      use=_coding(DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"))
                   for rank, (url, _) in enumerate(ranked, start=1)] or None,
        hospitalization=_discharge(note),
    )


def _discharge(note: SignedNote) -> EncounterHospitalization | None:
    content = note.content
    if content.disposition is None:
        return None
    words = DISPOSITION_NAMES[content.disposition]
    if content.redirect_to.strip():
        words += f" — {content.redirect_to}"
    if content.reason.strip():
        words += f" (reason: {content.reason})"
    code = _DISPOSITION_CODE.get(content.disposition)
    coding = [Coding(system=DISCHARGE_DISPOSITION, code=code[0], display=code[1])] if code else None
    return EncounterHospitalization(
        dischargeDisposition=CodeableConcept(coding=coding, text=words))


def _condition(diagnosis: CodedDiagnosis, note: SignedNote, refs: _Refs) -> Condition:
    return Condition(
        clinicalStatus=_coding(CONDITION_CLINICAL, "active", "Active"),
        verificationStatus=_coding(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        category=[_coding(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
        code=CodeableConcept(
            coding=[Coding(system=ICD10CM, code=diagnosis.code,
                           display=nonblank(diagnosis.description))],
            text=nonblank(diagnosis.description)),
        subject=refs.patient,
        encounter=refs.encounter,
        recordedDate=_aware(note.signed_at, "note.signed_at"),
        recorder=refs.practitioner,
    )


_PLAN_NOTES = (
    ("What to do at home", "patient_instructions"),
    ("Follow-up", "follow_up"),
    ("Get care right away if", "return_precautions"),
    ("Work/school note", "work_note"),
)


def _careplan(note: SignedNote, addenda: Sequence[Addendum], refs: _Refs,
              condition_urls: Sequence[str], medication_urls: Sequence[str]) -> CarePlan:
    plan = note.content.plan
    signed_at = _aware(note.signed_at, "note.signed_at")
    notes = [_annotation(f"{title}:\n{getattr(plan, field)}", note.signed_by,
                         note.signed_by_name, signed_at, refs)
             for title, field in _PLAN_NOTES if str(getattr(plan, field)).strip()]
    # The signed after-visit summary, then the addenda, each with its own author and time.
    if note.summary.strip():
        notes.append(_annotation(note.summary, note.signed_by, note.signed_by_name, signed_at,
                                 refs))
    notes += [_annotation(a.text, a.author_id, a.author_name, _aware(a.at, f"addendum {a.id}"),
                          refs)
              for a in addenda if a.text.strip()]
    return CarePlan(
        status="active",
        intent="plan",
        title="Plan from the video visit",
        description=nonblank(plan.plan),
        subject=refs.patient,
        encounter=refs.encounter,
        created=signed_at,
        author=refs.practitioner,
        addresses=[_ref(url) for url in condition_urls] or None,
        activity=[CarePlanActivity(reference=_ref(url)) for url in medication_urls] or None,
        note=notes or None,
    )


def _annotation(text: str, author_id: str, author_name: str, at: datetime,
                refs: _Refs) -> Annotation:
    # The visit's provider is in the bundle; anyone else (a covering provider's addendum) is named.
    if author_id == refs.provider_id:
        return Annotation(authorReference=refs.practitioner, time=at, text=text)
    return Annotation(authorString=nonblank(author_name) or nonblank(author_id), time=at, text=text)


def _medication_request(order: MedicationOrder, refs: _Refs,
                        pharmacy_url: str | None) -> MedicationRequest:
    return MedicationRequest(
        status="active",
        intent="order",
        medicationCodeableConcept=CodeableConcept(
            coding=[Coding(system=RXNORM, code=order.rxnorm_code, display=nonblank(order.display))],
            text=nonblank(order.display)),
        subject=refs.patient,
        encounter=refs.encounter,
        # A FHIR dateTime may be a date alone, and the library takes one; its hint says datetime.
        authoredOn=order.written_on,  # type: ignore[arg-type]
        requester=refs.practitioner,
        dosageInstruction=[Dosage(text=order.sig_text)] if order.sig_text.strip() else None,
        dispenseRequest=MedicationRequestDispenseRequest(
            quantity=Quantity(value=order.quantity, unit=nonblank(order.quantity_unit)),
            expectedSupplyDuration=Duration(value=Decimal(order.days_supply), unit="days",
                                            system=UCUM, code="d"),
            numberOfRepeatsAllowed=order.refills,
            performer=_ref(pharmacy_url) if pharmacy_url else None,
        ),
        substitution=MedicationRequestSubstitution(allowedBoolean=order.substitution_allowed),
    )


def _questionnaire_response(intake: Intake, visit: Visit, refs: _Refs, pharmacy_url: str | None,
                            red_flag_questions: Mapping[str, str]) -> QuestionnaireResponse:
    items = [
        _string_item("symptoms", "Symptoms", intake.symptoms),
        _string_item("onset", "When did it start?", intake.onset),
        _string_item("allergies", "Allergies", intake.allergies),
        _string_item("medications", "Current medications", intake.medications),
    ]
    if intake.red_flags:
        items.append(QuestionnaireResponseItem(
            linkId="red-flags", text="Emergency warning signs",
            item=[_boolean_item(f"red-flag.{code}", red_flag_questions.get(code) or code, answer)
                  for code, answer in intake.red_flags.items()]))
    items += [
        _boolean_item("consent-telehealth", CONSENT_TEXT, intake.consent_telehealth),
        _string_item("callback-phone", "Callback phone", intake.callback_phone),
        _string_item("patient-location-state", "State the patient is in during the visit",
                     intake.patient_location_state),
    ]
    if pharmacy_url:
        items.append(QuestionnaireResponseItem(
            linkId="pharmacy", text="Pharmacy",
            answer=[QuestionnaireResponseItemAnswer(valueReference=_ref(pharmacy_url))]))
    else:
        items.append(_string_item("pharmacy", "Pharmacy", intake.pharmacy_id))
    items += [_string_item(f"extra.{key}", key, value) for key, value in intake.extra.items()]
    return QuestionnaireResponse(
        status="completed",
        subject=refs.patient,
        encounter=refs.encounter,
        # Check-in ends (and the intake is complete) when the visit starts waiting.
        authored=_aware(visit.waiting_since or visit.created_at, "the visit's check-in time"),
        author=refs.patient,
        source=refs.patient,
        # FHIR leaves unanswered questions out rather than answering them with nothing.
        item=[item for item in items if item is not None],
    )


def _string_item(link_id: str, question: str, answer: str) -> QuestionnaireResponseItem | None:
    if not answer.strip():
        return None
    return QuestionnaireResponseItem(
        linkId=link_id, text=question,
        answer=[QuestionnaireResponseItemAnswer(valueString=answer)])


def _boolean_item(link_id: str, question: str, answer: bool) -> QuestionnaireResponseItem:
    return QuestionnaireResponseItem(
        linkId=link_id, text=question,
        answer=[QuestionnaireResponseItemAnswer(valueBoolean=answer)])
