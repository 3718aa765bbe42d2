"""A quick run of ``workstation bench``, as a user runs it: every measurement must produce a
number (and its baseline, where it has one). No timing is judged here: the figures are for
the README and for IT, read by people, not asserted."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

EXPECTED = (
    "hub push check-in->provider",
    "cold start to the live queue painted",
    "GUI-thread lateness during normal work",
    "call set-up 1280x720",
    "glass-to-glass 1280x720, patient -> provider",
    "glass-to-glass 1280x720, provider -> patient",
    "received frame rate at the provider 1280x720",
    "provider-side CPU during a two-way 1280x720 call",
    "GUI-thread lateness during a 1280x720 call",
    "Demo: simulated patient's name on screen after Start",
)


def test_a_quick_bench_run_gives_every_figure_a_number(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-m", "workstation", "bench", "--quick",
                          "--json", str(out)], env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(out.read_text())["figures"]
    names = [f["name"] for f in figures]
    for expected in EXPECTED:
        assert any(name.startswith(expected) for name in names), (expected, names)
    for figure in figures:
        if not figure["required"]:
            continue
        assert figure["count"] > 0 and not math.isnan(figure["median"]), figure
        if figure["baseline_name"]:
            assert not math.isnan(figure["baseline_median"]), figure
    print(run.stdout)  # the table, in the test log
