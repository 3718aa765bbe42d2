"""ICD-10-CM lookup, the refusal of codes that cannot be billed, and the diagnosis search."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest

from workstation.core import icd10
from workstation.core.icd10 import DiagnosisCodeRefused, Icd10Code, check_billable, lookup, search

PHARYNGITIS = Icd10Code("J02.9", "Acute pharyngitis, unspecified", True)


# -- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["J02.9", "j02.9", "J029", "j029", "  J02.9 ", "\tj029\n"])
def test_lookup_accepts_the_code_with_or_without_dot_in_any_case(typed: str):
    assert lookup(typed) == PHARYNGITIS


def test_lookup_tells_billable_codes_from_headings_and_ranges():
    assert lookup("J02") == Icd10Code("J02", "Acute pharyngitis", False)
    block = lookup("j00-j06")
    assert block is not None
    assert block.code == "J00-J06"
    assert not block.billable
    assert lookup("N39.0") == Icd10Code("N39.0", "Urinary tract infection, site not specified",
                                        True)
    # A category with nothing under it is billable as it is.
    assert lookup("R12") == Icd10Code("R12", "Heartburn", True)
    # A seventh character makes an injury code billable; the subcategory above it is not.
    sprain = lookup("s93401a")
    assert sprain is not None
    assert sprain.code == "S93.401A"
    assert sprain.billable
    assert lookup("S93.401") == Icd10Code(
        "S93.401", "Sprain of unspecified ligament of right ankle", False)


@pytest.mark.parametrize("typed", ["", "   ", "J02.7", "J02.90", "ZZZ", "pharyngitis", "J0 2.9"])
def test_lookup_of_what_is_not_a_code_finds_nothing(typed: str):
    assert lookup(typed) is None


# -- check_billable ----------------------------------------------------------------------------


def test_a_billable_code_passes_in_its_dotted_form():
    assert check_billable(" j029 ") == PHARYNGITIS
    assert check_billable("U07.1") == Icd10Code("U07.1", "COVID-19", True)


def test_an_unknown_code_is_refused_as_not_a_code():
    with pytest.raises(DiagnosisCodeRefused) as refused:
        check_billable(" j02.7")
    assert str(refused.value) == "J02.7 is not an ICD-10-CM code."
    assert refused.value.code == "J02.7"
    assert refused.value.suggestions == ()


def test_an_empty_code_is_refused_with_what_to_enter():
    with pytest.raises(DiagnosisCodeRefused, match=r"^Enter an ICD-10-CM code, such as J02\.9\.$"):
        check_billable("  ")


@pytest.mark.parametrize(("typed", "named"), [
    ("J00-J06", "J00-J06"),
    ("a00-a09", "A00-A09"),
    ("10", "Chapter 10"),
])
def test_a_chapter_or_block_is_refused_as_a_range(typed: str, named: str):
    with pytest.raises(DiagnosisCodeRefused) as refused:
        check_billable(typed)
    message = str(refused.value)
    assert message.startswith(f"{named} is a range of codes, not a diagnosis")
    assert "choose a specific code" in message


def test_a_category_is_refused_with_the_billable_codes_under_it():
    with pytest.raises(DiagnosisCodeRefused) as refused:
        check_billable("j02")
    assert str(refused.value) == (
        "J02 is not billable: choose a more specific code, such as "
        "J02.0 Streptococcal pharyngitis; "
        "J02.8 Acute pharyngitis due to other specified organisms; "
        "J02.9 Acute pharyngitis, unspecified.")
    assert [c.code for c in refused.value.suggestions] == ["J02.0", "J02.8", "J02.9"]
    assert all(c.billable for c in refused.value.suggestions)


def test_a_broad_category_suggests_five_codes_and_says_how_many_there_are():
    with pytest.raises(DiagnosisCodeRefused) as refused:
        check_billable("S01")  # open wounds of the head: hundreds of codes
    suggestions = refused.value.suggestions
    assert len(suggestions) == 5
    assert all(c.billable and c.code.startswith("S01.") for c in suggestions)
    message = str(refused.value)
    assert message.startswith("S01 is not billable: choose a more specific code, such as S01.")
    total = re.search(r"\((\d+) codes in all\)\.$", message)
    assert total is not None
    assert int(total.group(1)) > 5
    assert int(total.group(1)) == len(search("S01", limit=10_000))


def test_a_subcategory_needing_a_seventh_character_is_refused():
    with pytest.raises(DiagnosisCodeRefused) as refused:
        check_billable("S93.401")
    assert [c.code for c in refused.value.suggestions] == ["S93.401A", "S93.401D", "S93.401S"]
    assert "initial encounter" in str(refused.value)


def test_a_refusal_is_a_value_error():
    with pytest.raises(ValueError, match="is not an ICD-10-CM code"):
        check_billable("ZZZ")


# -- search by code ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["j02", "J02", "J02.", " j02 "])
def test_a_category_prefix_lists_its_billable_codes_in_order(typed: str):
    assert [c.code for c in search(typed)] == ["J02.0", "J02.8", "J02.9"]


@pytest.mark.parametrize("typed", ["J02.9", "j029"])
def test_a_whole_code_finds_itself(typed: str):
    assert search(typed) == [PHARYNGITIS]


def test_a_short_prefix_lists_codes_in_the_classifications_order_up_to_the_limit():
    hits = search("R0", limit=12)
    assert len(hits) == 12
    assert all(c.billable and c.code.startswith("R0") for c in hits)
    assert hits[0].code == "R00.0"
    everything = search("R0", limit=10_000)
    assert hits == everything[:12]
    assert [c.code for c in everything].index("R05.1") < [c.code for c in everything].index(
        "R06.2")
    assert not any(c.code.startswith("R1") for c in everything)


def test_a_code_prefix_never_offers_a_heading():
    hits = search("R05", limit=100)
    assert {c.code for c in hits} == {"R05.1", "R05.2", "R05.3", "R05.4", "R05.8", "R05.9"}
    assert "R05" not in {c.code for c in hits}


def test_a_code_like_query_no_code_starts_with_is_searched_as_words():
    hits = search("b12", limit=50)
    assert hits
    described = [("b12" in c.description.casefold()) for c in hits]
    assert described[0] and described == sorted(described, reverse=True)  # inclusion terms last
    assert "D51.0" in {c.code for c in hits}


# -- search by words ---------------------------------------------------------------------------

LATER = ("subsequent encounter", "sequela")  # ranked after the other matches


def test_first_encounters_come_before_subsequent_ones_and_sequelae():
    hits = search("insect bite", limit=200)
    later = [c.description.endswith(LATER) for c in hits]
    assert not later[0] and later == sorted(later)
    assert hits[0].description.endswith("initial encounter")


def test_every_word_must_start_a_word_of_the_description_or_of_an_inclusion_term():
    hits = search("ac phar")
    assert {c.code for c in hits[:2]} == {"J02.8", "J02.9"}  # by their own descriptions
    assert hits[0] == PHARYNGITIS  # the shorter description first
    assert all("phar" not in c.description.casefold() for c in hits[2:])  # by inclusion terms


def test_case_punctuation_and_accents_are_ignored():
    assert search("PHARYNGITIS, acute") == search("acute pharyngitis")
    assert search("sjogren") == search("Sjögren")
    assert search("sjogren")[0].description.startswith("Sjögren syndrome")
    assert search("crohns")[0].description.startswith("Crohn's disease")


def test_words_match_the_start_of_description_words_only():
    assert search("haryngitis") == []
    assert search("pharyngitis zzz") == []


def test_whole_word_matches_come_first_then_shorter_descriptions():
    hits = [c for c in search("sinus", limit=500) if "sinus" in c.description.casefold()
            and not c.description.endswith(LATER)]
    whole = [bool(re.search(r"\bsinus\b", c.description, re.I)) for c in hits]
    assert whole[0]
    assert False in whole  # "... sinusitis" matches by prefix only
    first_partial = whole.index(False)
    assert all(whole[:first_partial])
    assert not any(whole[first_partial:])
    for group in (hits[:first_partial], hits[first_partial:]):
        lengths = [len(c.description) for c in group]
        assert lengths == sorted(lengths)


def test_a_whole_word_match_beats_a_shorter_prefix_match():
    hits = [c for c in search("heart", limit=1000) if "heart" in c.description.casefold()
            and not c.description.endswith(LATER)]
    assert hits[-1] == Icd10Code("R12", "Heartburn", True)
    assert len(hits[-1].description) < min(len(c.description) for c in hits[:-1])


def test_cough_finds_the_cough_codes_first():
    assert [c.code for c in search("cough", limit=5)] == [
        "R05.1", "R05.3", "R05.4", "R05.2", "R05.9"]


def test_search_returns_billable_codes_only():
    hits = search("pharyngitis", limit=100)
    assert "J02" not in {c.code for c in hits}
    assert all(c.billable for c in hits)
    assert {"J02.0", "J02.8", "J02.9", "J31.2"} <= {c.code for c in hits}


@pytest.mark.parametrize("query", ["", "   ", "\t\n", ",;-"])
def test_an_empty_query_finds_nothing(query: str):
    assert search(query) == []


def test_the_limit_is_respected():
    assert len(search("fracture", limit=7)) == 7
    assert len(search("fracture")) == 30
    assert search("fracture", limit=0) == []


# -- shortlist ---------------------------------------------------------------------------------


def test_shortlist_maps_codes_to_entries_in_order():
    assert [(c.code, c.billable) for c in icd10.shortlist(["r05.1", "J02.9", "N390"])] == [
        ("R05.1", True), ("J02.9", True), ("N39.0", True)]
    assert icd10.shortlist([]) == []


def test_shortlist_refuses_a_bad_code_rather_than_skipping_it():
    with pytest.raises(DiagnosisCodeRefused, match=r"^J02 is not billable"):
        icd10.shortlist(["J02.9", "J02"])
    with pytest.raises(DiagnosisCodeRefused, match=r"^J02\.7 is not an ICD-10-CM code"):
        icd10.shortlist(["J02.7"])


# -- building the index ------------------------------------------------------------------------


def test_importing_the_module_does_not_load_the_classification():
    probe = ("import sys, workstation.core.icd10; "
             "print('simple_icd_10_cm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


FAKE = [
    ("1", "Certain coughs (A00-A01)", False, ()),
    ("A00-A01", "Coughs (A00-A01)", False, ()),
    ("A00", "Cough", False, ()),
    ("A00.0", "Acute cough", True, ()),
    ("A00.1", "Coughing fits, long description", True, ()),
    ("A01", "Coughing, whooping", True, ()),
]


def test_the_index_is_built_once_even_when_first_used_from_many_threads(
        monkeypatch: pytest.MonkeyPatch):
    calls = []
    started = threading.Barrier(8)

    def classification() -> list[tuple[str, str, bool, tuple[str, ...]]]:
        calls.append(1)
        return FAKE

    monkeypatch.setattr(icd10, "_built", None)
    monkeypatch.setattr(icd10, "_classification", classification)
    results: list[list[Icd10Code]] = []

    def first_use() -> None:
        started.wait(timeout=10)
        results.append(search("cough"))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert len(calls) == 1
    assert len(results) == 8
    # Whole word first, then the shorter description; headings never offered.
    expected = ["A00.0", "A01", "A00.1"]
    assert all([c.code for c in r] == expected for r in results)
    assert lookup("A00") == Icd10Code("A00", "Cough", False)
    assert len(calls) == 1


def test_inclusion_terms_find_the_code_clinicians_mean():
    # J02.0 "Streptococcal pharyngitis" includes "Streptococcal sore throat".
    assert "J02.0" in [c.code for c in search("strep throat")]
    assert "J06.9" in [c.code for c in search("upper respiratory infection")]


def test_clinicians_words_are_offered_first_through_the_synonyms(resources):  # type: ignore[no-untyped-def]
    assert resources.synonym_codes(" UTI ") == ("N39.0", "N30.00", "N30.90")
    assert resources.synonym_codes("Pink  eye")[0] == "H10.9"
    assert resources.synonym_codes("bronchitis") == ()
    for term, codes in resources.diagnosis_synonyms.items():
        for code in codes:
            assert check_billable(code).code == code, term


def test_the_index_can_be_built_from_lines_another_process_sent(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(icd10, "_built", None)
    monkeypatch.setattr(icd10, "_classification", lambda: [
        *FAKE, ("A02.0", "Tab\there and\nbreak", True, ("Sore | throat",))])
    lines = list(icd10.classification_lines())
    assert all(line.count("\t") == 3 and line.endswith("\n") for line in lines)

    monkeypatch.setattr(icd10, "_built", None)
    monkeypatch.setattr(icd10, "_classification", lambda: pytest.fail("parsed in-process"))
    icd10.install_from_lines(iter(lines))

    assert [c.code for c in search("cough")] == ["A00.0", "A01", "A00.1"]
    assert [c.code for c in search("sore throat")] == ["A02.0"]  # its inclusion term
    icd10.install_from_lines(iter([]))  # already built: nothing to do


def test_no_lines_means_no_index(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(icd10, "_built", None)
    with pytest.raises(ValueError, match="No ICD-10-CM codes"):
        icd10.install_from_lines(iter([]))
