"""Trainers get a demo provider, waiting patients and today's appointments."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import OPEN_NOW
from workstation.demo.seed import APPOINTMENTS, DEMO_PASSWORD, DEMO_USERNAME, WAITING, seed
from workstation.hub.auth import verify_password
from workstation.storage.charts import ChartStore


def test_seed_fills_queue_and_schedule(sqlite_store, site):
    links = seed(sqlite_store, site, now=OPEN_NOW)

    account = sqlite_store.provider_account(DEMO_USERNAME)
    assert account is not None and verify_password(account.password_hash, DEMO_PASSWORD)
    queue = sqlite_store.queue(["urgent_care"], OPEN_NOW)
    assert len(queue) == len(WAITING)
    assert [e.condition for e in queue] == ["cough", "sore_throat", "sinus_problems",
                                            "painful_urination"]  # longest waiting first
    assert [e.e_visit for e in queue] == [True, False, False, False]  # the E-Visits inbox
    day = sqlite_store.schedule(["urgent_care", "specialty_care"], OPEN_NOW - timedelta(hours=1),
                                OPEN_NOW + timedelta(hours=12))
    assert len(day) == len(APPOINTMENTS)
    assert sum(item.visit.echeckin_complete for item in day) == 2
    assert len(links) == len(WAITING) + len(APPOINTMENTS)
    for token in links.values():
        assert sqlite_store.visit_detail_by_token(token, OPEN_NOW) is not None


def test_a_returning_demo_patient_has_a_signed_earlier_visit(sqlite_store, site):
    seed(sqlite_store, site, now=OPEN_NOW)
    (avery,) = [e for e in sqlite_store.queue(["urgent_care"], OPEN_NOW)
                if e.condition == "sore_throat"]
    patient = sqlite_store.visit_detail(avery.visit_id).patient
    history = ChartStore(sqlite_store).history(patient.id, excluding=avery.visit_id)

    assert [(h.condition, h.state) for h in history] == [("cold_flu", "signed")]
    assert history[0].note is not None and history[0].note.primary is not None
    assert history[0].note.primary.code == "J06.9"
    intake = sqlite_store.intake(avery.visit_id)
    assert intake is not None and intake.allergies == "Penicillin (rash)"  # the allergy banner
