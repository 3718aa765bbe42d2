"""Trainers get a demo provider, waiting patients and today's appointments."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import OPEN_NOW
from workstation.demo.seed import APPOINTMENTS, DEMO_PASSWORD, DEMO_USERNAME, WAITING, seed
from workstation.hub.auth import verify_password


def test_seed_fills_queue_and_schedule(sqlite_store, site):
    links = seed(sqlite_store, site, now=OPEN_NOW)

    account = sqlite_store.provider_account(DEMO_USERNAME)
    assert account is not None and verify_password(account.password_hash, DEMO_PASSWORD)
    queue = sqlite_store.queue(["urgent_care"], OPEN_NOW)
    assert len(queue) == len(WAITING)
    assert [e.condition for e in queue] == ["sore_throat", "sinus_problems",
                                            "painful_urination"]  # longest waiting first
    day = sqlite_store.schedule(["urgent_care", "specialty_care"], OPEN_NOW - timedelta(hours=1),
                                OPEN_NOW + timedelta(hours=12))
    assert len(day) == len(APPOINTMENTS)
    assert sum(item.visit.echeckin_complete for item in day) == 2
    assert len(links) == len(WAITING) + len(APPOINTMENTS)
    for token in links.values():
        assert sqlite_store.visit_detail_by_token(token, OPEN_NOW) is not None
