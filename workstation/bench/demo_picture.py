"""How soon a simulated patient of the demo is on screen after the provider starts the call.

Each run is a fresh demo day (``sore-throat``) on its own hub: the provider, through the
workstation's client and call code, claims the patient and starts the call; the figure is the
time from Start to the first received frame in which the patient's name can be read (the
trainer sees who it is), beside the time to the first received frame of the same call (the
call set-up itself, the baseline). The issue's goal: the name on screen within 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

import av

from workstation.bench.stats import Figure
from workstation.client.hub_client import HubClient
from workstation.client.hub_events import ConnectionChanged
from workstation.core.demo import DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.site import SiteConfig
from workstation.demo import scenario as scenarios
from workstation.demo.likeness import name_on
from workstation.demo.session import DemoSession
from workstation.devices.synthetic import TestPattern, Tone
from workstation.resource_files import load_resources
from workstation.rtc.visit_call import VisitCall

PATIENT = "Avery Lindqvist (Demo)"
WAIT_S = 20.0


def measure(runs: int = 5) -> Figure:
    firsts: list[float] = []
    named: list[float] = []
    for _ in range(runs):
        first, readable = asyncio.run(_one())
        if first is not None:
            firsts.append(first * 1000)
        if readable is not None:
            named.append(readable * 1000)
    return Figure("Demo: simulated patient's name on screen after Start", "ms", named,
                  baseline_name="first frame of the same call", baseline_samples=firsts,
                  goal="≤ 2000 ms")


async def _one() -> tuple[float | None, float | None]:
    resources = await asyncio.to_thread(load_resources)
    scenario = await asyncio.to_thread(scenarios.load, scenarios.find("sore-throat"), resources)
    with tempfile.TemporaryDirectory(prefix="workstation-bench-demo-") as folder:
        session = DemoSession(Path(folder) / "demo.db", SiteConfig(), resources, scenario)
        hub = await session.start()
        try:
            async with HubClient(hub.url) as client:
                await client.sign_in(DEMO_USERNAME, DEMO_PASSWORD)
                connected = asyncio.Event()
                events = asyncio.create_task(_drain(client, connected))
                try:
                    await asyncio.wait_for(connected.wait(), WAIT_S)
                    return await _call(session, client)
                finally:
                    events.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await events
        finally:
            await session.close()


async def _drain(client: HubClient, connected: asyncio.Event) -> None:
    """The provider socket (the call's signaling goes over it), open before the call."""
    async for event in client.events():
        if isinstance(event, ConnectionChanged) and event.connected:
            connected.set()


async def _call(session: DemoSession, client: HubClient) -> tuple[float | None, float | None]:
    assert session.day is not None
    arrival = session.day.arrivals[PATIENT]
    deadline = time.monotonic() + WAIT_S
    while not (arrival.visit_id and arrival.simulated is not None):
        if time.monotonic() > deadline:
            return None, None
        await asyncio.sleep(0.05)
    await client.claim(arrival.visit_id)
    first: list[float] = []
    readable: list[float] = []
    started = 0.0

    def seen(frame: av.VideoFrame) -> None:
        now = time.monotonic()
        if not first:
            first.append(now - started)
        if not readable and name_on(frame, [PATIENT, "Someone Else (Demo)"]) == PATIENT:
            readable.append(now - started)

    call = VisitCall(client, arrival.visit_id, video=TestPattern(640, 360).frame,
                     audio=Tone().frame, on_video=seen)
    started = time.monotonic()
    await call.start()
    try:
        while not readable and time.monotonic() - started < WAIT_S:
            await asyncio.sleep(0.01)
    finally:
        await call.end()
    return (first[0] if first else None), (readable[0] if readable else None)
