"""The conditions offered by video, and the unguessable links patients get."""

from __future__ import annotations

import base64
import json
import math
import re
from collections import Counter

from workstation.core.conditions import Condition, ConditionList
from workstation.core.site import SiteConfig
from workstation.core.visit_link import looks_like_token, new_token, token_digest
from workstation.resource_files import Resources, resources_dir

LISTED = [
    "acid reflux", "cold/flu", "cough", "constipation", "diarrhea", "fever",
    "insect bites/stings", "minor burns", "minor injuries", "painful urination", "red eye",
    "seasonal allergies", "sinus problems", "sore throat", "STD counselling", "wound check",
]
# Each of these needs the provider to look at something, so an E-Visit questionnaire won't do.
NEEDS_A_LOOK = {"insect_bites", "minor_burns", "minor_injuries", "red_eye", "wound_check"}


def plain(name: str) -> str:
    return re.sub(r"\s*/\s*", "/", name).casefold()


def raw_records() -> list[dict[str, object]]:
    with (resources_dir() / "conditions.json").open(encoding="utf-8") as f:
        return json.load(f)["conditions"]


def test_the_sixteen_listed_conditions_are_offered(resources: Resources):
    names = [plain(c.name) for c in resources.conditions]
    assert sorted(names) == sorted(plain(n) for n in LISTED)
    assert len(resources.conditions) == 16


def test_no_condition_is_listed_twice():
    records = raw_records()
    assert len(records) == 16
    assert len({r["code"] for r in records}) == 16
    assert len({plain(str(r["name"])) for r in records}) == 16


def test_codes_are_short_lowercase_identifiers(resources: Resources):
    for condition in resources.conditions:
        assert re.fullmatch(r"[a-z][a-z_]{1,39}", condition.code), condition.code


def test_exactly_five_conditions_are_offered_as_e_visits(resources: Resources):
    """The service's own list: Cold/flu, Cough, Diarrhea, Painful urination and Sinus
    problems, and no other (acid reflux, constipation and seasonal allergies are video only)."""
    e_visit = {c.code for c in resources.conditions if c.e_visit}

    assert e_visit == {"cold_flu", "cough", "diarrhea", "painful_urination", "sinus_problems"}
    assert not e_visit & NEEDS_A_LOOK


def test_every_condition_goes_to_a_queue_the_default_site_has(resources: Resources):
    lines = {s.code for s in SiteConfig().service_lines}
    for condition in resources.conditions:
        assert condition.service_line in lines


def test_every_record_states_e_visit_and_service_line_explicitly():
    for record in raw_records():
        assert isinstance(record["e_visit"], bool), record["code"]
        assert record["service_line"], record["code"]


def test_lookup_by_code(resources: Resources):
    conditions = resources.conditions
    assert conditions.get("sore_throat") == Condition("sore_throat", "Sore throat", False,
                                                      "urgent_care")
    assert "sore_throat" in conditions
    assert "Sore throat" not in conditions  # names are not codes
    assert conditions.get("broken_leg") is None
    assert None not in conditions


def test_records_without_optional_fields_get_defaults():
    conditions = ConditionList.from_records([{"code": "rash", "name": "Rash"}])
    assert conditions.get("rash") == Condition("rash", "Rash", False, "urgent_care")
    assert len(conditions) == 1


# -- visit links -------------------------------------------------------------------------------


def decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_token_carries_at_least_128_random_bits():
    token = new_token()
    assert len(decoded(token)) * 8 >= 128
    assert len(token) >= 22  # 128 bits at 6 bits a character
    assert looks_like_token(token)


def test_tokens_do_not_repeat():
    tokens = [new_token() for _ in range(20_000)]
    assert len(set(tokens)) == len(tokens)
    # No shared prefix either: a counter or a timestamp would show up here.
    assert len({t[:8] for t in tokens}) == len(tokens)


def test_token_characters_are_spread_like_random_ones():
    tokens = [new_token() for _ in range(2_000)]
    # The last character of a 43-character token holds only 4 bits; leave it out.
    counts = Counter(ch for t in tokens for ch in t[:-1])
    total = sum(counts.values())
    bits_per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    assert len(counts) == 64
    assert bits_per_char > 5.95  # log2(64) = 6 for perfectly uniform characters


def test_tokens_are_safe_in_a_url():
    for _ in range(500):
        assert re.fullmatch(r"[A-Za-z0-9_-]+", new_token())


def test_the_stored_digest_is_not_the_token():
    token = new_token()
    digest = token_digest(token)

    assert digest != token
    assert token not in digest
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == token_digest(token)  # the same link always finds the same visit
    assert digest != token_digest(new_token())
    assert token_digest(token[:-1]) != digest


def test_shape_check_rejects_what_we_never_issue():
    assert not looks_like_token("abc")
    assert not looks_like_token("x" * 65)
    assert not looks_like_token("../../etc/passwd" + "a" * 30)
    assert not looks_like_token(new_token()[:-4] + "%2F/")
