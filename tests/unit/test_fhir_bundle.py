"""The visit's FHIR R4 export: what another system reading the bundle would find."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from workstation.core.charting import (
    Addendum,
    CodedDiagnosis,
    Disposition,
    NoteContent,
    SignedNote,
    TreatmentPlan,
)
from workstation.core.eligibility import RED_FLAGS
from workstation.core.fhir_bundle import (
    ICD10CM,
    RXNORM,
    MedicationOrder,
    bundle_json,
    visit_bundle,
)
from workstation.core.fhir_people import NCPDP, NPI, PharmacyRef
from workstation.core.intake import CONSENT_TEXT, Intake
from workstation.core.people import Address, Patient, Provider, Sex
from workstation.core.visit import Visit, VisitKind, VisitState

CREATED = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
SIGNED = CREATED + timedelta(minutes=34)
# Markup, quotes, symbols, emoji, lines and a trailing newline, all to come back unchanged.
SYMPTOMS = 'Sore throat <script>alert("x")</script> &amp; fever\n  38.9 °C — “worse” at night 😷\n'

PATIENT = Patient(
    id="pat-7", given_name="Zoë", family_name="Ñúñez-O'Brien", date_of_birth=date(1985, 3, 14),
    sex=Sex.FEMALE, phone="512-555-0142", email="zoe@example.org",
    address=Address("12 Elm St", "Austin", "TX", "78701", line2="Apt 4B"),
)
PROVIDER = Provider(id="prov-1", username="aokafor", display_name="Amara Okafor, MD",
                    service_lines=("urgent_care",), npi="1234567893")
VISIT = Visit(id="visit-42", kind=VisitKind.ON_DEMAND, state=VisitState.SIGNED,
              patient_id=PATIENT.id, service_line="urgent_care", condition="sore_throat",
              created_at=CREATED, waiting_since=CREATED + timedelta(minutes=3),
              provider_id=PROVIDER.id)
RED_FLAG_QUESTIONS = {f.code: f.question for f in RED_FLAGS}
INTAKE = Intake(
    visit_id=VISIT.id, symptoms=SYMPTOMS, onset="2 days ago", allergies="Penicillin (hives)",
    medications="Ibuprofen 200 mg as needed",
    red_flags={"chest_pain": False, "trouble_breathing": False, "unlisted_flag": True},
    consent_telehealth=True, callback_phone="512-555-0199", pharmacy_id="pharm-3",
    patient_location_state="TX", extra={"pregnant": "No"},
)
PLAN = TreatmentPlan(
    plan="Amoxicillin 500 mg twice daily for 10 days.",
    patient_instructions="Rest, fluids, salt-water gargles.",
    follow_up="See your PCP if not better in 3 days.",
    return_precautions="Trouble swallowing saliva or breathing: go to the ED.",
)
NOTE = SignedNote(
    visit_id=VISIT.id,
    content=NoteContent(
        diagnoses=(CodedDiagnosis("R50.9", "Fever, unspecified"),
                   CodedDiagnosis("J02.0", "Streptococcal pharyngitis", primary=True)),
        plan=PLAN, disposition=Disposition.TREATED, identity_confirmed=True),
    summary="Strep throat. Take the antibiotic until it is gone.\n<b>Not</b> contagious after 24h.",
    signed_by=PROVIDER.id, signed_by_name=PROVIDER.display_name, signed_at=SIGNED,
)
ADDENDA = (
    Addendum("add-1", VISIT.id, PROVIDER.id, PROVIDER.display_name, SIGNED + timedelta(hours=2),
             "Rapid strep culture confirmed positive."),
    Addendum("add-2", VISIT.id, "prov-9", "Lee Chen, NP", SIGNED + timedelta(days=1),
             "Patient called: feeling better."),
)
PHARMACY = PharmacyRef(ncpdp_id="4455667", npi="1987654321", name="Elm Street Pharmacy",
                       phone="512-555-0100", address_line="400 Elm St", city="Austin",
                       state="TX", postal_code="78701")
AMOXICILLIN = MedicationOrder(
    rxnorm_code="308191", display="amoxicillin 500 MG Oral Capsule",
    sig_text="Take 1 capsule by mouth twice daily for 10 days", quantity=Decimal("20"),
    quantity_unit="capsule", days_supply=10, refills=0, substitution_allowed=True,
    written_on=date(2026, 11, 24),
)


def build(**overrides: Any) -> dict[str, Any]:
    """The bundle as JSON text, read back as data (what the receiving system sees)."""
    args: dict[str, Any] = dict(patient=PATIENT, visit=VISIT, intake=INTAKE, note=NOTE,
                                provider=PROVIDER, condition_name="Sore throat", addenda=ADDENDA,
                                red_flag_questions=RED_FLAG_QUESTIONS)
    args.update(overrides)
    data: dict[str, Any] = json.loads(bundle_json(**args))
    return data


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(bundle, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def url_of(bundle: dict[str, Any], resource: dict[str, Any]) -> str:
    return str(next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is resource))


def references(node: Any) -> list[str]:
    """Every Reference.reference anywhere under ``node``."""
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in references(value)]
    if isinstance(node, list):
        return [r for value in node for r in references(value)]
    return []


def answers(qr: dict[str, Any]) -> dict[str, Any]:
    """linkId -> the single answer value, through groups."""
    out: dict[str, Any] = {}
    for item in qr["item"]:
        for child in item.get("item", [item]):
            (answer,) = child["answer"]
            (value,) = answer.values()
            out[child["linkId"]] = value
    return out


def test_the_json_parses_back_as_a_valid_r4_bundle_with_every_resource() -> None:
    text = bundle_json(patient=PATIENT, visit=VISIT, intake=INTAKE, note=NOTE, provider=PROVIDER,
                       condition_name="Sore throat", addenda=ADDENDA, pharmacy=PHARMACY,
                       medications=[AMOXICILLIN], red_flag_questions=RED_FLAG_QUESTIONS)

    parsed = Bundle.model_validate_json(text)

    assert parsed.type == "collection"
    assert parsed.entry is not None
    counts = Counter(e.resource.get_resource_type() for e in parsed.entry if e.resource)
    assert counts == {"Patient": 1, "Practitioner": 1, "Organization": 1, "Encounter": 1,
                      "Condition": 2, "CarePlan": 1, "MedicationRequest": 1,
                      "QuestionnaireResponse": 1}
    assert "\n  " in text  # pretty, for a person opening the file


def test_visit_bundle_is_the_same_data_as_the_json_and_repeatable() -> None:
    args: dict[str, Any] = dict(patient=PATIENT, visit=VISIT, intake=INTAKE, note=NOTE,
                                provider=PROVIDER, condition_name="Sore throat",
                                pharmacy=PHARMACY, medications=[AMOXICILLIN])
    data = visit_bundle(**args)

    assert data == json.loads(bundle_json(**args))
    assert data == visit_bundle(**args)  # same visit, same UUIDs
    Bundle.model_validate(data)


def test_every_reference_points_at_an_entry_of_the_bundle() -> None:
    bundle = build(pharmacy=PHARMACY, medications=[AMOXICILLIN])
    urls = [e["fullUrl"] for e in bundle["entry"]]

    refs = references(bundle)

    assert len(urls) == len(set(urls))
    assert all(url.startswith("urn:uuid:") for url in urls)
    assert len(refs) > 20
    assert set(refs) <= set(urls)


def test_patient_demographics() -> None:
    patient = one(build(), "Patient")

    assert patient["name"] == [{"family": "Ñúñez-O'Brien", "given": ["Zoë"]}]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1985-03-14"
    assert patient["telecom"] == [{"system": "phone", "value": "512-555-0142"},
                                  {"system": "email", "value": "zoe@example.org"}]
    assert patient["address"] == [{"line": ["12 Elm St", "Apt 4B"], "city": "Austin",
                                   "state": "TX", "postalCode": "78701"}]


@pytest.mark.parametrize("sex", list(Sex))
def test_every_sex_maps_to_a_fhir_gender(sex: Sex) -> None:
    patient = one(build(patient=replace(PATIENT, sex=sex, email="", address=None)), "Patient")

    assert patient["gender"] == sex.value
    assert patient["telecom"] == [{"system": "phone", "value": "512-555-0142"}]
    assert "address" not in patient


def test_practitioner_carries_the_npi_only_when_known() -> None:
    with_npi = one(build(), "Practitioner")
    without = one(build(provider=replace(PROVIDER, npi="")), "Practitioner")

    assert with_npi["identifier"] == [{"system": NPI, "value": "1234567893"}]
    assert with_npi["name"] == [{"text": "Amara Okafor, MD"}]
    assert "identifier" not in without


def test_encounter_is_a_finished_virtual_visit_of_the_patient_with_the_provider() -> None:
    bundle = build()
    encounter = one(bundle, "Encounter")

    assert encounter["status"] == "finished"
    assert encounter["class"] == {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                  "code": "VR", "display": "virtual"}
    assert encounter["period"] == {"start": "2026-11-24T16:00:00Z", "end": "2026-11-24T16:34:00Z"}
    assert encounter["subject"]["reference"] == url_of(bundle, one(bundle, "Patient"))
    (participant,) = encounter["participant"]
    assert participant["individual"]["reference"] == url_of(bundle, one(bundle, "Practitioner"))
    assert encounter["reasonCode"] == [{"text": "Sore throat"}]
    assert encounter["identifier"] == [{"value": "visit-42"}]
    disposition = encounter["hospitalization"]["dischargeDisposition"]
    assert disposition["text"] == "Treated"
    assert disposition["coding"][0]["code"] == "home"


def test_redirect_disposition_says_where_and_why() -> None:
    content = replace(NOTE.content, disposition=Disposition.REDIRECTED,
                      redirect_to="Austin Urgent Care, 5th St", reason="needs a throat exam")
    encounter = one(build(note=replace(NOTE, content=content)), "Encounter")

    disposition = encounter["hospitalization"]["dischargeDisposition"]
    assert disposition["text"] == ("Redirected to in-person care — Austin Urgent Care, 5th St "
                                   "(reason: needs a throat exam)")
    assert disposition["coding"][0]["code"] == "other-hcf"
    assert encounter["status"] == "finished"


def test_a_no_show_is_a_cancelled_encounter_without_diagnoses() -> None:
    content = NoteContent(disposition=Disposition.NO_SHOW, reason="did not join in 10 minutes")
    bundle = build(note=replace(NOTE, content=content))
    encounter = one(bundle, "Encounter")

    assert encounter["status"] == "cancelled"
    assert encounter["hospitalization"]["dischargeDisposition"] == {
        "text": "No-show (reason: did not join in 10 minutes)"}
    assert "diagnosis" not in encounter
    assert resources(bundle, "Condition") == []
    assert "addresses" not in one(bundle, "CarePlan")


def test_conditions_are_icd10_coded_and_the_primary_ranks_first() -> None:
    bundle = build()
    conditions = resources(bundle, "Condition")
    by_code = {c["code"]["coding"][0]["code"]: c for c in conditions}
    encounter = one(bundle, "Encounter")

    assert set(by_code) == {"J02.0", "R50.9"}
    for condition in conditions:
        (coding,) = condition["code"]["coding"]
        assert coding["system"] == ICD10CM
        assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
        assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
        assert condition["encounter"]["reference"] == url_of(bundle, encounter)
        assert condition["subject"]["reference"] == url_of(bundle, one(bundle, "Patient"))
    assert by_code["J02.0"]["code"]["text"] == "Streptococcal pharyngitis"
    ranks = {d["condition"]["reference"]: d["rank"] for d in encounter["diagnosis"]}
    assert ranks == {url_of(bundle, by_code["J02.0"]): 1, url_of(bundle, by_code["R50.9"]): 2}


def test_careplan_holds_the_plan_the_signed_summary_and_the_addenda() -> None:
    bundle = build()
    careplan = one(bundle, "CarePlan")
    practitioner = url_of(bundle, one(bundle, "Practitioner"))
    notes = careplan["note"]

    assert careplan["status"] == "active"
    assert careplan["intent"] == "plan"
    assert careplan["description"] == PLAN.plan
    assert {r["reference"] for r in careplan["addresses"]} == {
        url_of(bundle, c) for c in resources(bundle, "Condition")}
    texts = [n["text"] for n in notes]
    for part in (PLAN.patient_instructions, PLAN.follow_up, PLAN.return_precautions):
        assert any(part in text for text in texts)
    assert not any("Work/school" in text for text in texts)  # no work note was written
    summary, first, second = notes[-3:]
    assert summary == {"authorReference": {"reference": practitioner},
                       "time": "2026-11-24T16:34:00Z", "text": NOTE.summary}
    assert first == {"authorReference": {"reference": practitioner},
                     "time": "2026-11-24T18:34:00Z",
                     "text": "Rapid strep culture confirmed positive."}
    assert second == {"authorString": "Lee Chen, NP", "time": "2026-11-25T16:34:00Z",
                      "text": "Patient called: feeling better."}


def test_no_medication_request_or_pharmacy_when_none_given() -> None:
    bundle = build()

    assert resources(bundle, "MedicationRequest") == []
    assert resources(bundle, "Organization") == []
    assert "activity" not in one(bundle, "CarePlan")


def test_medication_request_for_the_chosen_pharmacy() -> None:
    bundle = build(pharmacy=PHARMACY, medications=[AMOXICILLIN])
    request = one(bundle, "MedicationRequest")
    pharmacy = one(bundle, "Organization")

    assert request["status"] == "active"
    assert request["intent"] == "order"
    assert request["medicationCodeableConcept"]["coding"] == [
        {"system": RXNORM, "code": "308191", "display": "amoxicillin 500 MG Oral Capsule"}]
    assert request["dosageInstruction"] == [
        {"text": "Take 1 capsule by mouth twice daily for 10 days"}]
    assert request["authoredOn"] == "2026-11-24"
    dispense = request["dispenseRequest"]
    assert dispense["quantity"] == {"value": 20, "unit": "capsule"}
    assert dispense["expectedSupplyDuration"]["value"] == 10
    assert dispense["expectedSupplyDuration"]["code"] == "d"
    assert dispense["numberOfRepeatsAllowed"] == 0
    assert dispense["performer"]["reference"] == url_of(bundle, pharmacy)
    assert request["substitution"] == {"allowedBoolean": True}
    assert request["requester"]["reference"] == url_of(bundle, one(bundle, "Practitioner"))
    assert one(bundle, "CarePlan")["activity"] == [
        {"reference": {"reference": url_of(bundle, request)}}]
    assert pharmacy["name"] == "Elm Street Pharmacy"
    assert {i["system"]: i["value"] for i in pharmacy["identifier"]} == {
        NCPDP: "4455667", NPI: "1987654321"}


def test_two_medications_without_a_pharmacy() -> None:
    ibuprofen = replace(AMOXICILLIN, rxnorm_code="197806", display="ibuprofen 600 MG Oral Tablet",
                        quantity=Decimal("30.5"), quantity_unit="tablet", refills=2,
                        substitution_allowed=False)
    bundle = build(medications=[AMOXICILLIN, ibuprofen])
    requests = resources(bundle, "MedicationRequest")

    assert [r["medicationCodeableConcept"]["coding"][0]["code"] for r in requests] == [
        "308191", "197806"]
    assert requests[1]["dispenseRequest"]["quantity"]["value"] == 30.5
    assert requests[1]["dispenseRequest"]["numberOfRepeatsAllowed"] == 2
    assert requests[1]["substitution"] == {"allowedBoolean": False}
    assert all("performer" not in r["dispenseRequest"] for r in requests)


def test_questionnaire_response_has_every_intake_answer() -> None:
    bundle = build(pharmacy=PHARMACY)
    qr = one(bundle, "QuestionnaireResponse")

    assert qr["status"] == "completed"
    assert qr["subject"]["reference"] == url_of(bundle, one(bundle, "Patient"))
    assert qr["encounter"]["reference"] == url_of(bundle, one(bundle, "Encounter"))
    assert answers(qr) == {
        "symptoms": SYMPTOMS,
        "onset": "2 days ago",
        "allergies": "Penicillin (hives)",
        "medications": "Ibuprofen 200 mg as needed",
        "red-flag.chest_pain": False,
        "red-flag.trouble_breathing": False,
        "red-flag.unlisted_flag": True,
        "consent-telehealth": True,
        "callback-phone": "512-555-0199",
        "patient-location-state": "TX",
        "pharmacy": {"reference": url_of(bundle, one(bundle, "Organization"))},
        "extra.pregnant": "No",
    }
    questions = {child["linkId"]: child["text"]
                 for item in qr["item"] for child in item.get("item", [item])}
    assert questions["red-flag.chest_pain"] == "Chest pain or pressure"
    assert questions["red-flag.unlisted_flag"] == "unlisted_flag"  # no question text: the code
    assert questions["consent-telehealth"] == CONSENT_TEXT


def test_blank_intake_answers_are_left_out_and_no_intake_means_no_questionnaire() -> None:
    sparse = replace(INTAKE, allergies="", medications="   ", extra={})
    qr = one(build(intake=sparse), "QuestionnaireResponse")

    assert "allergies" not in answers(qr)
    assert "medications" not in answers(qr)
    assert answers(qr)["pharmacy"] == "pharm-3"  # no pharmacy resource: the chosen id
    assert resources(build(intake=None), "QuestionnaireResponse") == []


def test_free_text_is_kept_exactly_through_json_and_the_fhir_parser() -> None:
    text = bundle_json(patient=PATIENT, visit=VISIT, intake=INTAKE, note=NOTE, provider=PROVIDER,
                       condition_name="Mal de garganta — “sore throat”", addenda=ADDENDA)
    parsed = Bundle.model_validate_json(text)
    data = json.loads(text)

    assert answers(one(data, "QuestionnaireResponse"))["symptoms"] == SYMPTOMS
    assert one(data, "Patient")["name"][0]["given"] == ["Zoë"]
    assert one(data, "Encounter")["reasonCode"][0]["text"] == "Mal de garganta — “sore throat”"
    assert parsed.model_dump(mode="json") == data
    assert any(n["text"] == NOTE.summary for n in one(data, "CarePlan")["note"])


@pytest.mark.parametrize(("field", "value", "message"), [
    ("visit", replace(VISIT, patient_id="someone-else"), "not a visit of patient"),
    ("note", replace(NOTE, visit_id="visit-1"), "signed note belongs to visit visit-1"),
    ("intake", replace(INTAKE, visit_id="visit-1"), "intake belongs to visit visit-1"),
    ("addenda", [replace(ADDENDA[0], visit_id="visit-1")], "Addendum add-1 belongs"),
    ("visit", replace(VISIT, created_at=datetime(2026, 11, 24, 16, 0)), "no time zone"),
])
def test_mismatched_or_naive_inputs_are_refused(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**{field: value})
