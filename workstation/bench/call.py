"""The video call, side by side: the workstation calling a Chromium patient, against Chromium
calling the same Chromium patient page (the hub's provider test page), through one hub process.

Both patients' and the browser provider's cameras are a canvas drawing the test pattern's time
code (``browser_harness.js``); the workstation sends its own test pattern. Every remote frame
shown is read back on both sides, so each direction's glass-to-glass latency is measured on the
machine's one clock. Call set-up runs from the click on "Start visit" to the first remote frame
painted. CPU is the provider side's: the workstation process, or the provider's whole Chromium
(browser, renderer, GPU and network processes).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from workstation.bench.call_parties import (
    REMOTE_SIZE,
    SETTLE_LIMIT_S,
    BenchBrowser,
    BenchHub,
    WorkstationProbe,
    patient_ready,
    settle,
    until,
)
from workstation.bench.chromium import CHROMIUM
from workstation.bench.stats import Figure

WARM_UP_S = 2.0

@dataclass
class CallRun:
    """One call, measured over its window."""

    setup_ms: float
    full_size_s: float  # from the first frame until both sides receive the full size
    to_provider_ms: list[float]  # glass-to-glass, patient -> provider
    to_patient_ms: list[float]  # glass-to-glass, provider -> patient
    provider_fps: float  # remote frames decoded a second at the provider
    provider_shown_pct: float  # of those, painted
    provider_cores: float
    provider_memory_mb: float
    patient_cores: float
    lateness_ms: list[float] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def _median(values: list[float]) -> float | None:
    """A diagnostic's median for the notes (None when there were no samples)."""
    return round(statistics.median(values), 1) if values else None


def _delta(after: dict[str, Any], before: dict[str, Any], side: str, key: str) -> float:
    a = (after.get("stats") or {}).get(side) or {}
    b = (before.get("stats") or {}).get(side) or {}
    return float((a.get(key) or 0) - (b.get(key) or 0))


async def workstation_call(hub: BenchHub, patient: BenchBrowser, width: int, height: int,
                           seconds: float, *, on_sample: Any = None) -> CallRun:
    visit = await hub.check_in()
    page = await patient.page(f"{hub.url}/v/{visit['visit_token']}/video", width, height)
    probe = await WorkstationProbe.start(hub, width, height)
    try:
        await probe.expect("CLAIMED")
        await patient_ready(page)
        await probe.send("START")
        setup = float(await probe.expect("FIRST_FRAME"))
        await until(page, "window.__bench.presented > 0")

        async def sizes() -> list[tuple[int, int]]:
            return [await probe.size(), tuple(await page.evaluate(REMOTE_SIZE))]

        full_size = await settle(sizes, width, height)
        await asyncio.sleep(WARM_UP_S)
        before = await page.evaluate("window.__bench.collect()")
        await page.evaluate("window.__bench.reset()")
        await probe.send("RESET")
        used0 = patient.usage()
        started = time.perf_counter()
        if on_sample is not None:
            await on_sample(probe, seconds)
        else:
            await asyncio.sleep(seconds)
        await probe.send("COLLECT")
        ours = json.loads(await probe.expect("RESULT"))
        theirs = await page.evaluate("window.__bench.collect()")
        patient_cores = (patient.usage().cpu_s - used0.cpu_s) / (time.perf_counter() - started)
    finally:
        await probe.stop()
        await page.context.close()
    decoded = ours["decoded"]
    return CallRun(
        setup_ms=setup, full_size_s=full_size, to_provider_ms=ours["ages_ms"],
        to_patient_ms=theirs["ages"],
        provider_fps=decoded / ours["wall_s"],
        provider_shown_pct=100 * min(1.0, ours["painted"] / decoded) if decoded else 0.0,
        provider_cores=ours["cpu_s"] / ours["wall_s"], provider_memory_mb=ours["peak_rss_mb"],
        patient_cores=patient_cores, lateness_ms=ours["lateness_ms"],
        notes={"unreadable_at_provider": ours["unreadable"],
               "unreadable_at_patient": theirs["unreadable"],
               "provider_received": ours["received_size"], "patient_received": theirs["sizes"],
               "patient_stats": theirs["stats"],
               "patient_read_after_shown_ms": _median(theirs["readAfterShownMs"]),
               "patient_decoded_fps": _delta(theirs, before, "inbound", "framesDecoded")
               / theirs["seconds"]})


async def browser_call(hub: BenchHub, patient: BenchBrowser, provider: BenchBrowser, width: int,
                       height: int, seconds: float) -> CallRun:
    visit = await hub.check_in()
    session = await hub.sign_in("bench1")
    await hub.claim(session["token"], visit["visit_id"])
    page = await patient.page(f"{hub.url}/v/{visit['visit_token']}/video", width, height)
    doctor = await provider.page(
        f"{hub.url}/provider-test#visit={visit['visit_id']}&token={session['token']}",
        width, height)
    try:
        await patient_ready(page)
        await until(doctor, "!document.getElementById('start_button').disabled")
        await doctor.click("#start_button")
        await until(doctor, "window.__bench.firstFrameAt !== null")
        await until(page, "window.__bench.presented > 0")

        async def sizes() -> list[tuple[int, int]]:
            return [tuple(await p.evaluate(REMOTE_SIZE)) for p in (page, doctor)]

        full_size = await settle(sizes, width, height)
        await asyncio.sleep(WARM_UP_S)
        before = await doctor.evaluate("window.__bench.collect()")
        setup = before["firstFrameMs"]
        for p in (page, doctor):
            await p.evaluate("window.__bench.reset()")
        used0, patient0 = provider.usage(), patient.usage()
        peak = used0.rss_mb
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await asyncio.sleep(0.5)
            peak = max(peak, provider.usage().rss_mb)
        wall = time.perf_counter() - started
        used1, patient1 = provider.usage(), patient.usage()
        theirs = await page.evaluate("window.__bench.collect()")
        ours = await doctor.evaluate("window.__bench.collect()")
        await doctor.click("#end_button")
    finally:
        await doctor.context.close()
        await page.context.close()
    decoded = _delta(ours, before, "inbound", "framesDecoded")
    return CallRun(
        setup_ms=float(setup), full_size_s=full_size, to_provider_ms=ours["ages"],
        to_patient_ms=theirs["ages"],
        provider_fps=decoded / ours["seconds"],
        provider_shown_pct=100 * min(1.0, ours["presented"] / decoded) if decoded else 0.0,
        provider_cores=(used1.cpu_s - used0.cpu_s) / wall, provider_memory_mb=peak,
        patient_cores=(patient1.cpu_s - patient0.cpu_s) / wall,
        notes={"unreadable_at_provider": ours["unreadable"],
               "unreadable_at_patient": theirs["unreadable"],
               "provider_received": ours["sizes"], "patient_received": theirs["sizes"],
               "patient_stats": theirs["stats"], "provider_stats": ours["stats"],
               "patient_read_after_shown_ms": _median(theirs["readAfterShownMs"]),
               "provider_read_after_shown_ms": _median(ours["readAfterShownMs"])})


@dataclass
class CallResult:
    figures: list[Figure]
    notes: list[str]


SIZES_FULL = ((640, 480), (1280, 720))


def need_chromium() -> None:
    """Raise RuntimeError, saying how to get it, when Debian's Chromium is missing."""
    if shutil.which(CHROMIUM) is None:
        raise RuntimeError(f"The call measurements need Debian's Chromium at {CHROMIUM}: "
                           "'make bench' installs it (apt-get install chromium).")


async def _measure(runs: int, sizes: tuple[tuple[int, int], ...], seconds: float,
                   ) -> CallResult:
    from playwright.async_api import async_playwright

    need_chromium()

    hub = BenchHub()
    figures: list[Figure] = []
    notes: list[str] = []
    try:
        async with async_playwright() as pw:
            patient, provider = BenchBrowser(pw), BenchBrowser(pw)
            await patient.start()
            await provider.start()
            try:
                for width, height in sizes:
                    ours = [await workstation_call(hub, patient, width, height, seconds)
                            for _ in range(runs)]
                    base = [await browser_call(hub, patient, provider, width, height, seconds)
                            for _ in range(runs)]
                    figures += _figures(f"{width}x{height}", ours, base, seconds)
                    notes += [f"{width}x{height} workstation run {i + 1}: {r.notes}"
                              for i, r in enumerate(ours)]
                    notes += [f"{width}x{height} Chromium run {i + 1}: {r.notes}"
                              for i, r in enumerate(base)]
            finally:
                await patient.close()
                await provider.close()
    finally:
        await hub.close()
    return CallResult(figures, notes)


def _figures(size: str, ours: list[CallRun], base: list[CallRun], seconds: float,
             ) -> list[Figure]:
    def all_of(runs: list[CallRun], attr: str) -> list[float]:
        return [x for r in runs for x in getattr(r, attr)]

    def each(runs: list[CallRun], attr: str) -> list[float]:
        return [float(getattr(r, attr)) for r in runs]

    def reached(runs: list[CallRun]) -> list[float]:
        return [r.full_size_s for r in runs if not math.isnan(r.full_size_s)]

    hd = size == "1280x720"
    pair = "workstation <-> Chromium patient"
    chromium = "Chromium <-> Chromium"
    figures = [
        Figure(f"call set-up {size}: Start visit to first remote frame", "ms",
               each(ours, "setup_ms"), chromium, each(base, "setup_ms"),
               goal="<= 1.5x and < 1000 ms", notes=f"{pair}; loopback, one hub"),
        Figure(f"first frame to {size} received both ways", "s",
               reached(ours), chromium, reached(base), required=False,
               notes="bandwidth estimates ramping up; runs that did not reach it in "
                     f"{SETTLE_LIMIT_S:g} s are left out (and measured at what they got)"),
        Figure(f"glass-to-glass {size}, patient -> provider", "ms",
               all_of(ours, "to_provider_ms"), chromium, all_of(base, "to_provider_ms"),
               goal="p95 <= 1.2x and < 100 ms" if hd else "", compare="p95",
               notes="time code read from the painted frame; each frame shown"),
        Figure(f"glass-to-glass {size}, provider -> patient", "ms",
               all_of(ours, "to_patient_ms"), chromium, all_of(base, "to_patient_ms"),
               goal="p95 <= 1.2x and < 100 ms" if hd else "", compare="p95",
               notes="read in the patient's browser (requestVideoFrameCallback)"),
        Figure(f"received frame rate at the provider {size}", "fps",
               each(ours, "provider_fps"), chromium, each(base, "provider_fps"),
               goal=">= 29 fps" if hd else "", notes=f"frames decoded; {seconds:g} s windows"),
        Figure(f"received frames shown at the provider {size}", "%",
               each(ours, "provider_shown_pct"), chromium, each(base, "provider_shown_pct"),
               notes="the rest were dropped for a newer frame"),
        Figure(f"provider-side CPU during a two-way {size} call", "cores",
               each(ours, "provider_cores"), "Chromium provider, all processes",
               each(base, "provider_cores"), goal="<= 1 core" if hd else "",
               notes="workstation process; the Chromium patient is not counted"),
        Figure(f"patient-side CPU (Chromium) {size}", "cores", each(ours, "patient_cores"),
               "same page, calling Chromium", each(base, "patient_cores")),
        Figure(f"provider-side peak memory {size}", "MB", each(ours, "provider_memory_mb"),
               "Chromium provider, RSS summed", each(base, "provider_memory_mb"),
               notes="workstation: the process's peak RSS"),
    ]
    if hd:
        figures.append(Figure("GUI-thread lateness during a 1280x720 call", "ms",
                              all_of(ours, "lateness_ms"), goal="p99 < 16 ms, max < 50 ms",
                              notes="4 ms timer on the GUI thread, offscreen platform"))
    return figures


def measure(*, quick: bool) -> CallResult:
    if quick:
        return asyncio.run(_measure(1, ((1280, 720),), 4.0))
    return asyncio.run(_measure(3, SIZES_FULL, 15.0))


async def _soak(minutes: float) -> Figure:
    from playwright.async_api import async_playwright

    need_chromium()

    hub = BenchHub()
    samples: list[float] = []

    async def sample(probe: WorkstationProbe, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            samples.append(probe.rss_mb)
            await asyncio.sleep(min(10.0, max(0.0, end - time.perf_counter())))
        samples.append(probe.rss_mb)

    try:
        async with async_playwright() as pw:
            patient = BenchBrowser(pw)
            await patient.start()
            try:
                await workstation_call(hub, patient, 1280, 720, minutes * 60, on_sample=sample)
            finally:
                await patient.close()
    finally:
        await hub.close()
    growth = [s - samples[0] for s in samples]
    return Figure(f"workstation memory growth over a {minutes:g}-minute 720p call", "MB",
                  growth, notes=f"RSS every 10 s from the end of the warm-up: "
                                f"{', '.join(f'{s:.0f}' for s in samples)} MB")


def soak(minutes: float) -> Figure:
    return asyncio.run(_soak(minutes))
