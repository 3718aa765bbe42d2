"""The diagnosis shortlists and plan templates shipped for each condition, and how they load."""

from __future__ import annotations

import json
import re
import shutil
import string
from pathlib import Path

import pytest

from workstation.core.charting import TreatmentPlan
from workstation.core.icd10 import check_billable
from workstation.resource_files import (
    ResourceFileError,
    Resources,
    load_resources,
    resources_dir,
)

PLACEHOLDERS = {"patient_name", "visit_date"}
# A dose or strength, which belongs in the prescription pane, not in a template.
DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|ml|mL|units?|tablets?|capsules?|puffs?)\b",
                  re.I)


def condition_codes(resources: Resources) -> set[str]:
    return {c.code for c in resources.conditions}


# -- the shortlists ----------------------------------------------------------------------------


def test_every_condition_has_a_shortlist_of_three_to_eight_codes(resources: Resources):
    for condition in condition_codes(resources):
        codes = resources.shortlist_for(condition)
        assert 3 <= len(codes) <= 8, condition
        assert len(set(codes)) == len(codes), f"{condition} lists a code twice"


def test_shortlists_are_only_for_listed_conditions(resources: Resources):
    assert set(resources.diagnosis_shortlists) == condition_codes(resources)


def test_every_shortlisted_code_is_billable_and_written_dotted(resources: Resources):
    for condition, codes in resources.diagnosis_shortlists.items():
        for code in codes:
            entry = check_billable(code)  # raises, naming the code, if it is not
            assert entry.code == code, f"{condition}: write {code} as {entry.code}"


@pytest.mark.parametrize(("condition", "expected_first"), [
    ("sore_throat", "J02.9"),
    ("painful_urination", "N39.0"),
    ("cold_flu", "J06.9"),
    ("seasonal_allergies", "J30.2"),
])
def test_the_usual_code_comes_first(resources: Resources, condition: str, expected_first: str):
    assert resources.shortlist_for(condition)[0] == expected_first


def test_shortlists_hold_the_codes_an_urgent_care_clinician_expects(resources: Resources):
    assert {"J02.9", "J02.0", "J03.90"} <= set(resources.shortlist_for("sore_throat"))
    assert {"N39.0", "N30.00", "R30.0"} <= set(resources.shortlist_for("painful_urination"))
    assert {"K21.9", "R12"} <= set(resources.shortlist_for("acid_reflux"))
    assert "R50.9" in resources.shortlist_for("fever")
    assert "Z48.02" in resources.shortlist_for("wound_check")  # suture removal
    assert "R05.1" in resources.shortlist_for("cough")


def test_an_unknown_condition_has_an_empty_shortlist(resources: Resources):
    assert resources.shortlist_for("broken_leg") == ()


# -- the plan templates ------------------------------------------------------------------------


def test_every_condition_has_a_template_ready_to_sign_from(resources: Resources):
    assert set(resources.plan_templates) == condition_codes(resources)
    for condition in condition_codes(resources):
        plan = resources.plan_template(condition)
        assert plan.plan.strip(), condition
        assert plan.patient_instructions.strip(), condition
        assert plan.return_precautions.strip(), condition
        assert plan.follow_up.strip(), condition


def test_templates_give_no_doses(resources: Resources):
    for condition, plan in resources.plan_templates.items():
        for text in (plan.plan, plan.patient_instructions, plan.follow_up,
                     plan.return_precautions, plan.work_note):
            assert not DOSE.search(text), f"{condition}: {DOSE.search(text)}"


def test_templates_use_only_the_documented_placeholders(resources: Resources):
    used: set[str] = set()
    for condition, plan in resources.plan_templates.items():
        for text in (plan.plan, plan.patient_instructions, plan.follow_up,
                     plan.return_precautions, plan.work_note):
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            assert names <= PLACEHOLDERS, f"{condition}: {names - PLACEHOLDERS}"
            used |= names
            # Every placeholder fills in, so the text is valid for str.format.
            filled = text.format(patient_name="Ana Silva", visit_date="2026-11-24")
            assert "{" not in filled
            assert "}" not in filled
    assert used == PLACEHOLDERS
    about = json.loads((resources_dir() / "plan_templates.json").read_text("utf-8"))["_about"]
    assert "{patient_name}" in about
    assert "{visit_date}" in about


def test_return_precautions_name_the_red_flags_of_the_condition(resources: Resources):
    red_flags = {
        "sore_throat": ["trouble breathing", "drooling"],
        "painful_urination": ["fever", "back"],
        "red_eye": ["vision", "light"],
        "insect_bites": ["trouble breathing", "swelling of the lips"],
        "diarrhea": ["dehydration", "blood"],
        "acid_reflux": ["chest pain", "vomiting blood"],
        "minor_injuries": ["numbness", "weight"],
        "fever": ["stiff neck", "confusion"],
        "wound_check": ["red streaks", "pus"],
    }
    for condition, flags in red_flags.items():
        text = resources.plan_template(condition).return_precautions.casefold()
        for flag in flags:
            assert flag in text, f"{condition} should warn about {flag}"


def test_illnesses_that_keep_people_home_offer_a_work_note(resources: Resources):
    for condition in ("cold_flu", "fever", "sore_throat", "diarrhea"):
        note = resources.plan_template(condition).work_note
        assert "{patient_name}" in note
        assert "{visit_date}" in note
    assert resources.plan_template("seasonal_allergies").work_note == ""


def test_an_unknown_condition_gets_an_empty_plan(resources: Resources):
    assert resources.plan_template("broken_leg") == TreatmentPlan()


def test_resources_built_without_shortlists_or_templates_still_work(resources: Resources):
    bare = Resources(resources.conditions, resources.pharmacies)
    assert bare.shortlist_for("sore_throat") == ()
    assert bare.plan_template("sore_throat") == TreatmentPlan()
    assert len(bare.diagnosis_shortlists) == 0
    assert len(bare.plan_templates) == 0


def test_loaded_mappings_cannot_be_changed_by_accident(resources: Resources):
    with pytest.raises(TypeError):
        resources.diagnosis_shortlists["sore_throat"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        resources.plan_templates["sore_throat"] = TreatmentPlan()  # type: ignore[index]


# -- loading errors name the file --------------------------------------------------------------


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A copy of the shipped resources folder, to break one file at a time."""
    target = tmp_path / "resources"
    shutil.copytree(resources_dir(), target)
    return target


def test_the_copy_loads_like_the_original(copied: Path, resources: Resources):
    loaded = load_resources(copied)
    assert loaded.diagnosis_shortlists == resources.diagnosis_shortlists
    assert loaded.plan_templates == resources.plan_templates


@pytest.mark.parametrize("name", ["diagnosis_shortlists.json", "plan_templates.json"])
def test_a_missing_file_is_named(copied: Path, name: str):
    (copied / name).unlink()
    with pytest.raises(ResourceFileError, match=re.escape(name)) as error:
        load_resources(copied)
    assert "is missing" in str(error.value)


@pytest.mark.parametrize("name", ["diagnosis_shortlists.json", "plan_templates.json"])
def test_a_file_that_is_not_json_is_named(copied: Path, name: str):
    (copied / name).write_text('{"shortlists": {"sore_throat": ["J02.9",]}', encoding="utf-8")
    with pytest.raises(ResourceFileError, match=re.escape(name)) as error:
        load_resources(copied)
    assert "could not be read" in str(error.value)


@pytest.mark.parametrize(("name", "key"), [
    ("diagnosis_shortlists.json", "shortlists"),
    ("plan_templates.json", "templates"),
])
def test_a_file_without_its_section_is_named(copied: Path, name: str, key: str):
    (copied / name).write_text('{"_about": "emptied"}', encoding="utf-8")
    with pytest.raises(ResourceFileError, match=re.escape(name)) as error:
        load_resources(copied)
    assert f'no "{key}" object' in str(error.value)


def test_a_shortlist_that_is_not_a_list_of_codes_is_named(copied: Path):
    (copied / "diagnosis_shortlists.json").write_text(
        json.dumps({"shortlists": {"sore_throat": "J02.9"}}), encoding="utf-8")
    with pytest.raises(ResourceFileError, match=r"diagnosis_shortlists\.json.*sore_throat"):
        load_resources(copied)


def test_a_template_with_a_misspelt_field_is_named(copied: Path):
    (copied / "plan_templates.json").write_text(
        json.dumps({"templates": {"cough": {"plan": "Rest.", "return_precaution": "Breathing."}}}),
        encoding="utf-8")
    with pytest.raises(ResourceFileError,
                       match=r"plan_templates\.json.*cough.*unknown fields return_precaution"):
        load_resources(copied)


def test_a_template_that_is_not_text_is_named(copied: Path):
    (copied / "plan_templates.json").write_text(
        json.dumps({"templates": {"cough": {"plan": ["Rest."]}}}), encoding="utf-8")
    with pytest.raises(ResourceFileError, match=r"plan_templates\.json.*cough"):
        load_resources(copied)


# --- e-prescribing data ---------------------------------------------------------------------


def _prescribable_names(resources: Resources) -> set[str]:
    names: set[str] = set()
    for drug in resources.formulary.drugs:
        names |= {drug.ingredient.casefold(), *drug.ingredients,
                  *(c.casefold() for c in drug.classes)}
    return names


def test_formulary_loads_with_unique_rxnorm_codes_each_with_its_source(
        resources: Resources) -> None:
    drugs = resources.formulary.drugs
    assert len(drugs) >= 30
    assert len({d.rxcui for d in drugs}) == len(drugs)
    assert all(d.source and d.rxcui.isdigit() for d in drugs)
    assert {d.dea_schedule for d in drugs if d.controlled} >= {"III", "IV"}


def test_formulary_conditions_are_offered_conditions(resources: Resources) -> None:
    known = condition_codes(resources)
    for drug in resources.formulary.drugs:
        assert set(drug.conditions) <= known, drug.rxcui


def test_each_default_script_passes_its_own_amount_checks(resources: Resources) -> None:
    """The defaults a provider starts from raise no quantity, dose or days-supply warning."""
    from workstation.core.prescribing import RxDraft, check_amounts

    for drug in resources.formulary.drugs:
        assert check_amounts(RxDraft.from_defaults(drug)) == [], drug.name


def test_every_interaction_rule_can_fire_on_a_formulary_drug(resources: Resources) -> None:
    names = _prescribable_names(resources)
    for row in resources.prescribing_rules.interactions:
        assert row.a in names or row.b in names, (row.a, row.b)


def test_cross_sensitivities_name_known_allergy_classes(resources: Resources) -> None:
    rules = resources.prescribing_rules
    for cross in rules.cross:
        assert cross.allergy_class in rules.allergens, cross
