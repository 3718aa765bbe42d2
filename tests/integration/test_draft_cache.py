"""The local copy of unsaved drafts: per hub and visit, encrypted, forgotten once confirmed."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import OPEN_NOW
from workstation.storage.draft_cache import DraftCache

HUB = "https://hub.clinic.example:8443"


def test_kept_per_hub_and_visit_and_forgotten_pane_by_pane(tmp_path: Path):
    cache = DraftCache(tmp_path / "drafts.db")
    cache.put(HUB, "v-1", "plan", {"plan": "Rest"}, OPEN_NOW)
    cache.put(HUB, "v-1", "plan", {"plan": "Rest and fluids"}, OPEN_NOW)  # the newest wins
    cache.put(HUB, "v-1", "diagnosis", {"diagnoses": []}, OPEN_NOW)
    cache.put("http://127.0.0.1:40000", "v-1", "plan", {"plan": "elsewhere"}, OPEN_NOW)

    assert cache.get(HUB, "v-1") == {"plan": {"plan": "Rest and fluids"},
                                     "diagnosis": {"diagnoses": []}}
    cache.discard(HUB, "v-1", "plan")
    assert cache.get(HUB, "v-1") == {"diagnosis": {"diagnoses": []}}
    cache.discard(HUB, "v-1")
    assert cache.get(HUB, "v-1") == {}
    assert cache.get("http://127.0.0.1:40000", "v-1") == {"plan": {"plan": "elsewhere"}}
    cache.close()


def test_the_file_on_disk_holds_none_of_the_words(tmp_path: Path):
    cache = DraftCache(tmp_path / "drafts.db")
    cache.put(HUB, "v-1", "plan", {"plan": "Quartermaine penicillin allergy"}, OPEN_NOW)
    cache.close()

    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"Quartermaine" not in raw and b"penicillin" not in raw
    reopened = DraftCache(tmp_path / "drafts.db")
    assert reopened.get(HUB, "v-1") == {"plan": {"plan": "Quartermaine penicillin allergy"}}
    reopened.close()
