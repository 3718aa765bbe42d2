"""The demo inside the workstation: its database, its hub and its day, started and reset.

Everything here runs on the workstation's asyncio thread. A reset (or starting another
scenario) is one step: the day stops, the hub stops, the database is made anew, and the hub
comes back on the same address with the scenario at its start, so the window's connection to
it carries on (the provider signs in again, with the demo's credentials shown).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from workstation.core.site import SiteConfig
from workstation.demo.day import DemoDay, demo_site, open_demo_store, prepare
from workstation.demo.scenario import Scenario, load
from workstation.hub.server import RunningHub, start_hub
from workstation.resource_files import Resources

log = logging.getLogger(__name__)


class DemoSession:
    def __init__(self, db_path: Path, config: SiteConfig, resources: Resources,
                 scenario: Scenario, *, on_event: Callable[[str, str], None] = lambda _n, _w:
                 None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db_path = db_path
        self.config = config
        self.resources = resources
        self.scenario = scenario
        self._on_event = on_event
        self._clock = clock
        self.hub: RunningHub | None = None
        self.day: DemoDay | None = None
        self.speed = 1.0  # kept across resets
        self._port = 0
        self._lock = asyncio.Lock()

    async def start(self) -> RunningHub:
        """A fresh day of the current scenario (each start of the app is one)."""
        async with self._lock:
            return await self._start()

    async def _start(self) -> RunningHub:
        from workstation.erx.sender import sender_factory

        store = await asyncio.to_thread(open_demo_store, self.db_path)
        try:
            site = demo_site(self.config, self.scenario)
            appointments = await asyncio.to_thread(prepare, store, site, self.scenario,
                                                   self._clock())
            hub = await start_hub(store, site, self.resources, embedded=True, demo=True,
                                  port=self._port, outbox=sender_factory(), clock=self._clock)
        except BaseException:
            await asyncio.to_thread(store.close)
            raise
        self.hub = hub
        self._port = int(hub.url.rsplit(":", 1)[1])
        self.day = DemoDay(hub.url, self.scenario, appointments, speed=self.speed,
                           on_event=self._on_event)
        self.day.start()
        log.info("Demo day started: %s", self.scenario.name)
        return hub

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        if self.day is not None:
            self.day.set_speed(speed)

    async def reset(self, scenario_path: Path | None = None) -> RunningHub:
        """Back to the start of the scenario (or of another one, read first: a file with a
        mistake leaves the running day as it is and raises ScenarioError)."""
        async with self._lock:
            if scenario_path is not None:
                self.scenario = await asyncio.to_thread(load, scenario_path, self.resources)
            await self._stop()
            return await self._start()

    async def close(self) -> None:
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        day, self.day = self.day, None
        if day is not None:
            await day.stop()
        hub, self.hub = self.hub, None
        if hub is not None:
            await hub.close()
            await asyncio.to_thread(hub.service.store.close)
