"""ICD-10-CM diagnosis codes, offline: look a code up, refuse what cannot be billed, search.

The classification is the one bundled in the ``simple_icd_10_cm`` package. That package parses
its ~10 MB XML when imported (over a second), so it is imported, and the search index built,
only on first use, once, under a lock. Call :func:`warm_up` off the GUI thread to pay that cost
before the provider types.

Codes are shown dotted (``J02.9``); every function accepts them with or without the dot, in any
case, with surrounding spaces.
"""

from __future__ import annotations

import bisect
import gc
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# How many billable codes a refusal of a too-general code suggests.
_SUGGESTIONS = 5

# Letter, digit, then up to five more code characters with the dot (if any) after the third:
# "r0", "J02", "j02.", "J02.9", "J029", "S01.01XA". Anything else is searched as words.
_CODE_LIKE = re.compile(r"[A-Z][0-9](?:[0-9A-Z](?:\.?[0-9A-Z]{0,4})?)?")
_WORD = re.compile(r"[0-9a-z]+")
_APOSTROPHES = re.compile(r"['’]")


@dataclass(frozen=True)
class Icd10Code:
    """One item of ICD-10-CM.

    Attributes:
        code: dotted (``J02.9``); a chapter is its number (``10``), a block its range
            (``J00-J06``).
        description: the tabular list's title.
        billable: whether a claim may carry it (a leaf code, neither a range nor a heading
            with more specific codes under it).
    """

    code: str
    description: str
    billable: bool


class DiagnosisCodeRefused(ValueError):
    """A code that cannot be put on a visit, with the reason in words a provider acts on.

    Attributes:
        code: the code as entered, stripped and upper-cased.
        suggestions: billable codes to choose instead (more specific ones), possibly empty.
    """

    def __init__(self, code: str, message: str,
                 suggestions: Sequence[Icd10Code] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.suggestions = tuple(suggestions)


def lookup(code: str) -> Icd10Code | None:
    """The item with this code (billable or not), or None when ICD-10-CM has no such code."""
    return _index().by_key.get(_key(code))


def check_billable(code: str) -> Icd10Code:
    """The billable code entered, or :class:`DiagnosisCodeRefused` saying why not."""
    shown = code.strip().upper()
    if not shown:
        raise DiagnosisCodeRefused(shown, "Enter an ICD-10-CM code, such as J02.9.")
    entry = lookup(code)
    if entry is None:
        raise DiagnosisCodeRefused(shown, f"{shown} is not an ICD-10-CM code.")
    if entry.billable:
        return entry
    if _is_range(entry.code):
        name = f"Chapter {entry.code}" if entry.code.isdigit() else entry.code
        raise DiagnosisCodeRefused(
            shown, f"{name} is a range of codes, not a diagnosis: choose a specific code within "
                   "it.")
    more_specific = _index().billable_with_prefix(_key(entry.code))
    offered = more_specific[:_SUGGESTIONS]
    listed = "; ".join(f"{c.code} {c.description}" for c in offered)
    total = f" ({len(more_specific)} codes in all)" if len(more_specific) > len(offered) else ""
    raise DiagnosisCodeRefused(
        shown, f"{entry.code} is not billable: choose a more specific code, such as "
               f"{listed}{total}.",
        offered)


def search(query: str, limit: int = 30) -> list[Icd10Code]:
    """Billable codes matching what the provider typed, best first, at most ``limit``.

    A code or the start of one (``j02``, ``J02.9``, ``R05``) lists the billable codes under it
    in the classification's order. Otherwise every word typed must start a word of the
    description (case, accents and punctuation ignored): ``ac phar`` finds "Acute pharyngitis,
    unspecified". A code's inclusion terms count too ("strep throat" finds J02.0 through
    "Streptococcal sore throat"). Codes where more of the words typed match whole come first,
    then the shorter descriptions. A code-like query nothing starts with (``b12``) is searched
    as words.
    """
    if limit <= 0 or not query.strip():
        return []
    index = _index()
    typed = query.strip().upper()
    if _CODE_LIKE.fullmatch(typed):
        hits = index.billable_with_prefix(_key(typed))
        if hits:
            return hits[:limit]
    return index.billable_with_words(_words(query), limit)


def shortlist(codes: Sequence[str]) -> list[Icd10Code]:
    """The billable entries for these codes, in the same order.

    Raises:
        DiagnosisCodeRefused: for the first code that is unknown or not billable; a shortlist
            is curated data, so a bad code is a mistake to fix, not one to skip.
    """
    return [check_billable(code) for code in codes]


def warm_up() -> None:
    """Load the classification and build the search index now rather than on first use."""
    _index()


def is_loaded() -> bool:
    return _built is not None


def classification_lines() -> Iterator[str]:
    """The classification as text lines (code, description, leaf, inclusion terms; tab
    separated, terms joined by "|"), for a process that should not parse the XML itself:
    the parse holds Python's interpreter lock for most of a second, freezing a GUI."""
    def flat(text: str) -> str:  # a few texts hold line breaks or tabs: one line each
        return " ".join(text.split())

    for code, description, leaf, terms in _classification():
        yield "\t".join((code, flat(description), "1" if leaf else "0",
                         "|".join(flat(t).replace("|", "/") for t in terms))) + "\n"


def install_from_lines(lines: Iterable[str]) -> None:
    """Build the index from :func:`classification_lines` (read as it arrives: short steps,
    so other threads keep running). A first use meanwhile waits for it, without parsing."""
    global _built
    with _lock:
        if _built is not None:
            return
        # Hundreds of thousands of new objects would set off full garbage collections, each
        # holding the interpreter lock for tens of milliseconds: none while building, and the
        # finished index (kept for the life of the process) is left out of later ones.
        collecting = gc.isenabled()
        gc.disable()
        try:
            items = []
            for line in lines:
                code, description, leaf, terms = line.rstrip("\n").split("\t")
                items.append((code, description, leaf == "1",
                              tuple(t for t in terms.split("|") if t)))
            if not items:
                raise ValueError("No ICD-10-CM codes were received.")
            _built = _Index(items)
            del items
            gc.freeze()
        finally:
            if collecting:
                gc.enable()


# -- the index ---------------------------------------------------------------------------------


def _key(code: str) -> str:
    """The form codes are compared in: upper case, no dot, no surrounding space."""
    return code.strip().upper().replace(".", "")


def _is_range(code: str) -> bool:
    return code.isdigit() or "-" in code


def _words(text: str) -> list[str]:
    """Lower-case words without accents; apostrophes dropped (Hodgkin's → hodgkins), any other
    punctuation separates words."""
    if not text.isascii():  # rare (Sjögren, Ménière): the slow path only where needed
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(_APOSTROPHES.sub("", text.casefold()))


class _Index:
    """Every item by code, and the billable codes by code prefix and by description word."""

    def __init__(self, items: Iterable[tuple[str, str, bool, tuple[str, ...]]]) -> None:
        self.by_key: dict[str, Icd10Code] = {}
        billable: list[Icd10Code] = []  # in the classification's order
        billable_keys: list[str] = []
        also_known_as: list[tuple[str, ...]] = []
        for code, description, leaf, inclusion_terms in items:
            key = code.replace(".", "")
            if key in self.by_key:  # a block named like its only category (B99): keep one
                continue
            entry = Icd10Code(code, description, leaf and not _is_range(code))
            self.by_key[key] = entry
            if entry.billable:
                billable.append(entry)
                billable_keys.append(key)
                also_known_as.append(inclusion_terms)
        self._billable = billable
        # Prefix search: the keys sorted, each with its position in the classification.
        by_key = sorted(zip(billable_keys, range(len(billable_keys)), strict=True))
        self._sorted_keys = [k for k, _ in by_key]
        self._sorted_positions = [i for _, i in by_key]
        # Word search: the description words sorted, each with the billable codes using it.
        # Two vocabularies: the descriptions', and with the codes' inclusion terms added, so
        # "strep throat" finds J02.0 through "Streptococcal sore throat" (after the codes whose
        # own description matches).
        postings: dict[str, list[int]] = {}
        described: dict[str, list[int]] = {}
        for i, entry in enumerate(billable):
            own = set(_words(entry.description))
            for word in own:
                described.setdefault(word, []).append(i)
            for term in also_known_as[i]:
                own.update(_words(term))
            for word in own:
                postings.setdefault(word, []).append(i)
        self._vocabulary = sorted(postings)
        self._postings = {w: tuple(p) for w, p in postings.items()}
        self._described_vocabulary = sorted(described)
        self._described = {w: tuple(p) for w, p in described.items()}

    def billable_with_prefix(self, prefix: str) -> list[Icd10Code]:
        start = bisect.bisect_left(self._sorted_keys, prefix)
        positions = []
        for i in range(start, len(self._sorted_keys)):
            if not self._sorted_keys[i].startswith(prefix):
                break
            positions.append(self._sorted_positions[i])
        return [self._billable[p] for p in sorted(positions)]

    def billable_with_words(self, words: Sequence[str], limit: int) -> list[Icd10Code]:
        if not words:
            return []
        found: set[int] | None = None
        for word in sorted(set(words), key=len, reverse=True):  # longest: fewest candidates
            matches = self._starting_with(word)
            found = matches if found is None else found & matches
            if not found:
                return []
        assert found is not None
        by_description: set[int] | None = None
        for word in set(words):
            matches = self._starting_with(word, described=True)
            by_description = matches if by_description is None else by_description & matches
        assert by_description is not None
        whole = [frozenset(self._described.get(w, ())) for w in set(words)]

        def rank(i: int) -> tuple[int, int, int, int, int]:
            exact = sum(i in s for s in whole)
            description = self._billable[i].description
            # A telehealth visit is nearly always the first encounter for the problem: the
            # "subsequent encounter" and "sequela" variants of a code come after it.
            later = description.endswith(("subsequent encounter", "sequela"))
            return (i not in by_description, later, -exact, len(description), i)

        return [self._billable[i] for i in sorted(found, key=rank)[:limit]]

    def _starting_with(self, prefix: str, *, described: bool = False) -> set[int]:
        vocabulary = self._described_vocabulary if described else self._vocabulary
        postings = self._described if described else self._postings
        hits: set[int] = set()
        for i in range(bisect.bisect_left(vocabulary, prefix), len(vocabulary)):
            if not vocabulary[i].startswith(prefix):
                break
            hits.update(postings[vocabulary[i]])
        return hits


_lock = threading.Lock()
_built: _Index | None = None


def _index() -> _Index:
    global _built
    if _built is None:
        with _lock:
            if _built is None:
                _built = _Index(_classification())
    return _built


def _classification() -> list[tuple[str, str, bool, tuple[str, ...]]]:
    """(code, description, is a leaf, inclusion terms of a leaf) for every item, in the
    classification's order."""
    import simple_icd_10_cm as cm  # parses the whole XML: only here, once

    items = []
    for code in cm.get_all_codes(with_dots=True):
        leaf = bool(cm.is_leaf(code))
        terms = tuple(str(t) for t in cm.get_inclusion_term(code)) if leaf else ()
        items.append((str(code), str(cm.get_description(code)), leaf, terms))
    return items


if __name__ == "__main__":  # python -m workstation.core.icd10: the lines, for another process
    import sys

    sys.stdout.writelines(classification_lines())
