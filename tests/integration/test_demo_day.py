"""Each start of the demo is a fresh day: a new database with a key of its own, the
scenario's appointments at today's times, and its patients arriving, whatever the date."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workstation.core.site import SiteConfig
from workstation.demo import scenario as scenarios
from workstation.demo.session import DemoSession
from workstation.resource_files import Resources
from workstation.storage.keystore import DatabaseKeyUnavailable

pytestmark = pytest.mark.asyncio

LINES = ["urgent_care", "specialty_care"]


async def _until(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def _a_day(path: Path, site: SiteConfig, resources: Resources,
                 now: datetime) -> tuple[list[str], list[tuple[str, bool]]]:
    """Start the morning scenario with the clock at ``now``; the queue once the first two
    walk-ins are in, and the day's schedule (name, eCheck-in done)."""
    scenario = scenarios.load(scenarios.find("clinic-morning"), resources)
    session = DemoSession(path, site, resources, scenario, clock=lambda: now)
    hub = await session.start()
    try:
        store = hub.service.store
        await _until(lambda: len(store.queue(LINES, now)) >= 2)
        queue = [e.condition for e in store.queue(LINES, now)]
        day = store.schedule(LINES, now - timedelta(hours=1), now + timedelta(hours=12))
        return queue, sorted((i.patient_name, i.visit.echeckin_complete) for i in day)
    finally:
        await session.close()


async def test_a_demo_started_a_day_later_still_has_its_patients(
        tmp_path: Path, site: SiteConfig, resources: Resources,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No keyring at all: the demo never asks one.
    def no_keyring(*_args: object) -> str:
        raise DatabaseKeyUnavailable("no keyring here")

    monkeypatch.setattr("workstation.storage.keystore.database_key", no_keyring)
    today = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "demo.db"

    first = await _a_day(path, site, resources, today)
    written = path.read_bytes()
    later = await _a_day(path, site, resources, today + timedelta(days=1))

    assert sorted(first[0]) == sorted(later[0]) == ["cough", "sore_throat"]
    schedule = [("Helen Marsh (Demo)", True), ("June Nakamura (Demo)", True),
                ("Tomás Ibarra (Demo)", False)]
    assert first[1] == later[1] == schedule
    assert b"SQLite format 3" not in written[:16]  # encrypted, with a key kept nowhere
    assert path.read_bytes() != written


async def test_reset_starts_the_scenario_over_on_the_same_address(
        tmp_path: Path, site: SiteConfig, resources: Resources) -> None:
    scenario = scenarios.load(scenarios.find("sore-throat"), resources)
    session = DemoSession(tmp_path / "demo.db", site, resources, scenario)
    hub = await session.start()
    try:
        url = hub.url
        await _until(lambda: len(hub.service.store.queue(LINES, datetime.now(UTC))) == 1)
        first = hub.service.store.queue(LINES, datetime.now(UTC))[0].visit_id
        session.set_speed(5.0)

        again = await session.reset(scenarios.find("busy-hour"))

        assert again.url == url and session.scenario.name == "busy-hour"
        assert session.day is not None and session.day.speed == 5.0  # kept across resets
        await _until(lambda: len(again.service.store.queue(LINES, datetime.now(UTC))) >= 1)
        assert first not in [e.visit_id for e in
                             again.service.store.queue(LINES, datetime.now(UTC))]
    finally:
        await session.close()


async def test_a_broken_scenario_leaves_the_running_day_as_it_is(
        tmp_path: Path, site: SiteConfig, resources: Resources) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('title = "x"\n[[patients]]\ngiven_name = 3\n', encoding="utf-8")
    scenario = scenarios.load(scenarios.find("sore-throat"), resources)
    session = DemoSession(tmp_path / "demo.db", site, resources, scenario)
    hub = await session.start()
    try:
        with pytest.raises(scenarios.ScenarioError, match="given_name"):
            await session.reset(broken)
        assert session.hub is hub and session.scenario.name == "sore-throat"
    finally:
        await session.close()


async def test_the_scenario_clock_runs_at_its_speed_and_stops_while_paused(
        resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.demo import day as demo_day

    now = [100.0]
    monkeypatch.setattr(demo_day.time, "monotonic", lambda: now[0])
    day = demo_day.DemoDay("http://127.0.0.1:1", scenarios.load(
        scenarios.find("sore-throat"), resources), {}, speed=2.0)
    now[0] += 60
    assert day.minute == day.minute == 2.0  # reading it (from any thread) changes nothing
    day.set_speed(5.0)
    now[0] += 60
    assert day.minute == 7.0
    day.pause()
    now[0] += 600
    assert day.minute == 7.0 and day.paused
    day.resume()
    now[0] += 12
    assert day.minute == 8.0
