"""Runs the measurements, prints the table, writes JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

from workstation.bench import hub_fanout, startup
from workstation.bench.stats import Figure, machine, table

PARTS = ("hub", "slow-clients", "startup", "call", "demo")


def run(*, quick: bool, json_path: Path | None, soak_minutes: float | None = None,
        only: set[str] | None = None, app: str | None = None) -> int:
    """All the measurements (or ``only`` some); 1 when one of them produced no number."""
    wanted = only or set(PARTS)
    if "call" in wanted or soak_minutes:
        from workstation.bench import call

        call.need_chromium()  # said at once, not after minutes of other measurements
    figures: list[Figure] = []
    notes: list[str] = []
    if "hub" in wanted:
        setups = [(20, 200)] if quick else [(20, 200), (50, 1000)]
        for providers, waiting in setups:
            print(f"Hub fan-out: {providers} providers, {waiting} waiting patients…", flush=True)
            result = hub_fanout.measure(providers=providers, waiting=waiting,
                                        measured=30 if quick else 100)
            figures += [result.latency, result.checkins_per_second, result.hub_rss_mb]
    if "slow-clients" in wanted:
        from workstation.bench import slow_clients

        attackers = 300 if quick else 1000
        print(f"Slow clients: {attackers} half-sent requests held against the hub…", flush=True)
        slow = slow_clients.measure(attackers=attackers, requests=100 if quick else 300)
        figures += [slow.latency, slow.log_bytes]
    if "startup" in wanted:
        print("Start-up and GUI responsiveness (a new workstation process per run)…",
              flush=True)
        started = startup.measure(runs=3 if quick else 7, work_seconds=6.0, app=app)
        figures += [started.startup, started.startup_lateness, started.gui_lateness]
        if started.bundled is not None:
            figures.append(started.bundled)
    if "call" in wanted:
        from workstation.bench import call

        print("Video calls: the workstation and Chromium as the provider, a Chromium patient "
              "(a new workstation process per call)…", flush=True)
        calls = call.measure(quick=quick)
        figures += calls.figures
        notes += calls.notes
    if "demo" in wanted:
        from workstation.bench import demo_picture

        print("Demo: a simulated patient on screen after Start (a fresh demo day per run)…",
              flush=True)
        figures.append(demo_picture.measure(runs=3 if quick else 7))
    if soak_minutes:
        from workstation.bench import call

        print(f"Soak: a {soak_minutes:g}-minute call…", flush=True)
        figures.append(call.soak(soak_minutes))
    print()
    print(table(figures))
    info = machine()
    print(f"\nMachine: {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    missing = [f.name for f in figures if f.required and (
        math.isnan(f.median) or (f.baseline_name and math.isnan(f.baseline_median)))]
    for name in missing:
        print(f"No number for: {name}")
    if json_path:
        json_path.write_text(json.dumps({"machine": info, "notes": notes,
                                         "figures": [f.as_json() for f in figures]}, indent=2))
    return 1 if missing else 0
