"""The audit log is a hash chain, on SQLite and PostgreSQL: an event edited, removed, added or
moved by hand in the database is found and named, ids are never given twice, and the
`workstation audit` commands check the chain and report a time range (audited themselves)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Table, insert, inspect, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from tests.conftest import OPEN_NOW
from tests.factories import waiting_visit
from workstation.cli import main
from workstation.core.audit import AuditEvent, AuditOutcome
from workstation.core.people import Provider
from workstation.storage import migrate
from workstation.storage.audit_log import Breach, event_hash
from workstation.storage.orm import AuditRow, Base, UTCDateTime
from workstation.storage.rows import audit_row
from workstation.storage.store import VisitStore, new_id

EVENTS = cast(Table, AuditRow.__table__)
CHICAGO = ZoneInfo("America/Chicago")


# -- helpers -----------------------------------------------------------------------------------


def record(store: VisitStore, n: int, *, start: datetime = OPEN_NOW,
           patient_id: str | None = None) -> list[int]:
    """``n`` chart openings a minute apart, each written as the hub writes it; their ids."""
    before = set(ids(store))
    for i in range(n):
        store.audit(AuditEvent(start + timedelta(minutes=i), f"provider:{new_id()}",
                               "chart.open", AuditOutcome.SUCCESS,
                               patient_id or new_id(), new_id()))
    return [i for i in ids(store) if i not in before]


def ids(store: VisitStore) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.scalars(select(EVENTS.c.id).order_by(EVENTS.c.id)))


def by_hand(store: VisitStore, *statements: str, **params: Any) -> None:
    """What someone with a SQL prompt on the database does: no program in between."""
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def first_break(store: VisitStore) -> tuple[int | None, Breach]:
    check = store.verify_audit_chain()
    assert check.first_break is not None, "the change went unnoticed"
    return check.first_break.event_id, check.first_break.breach


def forge_chart_open(store: VisitStore, event_id: int, prev_hash: str, *,
                     digest: str | None = None) -> None:
    """A chart opening nobody did, written straight into the table with a hash computed the
    way the program computes it (or ``digest``)."""
    at = OPEN_NOW + timedelta(hours=1)
    fields: dict[str, Any] = dict(at=at, actor="provider:forger", action="chart.open",
                                  outcome="success", patient_id=new_id(), visit_id=new_id(),
                                  detail="")
    real = event_hash(event_id, prev_hash=prev_hash, **fields)
    with store.engine.begin() as conn:
        conn.execute(insert(EVENTS).values(id=event_id, prev_hash=prev_hash,
                                           hash=digest or real, **fields))


def stored_hash(store: VisitStore, event_id: int) -> str:
    with store.engine.connect() as conn:
        return str(conn.scalar(select(EVENTS.c.hash).where(EVENTS.c.id == event_id)))


def cli_url(store: VisitStore) -> str:
    if store.dialect == "sqlite":
        return f"sqlite:///{store.engine.url.database}"
    return store.engine.url.render_as_string(hide_password=False)


# -- an untouched log ------------------------------------------------------------------------


def test_what_the_stores_write_is_one_intact_chain(store: VisitStore):
    doc = store.add_provider(Provider(new_id(), "house", "Dr. House", ("urgent_care",)),
                             "not a real hash", OPEN_NOW)
    visit, _ = waiting_visit(store, now=OPEN_NOW)
    assert store.claim(visit.id, doc.id, OPEN_NOW) is not None
    with store.sessions.begin() as s:  # several events in one flush, as prescriptions write
        s.add_all(audit_row(AuditEvent(OPEN_NOW, f"provider:{doc.id}", action,
                                       AuditOutcome.SUCCESS, visit.patient_id, visit.id))
                  for action in ("rx.create", "rx.queue", "rx.send"))

    check = store.verify_audit_chain()

    assert check.intact and check.events == len(ids(store)) == 6
    with store.engine.connect() as conn:
        chain = conn.execute(select(EVENTS.c.prev_hash, EVENTS.c.hash)
                             .order_by(EVENTS.c.id)).all()
    assert chain[0].prev_hash == "0" * 64
    assert [r.prev_hash for r in chain[1:]] == [r.hash for r in chain[:-1]]


# -- each kind of tampering is found, and the first bad event named -----------------------------


def test_an_edited_actor_is_named(store: VisitStore):
    events = record(store, 6)

    by_hand(store, "UPDATE audit_events SET actor = 'provider:someone-else' WHERE id = :id",
            id=events[3])

    assert first_break(store) == (events[3], Breach.EDITED)


def test_an_edited_time_is_named_even_with_its_hash_recomputed(store: VisitStore):
    events = record(store, 6)
    with store.engine.connect() as conn:
        row = conn.execute(select(EVENTS).where(EVENTS.c.id == events[2])).one()
    earlier = row.at - timedelta(hours=3)
    redone = event_hash(row.id, earlier, row.actor, row.action, row.outcome, row.patient_id,
                        row.visit_id, row.detail, row.prev_hash)
    with store.engine.begin() as conn:
        conn.execute(EVENTS.update().where(EVENTS.c.id == events[2])
                     .values(at=earlier, hash=redone))

    # The edited event holds together; the one after it is chained to the hash it had.
    assert first_break(store) == (events[3], Breach.MISSING_BEFORE)


def test_a_deleted_event_in_the_middle_is_found(store: VisitStore):
    events = record(store, 6)

    by_hand(store, "DELETE FROM audit_events WHERE id = :id", id=events[2])

    assert first_break(store) == (events[3], Breach.MISSING_BEFORE)


def test_deleted_first_events_are_found(store: VisitStore):
    events = record(store, 4)

    by_hand(store, "DELETE FROM audit_events WHERE id <= :id", id=events[1])

    assert first_break(store) == (events[2], Breach.MISSING_BEFORE)


def test_deleted_last_events_are_found(store: VisitStore):
    events = record(store, 5)

    by_hand(store, "DELETE FROM audit_events WHERE id >= :id", id=events[3])

    assert first_break(store) == (events[4], Breach.REMOVED_AT_END)


def test_an_emptied_log_is_found(store: VisitStore):
    events = record(store, 3)

    by_hand(store, "DELETE FROM audit_events")

    assert first_break(store) == (events[-1], Breach.REMOVED_AT_END)


def test_a_removed_head_is_found(store: VisitStore):
    record(store, 3)

    by_hand(store, "DELETE FROM audit_head")

    assert first_break(store) == (None, Breach.HEAD_MISSING)


def test_a_forged_chart_open_at_the_end_is_found_though_its_hash_is_right(store: VisitStore):
    events = record(store, 4)

    forge_chart_open(store, events[-1] + 1, stored_hash(store, events[-1]))

    assert first_break(store) == (events[-1] + 1, Breach.INSERTED)


def test_a_forged_chart_open_between_two_events_is_found(store: VisitStore):
    events = record(store, 6)
    k = events[2]
    # Room made after event k by moving the later events up one id, then the forged event
    # chained onto event k exactly as the program would have chained it.
    by_hand(store, "UPDATE audit_events SET id = -id WHERE id > :k",
            "UPDATE audit_events SET id = 1 - id WHERE id < 0", k=k)
    forge_chart_open(store, k + 1, stored_hash(store, k))

    assert first_break(store) == (k + 1, Breach.INSERTED)


def test_a_forged_chart_open_before_the_first_event_is_found(store: VisitStore):
    events = record(store, 3)

    forge_chart_open(store, 0, "0" * 64)  # chained as the log's first event

    assert events[0] > 0
    assert first_break(store) == (0, Breach.INSERTED)


def test_a_forged_chart_open_with_a_made_up_hash_is_found(store: VisitStore):
    events = record(store, 3)

    forge_chart_open(store, events[-1] + 1, stored_hash(store, events[-1]), digest="ab" * 32)

    assert first_break(store) == (events[-1] + 1, Breach.EDITED)


@pytest.mark.parametrize("apart", [1, 3])
def test_two_events_swapped_are_out_of_order(store: VisitStore, apart: int):
    events = record(store, 6)
    a, b = events[1], events[1 + apart]

    by_hand(store, "UPDATE audit_events SET id = -1 WHERE id = :a",
            "UPDATE audit_events SET id = :a WHERE id = :b",
            "UPDATE audit_events SET id = :b WHERE id = -1", a=a, b=b)

    assert first_break(store) == (a, Breach.OUT_OF_ORDER)


def test_swapped_contents_are_out_of_order(store: VisitStore):
    events = record(store, 5)
    a, b = events[1], events[2]
    columns = [c.name for c in EVENTS.columns if c.name != "id"]
    with store.engine.begin() as conn:
        rows = {r.id: r._mapping for r in conn.execute(
            select(EVENTS).where(EVENTS.c.id.in_([a, b])))}
        for target, source in ((a, b), (b, a)):
            conn.execute(EVENTS.update().where(EVENTS.c.id == target)
                         .values({c: rows[source][c] for c in columns}))

    assert first_break(store) == (a, Breach.OUT_OF_ORDER)


# -- ids --------------------------------------------------------------------------------------


def test_the_id_of_a_deleted_last_event_is_never_given_again(store: VisitStore):
    events = record(store, 3)
    by_hand(store, "DELETE FROM audit_events WHERE id = :id", id=events[-1])

    [after] = record(store, 1)

    assert after > events[-1]
    # The new event is chained to the removed one: the removal still shows.
    assert first_break(store) == (after, Breach.MISSING_BEFORE)


# -- many writers at once -----------------------------------------------------------------------


def test_events_written_at_once_from_many_threads_keep_one_chain(store: VisitStore):
    record(store, 2)

    def write(worker: int) -> None:
        for i in range(15):
            store.audit(AuditEvent(OPEN_NOW + timedelta(seconds=i), f"provider:{worker}",
                                   "chart.open", AuditOutcome.SUCCESS, new_id(), new_id()))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))

    check = store.verify_audit_chain()
    assert check.first_break is None
    assert check.events == 2 + 8 * 15


# -- the migration chains the log a database already has --------------------------------------


OLD_EVENTS = sa_table(  # audit_events as revision 0009 left it
    "audit_events", sa_column("at", UTCDateTime()), sa_column("actor"), sa_column("action"),
    sa_column("outcome"), sa_column("patient_id"), sa_column("visit_id"),
    sa_column("detail"))


def test_the_upgrade_chains_an_existing_log(empty_engine: Engine):
    migrate.upgrade(empty_engine, "0009")
    with empty_engine.begin() as conn:
        conn.execute(insert(OLD_EVENTS), [
            dict(at=OPEN_NOW + timedelta(minutes=i), actor="provider:old", action="chart.open",
                 outcome="success", patient_id=new_id(), visit_id=None, detail="")
            for i in range(5)])
        conn.execute(text("DELETE FROM audit_events WHERE id = 2"))  # older logs may have gaps

    migrate.upgrade(empty_engine, "0010")

    store = VisitStore(empty_engine)
    check = store.verify_audit_chain()
    assert check.intact and check.events == 4
    with empty_engine.connect() as conn:  # the tables are what the models say
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if "audit" in repr(d)] == []
    [new] = record(store, 1)
    assert new == 6 and store.verify_audit_chain().intact
    by_hand(store, "DELETE FROM audit_events WHERE id = 6")
    assert record(store, 1) == [7]  # not 6 again
    if empty_engine.dialect.name == "sqlite":
        with empty_engine.connect() as conn:
            created = conn.scalar(text(
                "SELECT sql FROM sqlite_master WHERE name = 'audit_events'"))
        assert "AUTOINCREMENT" in created
    by_hand(store, "UPDATE audit_events SET detail = 'changed' WHERE id = 3")
    assert first_break(store) == (3, Breach.EDITED)


def test_the_upgrade_goes_back_and_forth(empty_engine: Engine):
    migrate.upgrade(empty_engine, "0010")
    store = VisitStore(empty_engine)
    record(store, 2)

    config = migrate._config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert "audit_head" not in inspect(empty_engine).get_table_names()
    assert "hash" not in {c["name"] for c in inspect(empty_engine).get_columns("audit_events")}

    migrate.upgrade(empty_engine, "0010")
    check = store.verify_audit_chain()
    assert check.intact and check.events == 2


# -- workstation audit verify -------------------------------------------------------------------


def test_verify_says_ok_or_names_the_first_bad_event(store: VisitStore,
                                                     capsys: pytest.CaptureFixture[str]):
    events = record(store, 4)

    assert main(["audit", "verify", "--db", cli_url(store)]) == 0
    assert capsys.readouterr().out == "OK: 4 events, chain intact\n"

    by_hand(store, "UPDATE audit_events SET actor = 'provider:someone-else' WHERE id = :id",
            id=events[1])
    assert main(["audit", "verify", "--db", cli_url(store)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"BROKEN at event {events[1]}: edited (")


def test_verify_refuses_a_database_that_is_not_there(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    assert main(["audit", "verify", "--db", str(tmp_path / "nothing.db")]) == 2
    assert "there is no database" in capsys.readouterr().err
    assert not (tmp_path / "nothing.db").exists()


@pytest.mark.postgres
def test_verify_exit_codes_from_the_command_line(pg_store: VisitStore):
    events = record(pg_store, 3)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workstation", "audit", "verify", "--db", cli_url(pg_store)],
            capture_output=True, text=True, timeout=60)

    ok = verify()
    assert (ok.returncode, ok.stdout) == (0, "OK: 3 events, chain intact\n"), ok.stderr
    by_hand(pg_store, "DELETE FROM audit_events WHERE id = :id", id=events[1])
    broken = verify()
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"BROKEN at event {events[2]}: missing before it (")


# -- workstation audit report -------------------------------------------------------------------


def test_report_shows_a_range_of_days_and_is_itself_audited(store: VisitStore,
                                                           capsys: pytest.CaptureFixture[str]):
    ann, bob = new_id(), new_id()

    def at(day: int, hour: int, minute: int = 0) -> datetime:  # June 2025, Chicago time
        return datetime(2025, 6, day, hour, minute, tzinfo=CHICAGO)

    [day_before] = record(store, 1, start=at(9, 10), patient_id=ann)
    [morning] = record(store, 1, start=at(10, 9), patient_id=ann)
    [late] = record(store, 1, start=at(10, 23, 30), patient_id=bob)  # 04:30 UTC on the 11th
    [day_after] = record(store, 1, start=at(11, 8), patient_id=ann)

    assert main(["audit", "report", "--db", cli_url(store), "--from", "2025-06-10",
                 "--to", "2025-06-10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "at", "actor", "action", "outcome", "patient_id",
                                "visit_id", "detail"]
    shown = [int(line.split()[0]) for line in lines[2:-1]]
    assert shown == [morning, late]
    assert lines[-1] == "2 events"
    assert "2025-06-10T23:30:00-05:00" in lines[3] and bob in lines[3]

    assert main(["audit", "report", "--db", cli_url(store), "--from", "2025-06-09",
                 "--to", "2025-06-11T09:00", "--patient", ann, "--csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["id", "at", "actor", "action", "outcome", "patient_id", "visit_id",
                        "detail"]
    assert [int(r[0]) for r in table[1:]] == [day_before, morning, day_after]
    assert {r[5] for r in table[1:]} == {ann}

    reports = [e for e in store.audit_events() if e.action == "audit.report"]
    assert [(e.patient_id, e.outcome) for e in reports] == [(None, "success"), (ann, "success")]
    assert all(e.actor.startswith("cli:") and len(e.actor) > len("cli:") for e in reports)
    assert reports[0].detail == "2025-06-10T05:00:00+00:00/2025-06-11T05:00:00+00:00"
    assert reports[1].detail.endswith(" csv")
    assert store.verify_audit_chain().intact  # the report's own events are chained too


def test_report_refuses_a_range_it_cannot_read(store: VisitStore,
                                               capsys: pytest.CaptureFixture[str]):
    before = len(ids(store))

    assert main(["audit", "report", "--db", cli_url(store), "--from", "10 June",
                 "--to", "2025-06-10"]) == 2
    assert "'10 June' is not a date" in capsys.readouterr().err
    assert main(["audit", "report", "--db", cli_url(store), "--from", "2025-06-10",
                 "--to", "2025-06-09"]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    assert len(ids(store)) == before  # nothing reported, nothing audited


def test_a_range_takes_its_start_and_stops_before_its_end(store: VisitStore):
    start, end = datetime(2025, 6, 10, 5, tzinfo=UTC), datetime(2025, 6, 11, 5, tzinfo=UTC)
    record(store, 1, start=start - timedelta(microseconds=1))
    [first] = record(store, 1, start=start)
    [inside] = record(store, 1, start=end - timedelta(microseconds=1))
    record(store, 1, start=end)
    assert [e.id for e in store.audit_log_between(start, end)] == [first, inside]
