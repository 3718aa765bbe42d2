"""The repository on both databases users have: the embedded SQLite file and clinic PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from tests.conftest import OPEN_NOW
from tests.factories import patient, waiting_visit
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.eligibility import RED_FLAGS
from workstation.core.intake import Intake
from workstation.core.payment import Payment, PaymentMethod, PaymentStatus
from workstation.core.people import Patient, Provider
from workstation.core.visit import IllegalTransition, Visit, VisitKind, VisitState
from workstation.core.visit_link import new_token
from workstation.storage.accounts import UsernameTaken
from workstation.storage.orm import (
    AuditRow,
    IntakeRow,
    PatientRow,
    PaymentRow,
    VisitRow,
    VisitTransitionRow,
)
from workstation.storage.store import VisitNotFound, VisitStore, day_bounds

T = TypeVar("T")
S = VisitState
CHICAGO = ZoneInfo("America/Chicago")
WRITTEN_BY_CREATE = (PatientRow, VisitRow, VisitTransitionRow, IntakeRow, PaymentRow, AuditRow)


# -- helpers -----------------------------------------------------------------------------------


def rows(store: VisitStore, table: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def all_counts(store: VisitStore) -> dict[str, int]:
    return {t.__tablename__: rows(store, t) for t in WRITTEN_BY_CREATE}


def add_providers(store: VisitStore, n: int,
                  service_lines: tuple[str, ...] = ("urgent_care",)) -> list[Provider]:
    providers = []
    for i in range(n):
        p = Provider(str(uuid.uuid4()), f"doc{i}", f"Dr. Number {i}", service_lines)
        providers.append(store.add_provider(p, "not-a-real-hash", OPEN_NOW))
    return providers


def new_visit(p: Patient, *, now: datetime = OPEN_NOW, kind: VisitKind = VisitKind.ON_DEMAND,
              scheduled_for: datetime | None = None, service_line: str = "urgent_care",
              link_hours: int = 24) -> Visit:
    return Visit(id=str(uuid.uuid4()), kind=kind, state=S.CHECKING_IN, patient_id=p.id,
                 service_line=service_line, condition="sore_throat", created_at=now,
                 scheduled_for=scheduled_for, link_expires_at=now + timedelta(hours=link_hours))


def intake_for(visit_id: str) -> Intake:
    return Intake(visit_id=visit_id, symptoms="Sore throat for two days", onset="2 days ago",
                  allergies="Penicillin", medications="None",
                  red_flags={f.code: False for f in RED_FLAGS}, consent_telehealth=True,
                  callback_phone="512-555-0142", pharmacy_id="4410011",
                  patient_location_state="TX")


def fee_for(visit_id: str, payment_id: str | None = None) -> Payment:
    return Payment(payment_id or str(uuid.uuid4()), visit_id, PaymentMethod.CARD, "1111",
                   Decimal("49.00"), "USD", PaymentStatus.PAID, "local-ref-1", OPEN_NOW)


def in_threads(n: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in n threads released together; return the results in order."""
    barrier = threading.Barrier(n, timeout=30)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n), timeout=60))


# -- creating a visit --------------------------------------------------------------------------


def test_create_visit_writes_patient_visit_intake_and_payment(store: VisitStore):
    p = patient()
    visit = new_visit(p)
    token = new_token()
    fee = fee_for(visit.id)

    created = store.create_visit(patient=p, visit=visit, link_token=token,
                                 intake=intake_for(visit.id), payment=fee,
                                 copay=Decimal("12.50"), actor="patient:x",
                                 initial_state=S.WAITING)

    assert created.state is S.WAITING
    assert created.waiting_since == OPEN_NOW
    assert created.copay == Decimal("12.50")
    assert store.visit(visit.id) == created
    detail = store.visit_detail(visit.id)
    assert detail.patient == p
    assert detail.provider_name is None
    assert store.intake(visit.id) == intake_for(visit.id)
    assert store.payments(visit.id) == [fee]
    assert [(f, t) for f, t, _, _ in store.transitions(visit.id)] == [
        (None, "checking_in"), ("checking_in", "waiting")]
    assert [e.action for e in store.audit_events(visit_id=visit.id)] == ["visit.create"]


def test_times_come_back_aware_and_in_utc(store: VisitStore):
    p = patient()
    local_noon = datetime(2026, 7, 14, 12, 0, tzinfo=CHICAGO)
    visit = new_visit(p, now=local_noon)

    created = store.create_visit(patient=p, visit=visit, link_token=new_token(), actor="t")

    assert created.created_at == local_noon
    assert created.created_at.utcoffset() == timedelta(0)
    assert created.link_expires_at == local_noon + timedelta(hours=24)


def test_a_naive_time_is_refused_and_nothing_written(store: VisitStore):
    p = patient()
    visit = new_visit(p)
    naive = replace(visit, created_at=datetime(2026, 11, 24, 10, 0))

    with pytest.raises(StatementError, match="Naive datetimes"):
        store.create_visit(patient=p, visit=naive, link_token=new_token(), actor="t")

    assert set(all_counts(store).values()) == {0}


def test_a_payment_for_a_missing_visit_leaves_nothing_behind(store: VisitStore):
    p = patient()
    visit = new_visit(p)
    orphan_payment = fee_for(str(uuid.uuid4()))  # foreign key to a visit that does not exist

    with pytest.raises(IntegrityError):
        store.create_visit(patient=p, visit=visit, link_token=new_token(),
                           intake=intake_for(visit.id), payment=orphan_payment, actor="t",
                           initial_state=S.WAITING)

    assert set(all_counts(store).values()) == {0}
    with pytest.raises(VisitNotFound):
        store.visit(visit.id)


def test_a_reused_payment_id_rolls_back_the_second_check_in(store: VisitStore):
    first, _ = waiting_visit(store, now=OPEN_NOW)
    reused_id = store.payments(first.id)[0].id
    before = all_counts(store)
    p = patient(given_name="Second")
    visit = new_visit(p)

    with pytest.raises(IntegrityError):
        store.create_visit(patient=p, visit=visit, link_token=new_token(),
                           intake=intake_for(visit.id), payment=fee_for(visit.id, reused_id),
                           actor="t")

    assert all_counts(store) == before
    assert store.waiting_visits() == [first]


def test_a_reused_patient_id_rolls_back_the_second_check_in(store: VisitStore):
    p = patient()
    waiting_visit(store, now=OPEN_NOW, p=p)
    before = all_counts(store)
    visit = new_visit(p)

    # The same id for somebody who is not the same person: the insert must fail whole.
    other = replace(p, phone="212-555-0100", email="")
    with pytest.raises(IntegrityError) as caught:
        store.create_visit(patient=other, visit=visit, link_token=new_token(),
                           payment=fee_for(visit.id), actor="t")

    assert all_counts(store) == before
    # The error ends up in logs: it must not carry the patient's details with it.
    for detail in (p.given_name, p.family_name, p.phone, p.email):
        assert detail not in str(caught.value)


def test_an_impossible_first_state_rolls_back_everything(store: VisitStore):
    p = patient()
    visit = new_visit(p)

    with pytest.raises(IllegalTransition):
        store.create_visit(patient=p, visit=visit, link_token=new_token(),
                           intake=intake_for(visit.id), payment=fee_for(visit.id), actor="t",
                           initial_state=S.SIGNED)

    assert set(all_counts(store).values()) == {0}


# -- claiming ----------------------------------------------------------------------------------


def test_the_first_claim_wins_and_the_second_is_told_no(store: VisitStore):
    first, second = add_providers(store, 2)
    visit, _ = waiting_visit(store, now=OPEN_NOW)
    later = OPEN_NOW + timedelta(minutes=3)

    won = store.claim(visit.id, first.id, later)
    lost = store.claim(visit.id, second.id, later)

    assert won is not None
    assert won.state is S.CLAIMED
    assert won.provider_id == first.id
    assert lost is None
    assert store.visit(visit.id).provider_id == first.id
    assert store.visit_detail(visit.id).provider_name == first.display_name
    claims = [(e.actor, e.outcome) for e in store.audit_events(visit_id=visit.id)
              if e.action == "visit.claim"]
    assert claims == [(f"provider:{first.id}", AuditOutcome.SUCCESS),
                      (f"provider:{second.id}", AuditOutcome.DENIED)]


def test_claiming_a_visit_that_is_not_there_says_so(store: VisitStore):
    (provider,) = add_providers(store, 1)
    with pytest.raises(VisitNotFound):
        store.claim(str(uuid.uuid4()), provider.id, OPEN_NOW)


def test_twenty_providers_claiming_one_visit_at_once_have_one_winner(store: VisitStore):
    providers = add_providers(store, 20)
    visit, _ = waiting_visit(store, now=OPEN_NOW)

    results = in_threads(20, lambda i: store.claim(visit.id, providers[i].id, OPEN_NOW))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert store.visit(visit.id).provider_id == winners[0].provider_id
    outcomes = Counter(e.outcome for e in store.audit_events(visit_id=visit.id)
                       if e.action == "visit.claim")
    assert outcomes == {AuditOutcome.SUCCESS: 1, AuditOutcome.DENIED: 19}
    moves = [(f, t) for f, t, _, _ in store.transitions(visit.id)]
    assert moves.count(("waiting", "claimed")) == 1


def test_twenty_providers_taking_the_next_patient_share_five_without_doubles(store: VisitStore):
    providers = add_providers(store, 20)
    waiting = [waiting_visit(store, now=OPEN_NOW + timedelta(minutes=i))[0] for i in range(5)]

    results = in_threads(20, lambda i: store.claim_next(["urgent_care"], providers[i].id,
                                                         OPEN_NOW + timedelta(hours=1)))

    winners = [r for r in results if r is not None]
    assert sorted(v.id for v in winners) == sorted(v.id for v in waiting)
    assert len({v.provider_id for v in winners}) == 5
    for v in winners:
        assert store.visit(v.id).provider_id == v.provider_id
        moves = [(f, t) for f, t, _, _ in store.transitions(v.id)]
        assert moves.count(("waiting", "claimed")) == 1
    assert store.waiting_visits() == []
    assert store.claim_next(["urgent_care"], providers[0].id, OPEN_NOW) is None


def test_claim_next_takes_the_longest_waiting_in_the_providers_lines(store: VisitStore):
    (urgent,) = add_providers(store, 1)
    waiting_visit(store, now=OPEN_NOW, service_line="specialty_care")
    newer, _ = waiting_visit(store, now=OPEN_NOW + timedelta(minutes=5))
    older, _ = waiting_visit(store, now=OPEN_NOW + timedelta(minutes=1))

    claimed = store.claim_next(["urgent_care"], urgent.id, OPEN_NOW + timedelta(minutes=10))

    assert claimed is not None
    assert claimed.id == older.id
    assert [v.id for v in store.waiting_visits("urgent_care")] == [newer.id]


# -- moving through the visit ------------------------------------------------------------------


def test_a_visit_moves_through_a_call_and_is_signed(store: VisitStore):
    (provider,) = add_providers(store, 1)
    visit, _ = waiting_visit(store, now=OPEN_NOW)
    store.claim(visit.id, provider.id, OPEN_NOW)

    for step, target in enumerate([S.IN_CALL, S.RECONNECTING, S.IN_CALL, S.DOCUMENTING,
                                   S.SIGNED]):
        moved = store.transition(visit.id, target, actor=f"provider:{provider.id}",
                                 now=OPEN_NOW + timedelta(minutes=step + 1))
        assert moved.state is target

    assert [t for _, t, _, _ in store.transitions(visit.id)] == [
        "checking_in", "waiting", "claimed", "in_call", "reconnecting", "in_call",
        "documenting", "signed"]
    assert "visit.signed" in [e.action for e in store.audit_events(visit_id=visit.id)]


def test_an_illegal_move_is_refused_and_changes_nothing(store: VisitStore):
    visit, _ = waiting_visit(store, now=OPEN_NOW)
    transitions = store.transitions(visit.id)
    audit = store.audit_events(visit_id=visit.id)

    with pytest.raises(IllegalTransition, match="waiting cannot become signed"):
        store.transition(visit.id, S.SIGNED, actor="provider:x", now=OPEN_NOW)

    assert store.visit(visit.id) == visit
    assert store.transitions(visit.id) == transitions
    assert store.audit_events(visit_id=visit.id) == audit


def test_a_move_from_an_unexpected_state_is_refused(store: VisitStore):
    visit, _ = waiting_visit(store, now=OPEN_NOW)

    with pytest.raises(IllegalTransition):
        store.transition(visit.id, S.CANCELLED, actor="provider:x", now=OPEN_NOW,
                         expect=[S.CLAIMED])

    assert store.visit(visit.id).state is S.WAITING


def test_moving_a_missing_visit_says_so(store: VisitStore):
    with pytest.raises(VisitNotFound):
        store.transition(str(uuid.uuid4()), S.CANCELLED, actor="x", now=OPEN_NOW)


def test_handing_a_patient_back_keeps_their_place_in_the_queue(store: VisitStore):
    (provider,) = add_providers(store, 1)
    first, _ = waiting_visit(store, now=OPEN_NOW)
    second, _ = waiting_visit(store, now=OPEN_NOW + timedelta(minutes=1))
    store.claim(first.id, provider.id, OPEN_NOW + timedelta(minutes=2))

    back = store.transition(first.id, S.WAITING, actor=f"provider:{provider.id}",
                            now=OPEN_NOW + timedelta(minutes=9))

    assert back.provider_id is None
    assert back.waiting_since == OPEN_NOW
    assert store.queue_position(back) == 1
    assert store.queue_position(store.visit(second.id)) == 2


# -- the queue ---------------------------------------------------------------------------------


def test_the_queue_is_longest_waiting_first_with_positions(store: VisitStore):
    (provider,) = add_providers(store, 1)
    c, _ = waiting_visit(store, now=OPEN_NOW + timedelta(minutes=2))
    a, _ = waiting_visit(store, now=OPEN_NOW)
    b, _ = waiting_visit(store, now=OPEN_NOW + timedelta(minutes=1))
    other_line, _ = waiting_visit(store, now=OPEN_NOW - timedelta(hours=1),
                                  service_line="specialty_care")
    later = OPEN_NOW + timedelta(minutes=5)

    queue = store.queue(["urgent_care"], later)

    assert [e.visit_id for e in queue] == [a.id, b.id, c.id]
    assert [store.queue_position(v) for v in (a, b, c)] == [1, 2, 3]
    assert store.queue_position(other_line) == 1  # its own line, its own queue
    assert [e.visit_id for e in store.queue(["urgent_care", "specialty_care"], later)] == [
        other_line.id, a.id, b.id, c.id]

    store.claim(a.id, provider.id, later)

    assert [e.visit_id for e in store.queue(["urgent_care"], later)] == [b.id, c.id]
    assert store.queue_position(store.visit(a.id)) is None
    assert [store.queue_position(v) for v in (b, c)] == [1, 2]


def test_patients_who_arrived_together_keep_a_stable_order(store: VisitStore):
    same = [waiting_visit(store, now=OPEN_NOW)[0] for _ in range(4)]

    queue = store.queue(["urgent_care"], OPEN_NOW)

    assert [e.visit_id for e in queue] == sorted(v.id for v in same)
    assert sorted(store.queue_position(v) for v in same) == [1, 2, 3, 4]
    for entry, position in zip(queue, range(1, 5), strict=True):
        assert store.queue_position(store.visit(entry.visit_id)) == position


def test_a_queue_entry_shows_age_sex_condition_and_payment_but_no_name(store: VisitStore):
    visit, _ = waiting_visit(store, now=OPEN_NOW, p=patient(date_of_birth=date(1990, 11, 25)))

    (entry,) = store.queue(["urgent_care"], OPEN_NOW,
                           condition_name=lambda code: code.replace("_", " ").title())

    assert entry.age == 35  # the 36th birthday is tomorrow
    assert entry.sex == "female"
    assert entry.condition_name == "Sore Throat"
    assert entry.payment_status == "paid"
    assert entry.waiting_since == OPEN_NOW
    assert not entry.e_visit
    assert "Rosalind" not in repr(entry) and "Quartermaine" not in repr(entry)
    assert store.queue_entry(visit.id, OPEN_NOW) == replace(entry, condition_name="sore_throat")


def test_an_unpaid_visit_shows_as_not_due(store: VisitStore):
    p = patient()
    visit = new_visit(p)
    store.create_visit(patient=p, visit=visit, link_token=new_token(), actor="t",
                       initial_state=S.WAITING)
    assert store.queue_entry(visit.id, OPEN_NOW).payment_status == "not_due"


# -- provider sessions -------------------------------------------------------------------------


def test_a_session_works_until_it_expires(store: VisitStore):
    (provider,) = add_providers(store, 1)
    token = new_token()

    expires = store.create_session(provider.id, token, OPEN_NOW, timedelta(hours=12))

    assert expires == OPEN_NOW + timedelta(hours=12)
    assert store.session_provider(token, OPEN_NOW) == provider
    assert store.session_provider(token, expires - timedelta(seconds=1)) == provider
    assert store.session_provider(token, expires) is None
    assert store.session_provider(new_token(), OPEN_NOW) is None


def test_a_revoked_session_stops_working_at_once(store: VisitStore):
    (provider,) = add_providers(store, 1)
    token, other = new_token(), new_token()
    store.create_session(provider.id, token, OPEN_NOW, timedelta(hours=12))
    store.create_session(provider.id, other, OPEN_NOW, timedelta(hours=12))

    store.revoke_session(token)
    store.revoke_session(new_token())  # unknown: nothing to do, no error

    assert store.session_provider(token, OPEN_NOW) is None
    assert store.session_provider(other, OPEN_NOW) == provider


def test_a_username_cannot_be_taken_twice(store: VisitStore):
    (first,) = add_providers(store, 1)
    clash = Provider(str(uuid.uuid4()), first.username, "Someone Else", ("urgent_care",))

    with pytest.raises(UsernameTaken, match="doc0"):
        store.add_provider(clash, "hash", OPEN_NOW)

    assert store.provider_count() == 1
    account = store.provider_account("doc0")
    assert account is not None and account.provider == first and account.active


# -- visit links -------------------------------------------------------------------------------


def test_a_link_opens_its_visit_until_it_expires(store: VisitStore):
    visit, token = waiting_visit(store, now=OPEN_NOW)
    expires = OPEN_NOW + timedelta(hours=24)

    detail = store.visit_detail_by_token(token, OPEN_NOW + timedelta(hours=1))
    assert detail is not None and detail.visit.id == visit.id
    assert detail.patient.given_name == "Rosalind"
    assert store.visit_detail_by_token(token, expires - timedelta(seconds=1)) is not None
    assert store.visit_detail_by_token(token, expires) is None
    assert store.visit_detail_by_token(new_token(), OPEN_NOW) is None


@pytest.mark.parametrize("ending", [S.CANCELLED, S.EXPIRED, S.NO_SHOW, S.REDIRECTED])
def test_a_link_stops_working_when_the_visit_ends(store: VisitStore, ending: VisitState):
    visit, token = waiting_visit(store, now=OPEN_NOW)

    store.transition(visit.id, ending, actor="system", now=OPEN_NOW + timedelta(minutes=5))

    assert store.visit_detail_by_token(token, OPEN_NOW + timedelta(minutes=6)) is None


def test_a_link_stops_working_once_the_visit_is_signed(store: VisitStore):
    (provider,) = add_providers(store, 1)
    visit, token = waiting_visit(store, now=OPEN_NOW)
    store.claim(visit.id, provider.id, OPEN_NOW)
    for target in (S.IN_CALL, S.DOCUMENTING):
        store.transition(visit.id, target, actor="p", now=OPEN_NOW)
    assert store.visit_detail_by_token(token, OPEN_NOW) is not None

    store.transition(visit.id, S.SIGNED, actor="p", now=OPEN_NOW)

    assert store.visit_detail_by_token(token, OPEN_NOW) is None


def test_stale_visits_are_live_ones_whose_link_has_expired(store: VisitStore):
    (provider,) = add_providers(store, 1)
    day_before = OPEN_NOW - timedelta(hours=30)
    old_waiting, _ = waiting_visit(store, now=day_before)
    old_claimed, _ = waiting_visit(store, now=day_before)
    store.claim(old_claimed.id, provider.id, day_before)
    old_cancelled, _ = waiting_visit(store, now=day_before)
    store.transition(old_cancelled.id, S.CANCELLED, actor="t", now=day_before)
    p = patient()
    old_checking_in = new_visit(p, now=day_before)
    store.create_visit(patient=p, visit=old_checking_in, link_token=new_token(), actor="t")
    fresh, _ = waiting_visit(store, now=OPEN_NOW)

    stale = store.stale_visits(OPEN_NOW)

    assert {v.id for v in stale} == {old_waiting.id, old_claimed.id, old_checking_in.id}
    assert fresh.id not in {v.id for v in stale}
    assert store.stale_visits(day_before) == []


# -- scheduled visits --------------------------------------------------------------------------


def scheduled(store: VisitStore, at: datetime, given_name: str,
              service_line: str = "specialty_care") -> Visit:
    p = patient(given_name=given_name)
    return store.create_visit(patient=p, visit=new_visit(p, kind=VisitKind.SCHEDULED,
                                                         scheduled_for=at,
                                                         service_line=service_line),
                              link_token=new_token(), actor="t")


def test_the_schedule_shows_one_local_day_in_time_order(store: VisitStore):
    day = date(2026, 11, 24)
    scheduled(store, datetime(2026, 11, 24, 15, 30, tzinfo=CHICAGO), "Afternoon")
    scheduled(store, datetime(2026, 11, 24, 0, 0, tzinfo=CHICAGO), "Midnight")
    scheduled(store, datetime(2026, 11, 24, 23, 30, tzinfo=CHICAGO), "Late")  # 05:30 UTC next day
    scheduled(store, datetime(2026, 11, 25, 0, 0, tzinfo=CHICAGO), "Tomorrow")
    scheduled(store, datetime(2026, 11, 23, 23, 59, tzinfo=CHICAGO), "Yesterday")
    scheduled(store, datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO), "Other line",
              service_line="urgent_care")

    items = store.schedule(["specialty_care"], *day_bounds(day, CHICAGO))

    assert [i.patient_name for i in items] == [
        "Midnight Quartermaine", "Afternoon Quartermaine", "Late Quartermaine"]
    assert all(i.visit.kind is VisitKind.SCHEDULED for i in items)


def test_the_schedule_on_the_day_clocks_go_back_has_25_hours(store: VisitStore):
    day = date(2026, 11, 1)
    start, end = day_bounds(day, CHICAGO)
    assert end - start == timedelta(hours=24)  # wall clock
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    scheduled(store, datetime(2026, 11, 1, 23, 30, tzinfo=CHICAGO), "Late")
    scheduled(store, datetime(2026, 11, 2, 0, 15, tzinfo=CHICAGO), "Monday")

    assert [i.patient_name for i in store.schedule(["specialty_care"], start, end)] == [
        "Late Quartermaine"]


def test_echeckin_is_recorded_once_and_only_before_the_visit_starts(store: VisitStore):
    visit = scheduled(store, datetime(2026, 11, 24, 15, 0, tzinfo=CHICAGO), "Sched")

    done = store.complete_echeckin(visit.id, forms={"history": "none"},
                                   insurance={"member_id": "X1"}, payment=None,
                                   now=OPEN_NOW, actor="patient")
    again = store.complete_echeckin(visit.id, forms={"history": "asthma"},
                                    insurance={"member_id": "X1"}, payment=None,
                                    now=OPEN_NOW, actor="patient")

    assert done.echeckin_complete and again.echeckin_complete
    assert store.echeckin(visit.id) == ({"history": "asthma"}, {"member_id": "X1"})
    store.transition(visit.id, S.WAITING, actor="patient", now=OPEN_NOW)
    with pytest.raises(IllegalTransition):
        store.complete_echeckin(visit.id, forms={}, insurance={}, payment=None, now=OPEN_NOW,
                                actor="patient")


# -- audit -------------------------------------------------------------------------------------


def test_who_did_what_is_recorded_for_each_patient(store: VisitStore):
    (provider,) = add_providers(store, 1)
    p = patient()
    visit, _ = waiting_visit(store, now=OPEN_NOW, p=p)
    someone_else, _ = waiting_visit(store, now=OPEN_NOW, p=patient(
        given_name="Marguerite", phone="512-555-0177", email="mb@example.org"))
    store.claim(visit.id, provider.id, OPEN_NOW + timedelta(minutes=1))
    store.audit(AuditEvent(OPEN_NOW + timedelta(minutes=2), f"provider:{provider.id}",
                           "chart.open", AuditOutcome.SUCCESS, p.id, visit.id))
    store.transition(visit.id, S.CANCELLED, actor=f"provider:{provider.id}",
                     now=OPEN_NOW + timedelta(minutes=3))

    events = store.audit_events(patient_id=p.id)

    assert [(e.action, e.outcome) for e in events] == [
        ("visit.create", AuditOutcome.SUCCESS), ("visit.claim", AuditOutcome.SUCCESS),
        ("chart.open", AuditOutcome.SUCCESS), ("visit.cancelled", AuditOutcome.SUCCESS)]
    assert [e.at for e in events] == [OPEN_NOW + timedelta(minutes=i) for i in range(4)]
    assert {e.actor for e in events[1:]} == {f"provider:{provider.id}"}
    assert events[0].actor == "test"
    assert all(e.visit_id == visit.id for e in events)
    assert someone_else.id not in {e.visit_id for e in events}
    assert [e.action for e in store.audit_events()].count("provider.create") == 1
