"""Prescribing checks: allergy with cross-sensitivity, interactions, duplicates, amounts,
controlled substances; the sig's words. Rule data shaped like the files in resources/."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from workstation.core.formulary import Formulary, FormularyError, Sig, drug_from_mapping
from workstation.core.prescribing import (
    PrescribingRules,
    RxDraft,
    check_draft,
    gender_code,
    split_name,
)


def _drug(rxcui: str, name: str, ingredient: str, classes: list[str], *, unit: str = "capsule",
          frequency: str = "TID", days: int = 10, quantity: int = 30, schedule: str | None = None,
          route: str = "oral", max_dose: int = 2, max_day: int = 6,
          dispense_unit: str | None = None) -> dict[str, Any]:
    return {"rxcui": rxcui, "name": name, "ingredient": ingredient, "strength": "x",
            "dose_form": "oral capsule", "route": route, "classes": classes,
            "dea_schedule": schedule, "conditions": ["sore_throat"],
            "sig": {"dose": 1, "dose_unit": unit, "frequency": frequency, "duration_days": days,
                    "prn": False},
            "dispense": {"quantity": quantity, "unit": dispense_unit or unit,
                         "days_supply": days},
            "usual_dose": {"max_per_dose": max_dose, "max_per_day": max_day},
            "source": "test"}


FORMULARY = Formulary.from_mapping({"drugs": [
    _drug("308191", "amoxicillin 500 MG Oral Capsule", "amoxicillin",
          ["penicillin", "beta-lactam antibiotic"]),
    _drug("309114", "cephalexin 500 MG Oral Capsule", "cephalexin",
          ["cephalosporin", "beta-lactam antibiotic"], frequency="QID", quantity=40),
    _drug("198335", "sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet",
          "sulfamethoxazole / trimethoprim", ["sulfonamide antibiotic"], unit="tablet",
          frequency="BID", quantity=6, days=3),
    _drug("1014678", "cetirizine hydrochloride 10 MG Oral Tablet", "cetirizine",
          ["antihistamine"], unit="tablet", frequency="QD", quantity=30, days=30, max_dose=1,
          max_day=1),
    _drug("311372", "loratadine 10 MG Oral Tablet", "loratadine", ["antihistamine"],
          unit="tablet", frequency="QD", quantity=30, days=30, max_dose=1, max_day=1),
    _drug("309309", "ciprofloxacin 500 MG Oral Tablet", "ciprofloxacin", ["fluoroquinolone"],
          unit="tablet", frequency="BID", quantity=6, days=3),
    _drug("403818", "moxifloxacin 5 MG/ML Ophthalmic Solution", "moxifloxacin",
          ["fluoroquinolone", "ophthalmic antibiotic"], unit="drop", route="ophthalmic",
          frequency="TID", days=7, max_dose=1, max_day=3, quantity=3, dispense_unit="mL"),
    _drug("993781", "acetaminophen 300 MG / codeine phosphate 30 MG Oral Tablet",
          "acetaminophen / codeine", ["opioid", "analgesic"], unit="tablet", schedule="III"),
]})
RULES = PrescribingRules.from_mappings(
    {"allergens": [{"class": "penicillin", "terms": ["penicillin", "pcn", "amoxicillin"]},
                   {"class": "sulfonamide antibiotic", "terms": ["sulfa", "bactrim"]},
                   {"class": "fluoroquinolone", "terms": ["cipro", "ciprofloxacin"]}],
     "cross_sensitivity": [{"allergy_class": "penicillin", "drug_class": "cephalosporin",
                            "reason": "about 1-2% cross-reactivity"}]},
    {"interactions": [{"a": "sulfamethoxazole / trimethoprim", "b": "warfarin",
                       "b_terms": ["coumadin", "jantoven"], "severity": "major",
                       "effect": "raises INR; bleeding risk", "advice": "Choose another."},
                      {"a": "fluoroquinolone", "b": "tizanidine", "severity": "major",
                       "effect": "tizanidine levels rise", "advice": "Avoid."},
                      {"a": "cephalexin", "b": "metformin", "severity": "moderate",
                       "effect": "higher metformin levels", "advice": "Watch glucose."}]})


def draft(rxcui: str, **changes: Any) -> RxDraft:
    drug = FORMULARY.get(rxcui)
    assert drug is not None
    return replace(RxDraft.from_defaults(drug), **changes)


def findings(d: RxDraft, *, allergies: str = "", medications: str = "",
             others: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    other_drugs = [FORMULARY.get(r) for r in others]
    return [(f.kind, f.message) for f in check_draft(
        d, allergies=allergies, medications=medications,
        others=[o for o in other_drugs if o is not None], formulary=FORMULARY, rules=RULES)]


def test_defaults_need_nothing() -> None:
    assert findings(draft("308191")) == []


@pytest.mark.parametrize("allergy", ["Penicillin (hives)", "PCN", "amoxicillin - rash"])
def test_penicillin_allergy_warns_on_amoxicillin(allergy: str) -> None:
    found = findings(draft("308191"), allergies=allergy)
    assert [k for k, _m in found] == ["allergy"]


def test_penicillin_allergy_warns_on_cephalexin_by_cross_sensitivity() -> None:
    [(kind, message)] = findings(draft("309114"), allergies="penicillin")
    assert kind == "allergy"
    assert "cephalosporin" in message and "cross-reactivity" in message


def test_an_allergy_word_inside_another_word_is_not_an_allergy() -> None:
    # "sulfa" is not in "sulfate"; "pcn" is not in "pcnx"
    assert findings(draft("198335"), allergies="ferrous sulfate intolerance, pcnx") == []
    assert findings(draft("198335"), allergies="sulfa drugs") != []


def test_no_allergy_means_no_allergy_warning() -> None:
    assert findings(draft("309114"), allergies="NKDA") == []


def test_interaction_with_the_patients_own_medication_by_brand_name() -> None:
    [(kind, message)] = findings(draft("198335"), medications="Coumadin 5 mg daily")
    assert kind == "interaction"
    assert message.startswith("Major interaction") and "bleeding" in message


def test_interaction_is_found_from_either_side_of_the_table() -> None:
    assert [k for k, _m in findings(draft("309114"), medications="metformin 500")] == \
        ["interaction"]


def test_duplicate_therapy_within_the_visit_and_with_home_medications() -> None:
    assert [k for k, _m in findings(draft("311372"), others=("1014678",))] == ["duplicate"]
    assert [k for k, _m in findings(draft("311372"), medications="cetirizine")] == ["duplicate"]
    assert [k for k, _m in findings(draft("308191"), others=("308191",))] == ["duplicate"]


def test_quantity_that_does_not_match_days_supply_warns() -> None:
    [(kind, message)] = findings(draft("308191", quantity=Decimal(21)))
    assert kind == "quantity"
    assert "lasts 7 days, not the 10 days supply" in message


def test_a_course_whose_quantity_is_not_what_the_directions_use_warns() -> None:
    # One tablet a day for 5 days is 5 tablets: 6 is one too many, though it "lasts" 6 days.
    sig = Sig(dose=Decimal(1), dose_unit="capsule", route="oral", frequency="QD",
              duration_days=5)
    [(kind, message)] = findings(draft("308191", sig=sig, quantity=Decimal(6), days_supply=5))
    assert kind == "quantity"
    assert "6 capsule dispensed, but the directions use 5 capsule in all" in message


def test_every_formulary_default_passes_its_own_amount_checks() -> None:
    """What a provider gets on choosing a drug needs no override: the shipped formulary's
    default directions, quantity and days supply agree, and the dose is in its usual range."""
    from workstation.core.prescribing import check_amounts
    from workstation.resource_files import load_resources

    formulary = load_resources().formulary
    for drug in formulary.drugs:
        assert check_amounts(RxDraft.from_defaults(drug)) == [], drug.name


def test_dose_above_the_usual_range_warns() -> None:
    sig = replace(FORMULARY.get("308191").sig, dose=Decimal(3))  # type: ignore[union-attr]
    kinds = [k for k, _m in findings(draft("308191", sig=sig, quantity=Decimal(90)))]
    assert kinds == ["dose", "dose"]  # per dose and per day


def test_controlled_substance_is_refused_whatever_else() -> None:
    [finding] = check_draft(draft("993781"), allergies="", medications="", others=[],
                            formulary=FORMULARY, rules=RULES)
    assert finding.blocks
    assert "schedule III" in finding.message and "two-factor" in finding.message


def test_refills_outside_0_to_11_are_refused() -> None:
    found = check_draft(draft("308191", refills=12), allergies="", medications="", others=[],
                        formulary=FORMULARY, rules=RULES)
    assert [f.blocks for f in found] == [True]


@pytest.mark.parametrize(("sig", "text"), [
    (Sig(Decimal(1), "capsule", "oral", "TID", 10), "Take 1 capsule by mouth 3 times a day "
                                                   "for 10 days."),
    (Sig(Decimal(2), "spray", "nasal", "QD", None), "Use 2 sprays in each nostril once a day."),
    (Sig(Decimal("0.5"), "tablet", "oral", "Q8H", 2, prn=True),
     "Take 0.5 tablets by mouth every 8 hours as needed for 2 days."),
    (Sig(Decimal(1), "drop", "ophthalmic", "QID", 7),
     "Instill 1 drop in the affected eye 4 times a day for 7 days."),
    (Sig(Decimal(4), "tablet", "oral", "ONCE", 1), "Take 4 tablets by mouth once."),
])
def test_sig_text(sig: Sig, text: str) -> None:
    assert sig.text == text


def test_search_by_words_code_and_class() -> None:
    assert [d.rxcui for d in FORMULARY.search("amox")] == ["308191"]
    assert [d.rxcui for d in FORMULARY.search("308191")] == ["308191"]
    assert {d.rxcui for d in FORMULARY.search("antihist")} == {"1014678", "311372"}
    assert FORMULARY.search("   ") == ()


def test_shortlist_leaves_out_controlled_substances() -> None:
    assert "993781" not in {d.rxcui for d in FORMULARY.shortlist("sore_throat")}


@pytest.mark.parametrize(("field", "value"), [("route", "rectal"), ("rxcui", "R123"),
                                              ("dea_schedule", "VI")])
def test_a_bad_formulary_entry_is_named(field: str, value: str) -> None:
    entry = _drug("308191", "amoxicillin", "amoxicillin", [])
    entry[field] = value
    with pytest.raises(FormularyError, match="formulary entry"):
        drug_from_mapping(entry)


def test_names_and_gender_for_the_message() -> None:
    assert split_name("Amara Okafor, MD") == ("Okafor", "Amara")
    assert split_name("Cher") == ("Cher", "")
    assert [gender_code(s) for s in ("female", "male", "other", "unknown")] == ["F", "M", "U",
                                                                                   "U"]


def test_eye_drops_skip_the_systemic_interaction_table_but_not_allergies() -> None:
    drops = draft("403818", quantity=Decimal(3), quantity_unit="mL")
    assert [k for k, _m in findings(draft("309309"), medications="tizanidine 4 mg")] == \
        ["interaction"]
    assert findings(drops, medications="tizanidine 4 mg") == []
    assert [k for k, _m in findings(drops, allergies="Cipro (rash)")] == ["allergy"]


def test_drops_beside_tablets_of_the_same_class_are_not_duplicate_therapy() -> None:
    drops = draft("403818", quantity=Decimal(3), quantity_unit="mL")
    assert findings(drops, others=("309309",)) == []
    assert findings(draft("309309"), others=("403818",)) == []
