"""What text the hub takes from people.

No control characters anywhere (PostgreSQL cannot store NUL, and the others ring bells, move
cursors or hide text on screens and on paper); a line break and a tab only in text of several
lines. In people's names also no invisible formatting characters: direction overrides and
isolates, zero-width spaces and joiners, which make one name look like another.
"""

from __future__ import annotations

import re
import unicodedata

# C0, DEL and C1: Unicode's control characters (category Cc).
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAK_OR_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible formatting (Cf: e.g. U+202A-U+202E, U+2066-U+2069, U+200B-U+200D, U+2060, U+FEFF)
# and the line and paragraph separators.
_HIDDEN_IN_NAMES = frozenset({"Cf", "Zl", "Zp"})


def _refuse_control(found: str) -> None:
    if found == "\n":
        raise ValueError("Keep this on one line.")
    raise ValueError(f"This holds an invisible control character (U+{ord(found):04X}). "
                     "Type it again without it.")


def one_line(value: str) -> str:
    """Text of one line: no control characters at all."""
    found = CONTROL_CHARACTER.search(value)
    if found is not None:
        _refuse_control(found.group())
    return value


def several_lines(value: str) -> str:
    """Text of several lines (symptoms, notes, chat): line breaks and tabs, no other control
    characters."""
    found = _CONTROL_BUT_LINE_BREAK_OR_TAB.search(value)
    if found is not None:
        _refuse_control(found.group())
    return value


def person_name(value: str) -> str:
    """A person's name: one line, with nothing invisible in it."""
    one_line(value)
    for char in value:
        if unicodedata.category(char) in _HIDDEN_IN_NAMES:
            raise ValueError(f"A name cannot hold invisible formatting (U+{ord(char):04X}). "
                             "Type it again without it.")
    return value
