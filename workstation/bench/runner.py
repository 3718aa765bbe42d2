"""Runs the measurements, prints the table, writes JSON."""

from __future__ import annotations

import json
from pathlib import Path

from workstation.bench import hub_fanout, startup
from workstation.bench.stats import Figure, machine, table


def run(*, quick: bool, json_path: Path | None) -> int:
    figures: list[Figure] = []
    setups = [(20, 200)] if quick else [(20, 200), (50, 1000)]
    for providers, waiting in setups:
        print(f"Hub fan-out: {providers} providers, {waiting} waiting patients…", flush=True)
        result = hub_fanout.measure(providers=providers, waiting=waiting,
                                    measured=30 if quick else 100)
        figures += [result.latency, result.checkins_per_second, result.hub_rss_mb]
    print("Start-up and GUI responsiveness (a new workstation process per run)…", flush=True)
    started = startup.measure(runs=3 if quick else 7, work_seconds=6.0)
    figures += [started.startup, started.gui_lateness]
    print()
    print(table(figures))
    info = machine()
    print(f"\nMachine: {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    print("Not measured yet: call set-up, glass-to-glass latency, call CPU, GUI stalls during "
          "a call (they come with the video and benchmark work).")
    if json_path:
        json_path.write_text(json.dumps({"machine": info,
                                         "figures": [f.as_json() for f in figures]}, indent=2))
    return 0
