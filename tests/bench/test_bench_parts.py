"""The benchmark's own parts: ratios, reading the time code off the screen, other processes'
CPU and memory."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest
from PySide6.QtGui import QImage

from workstation.bench import processes
from workstation.bench.stats import Figure, table
from workstation.devices.synthetic import TestPattern
from workstation.ui.probes.call_probe import read_screen_code


def test_a_latency_figure_compares_p95_with_its_baseline() -> None:
    figure = Figure("glass-to-glass", "ms", [10.0] * 19 + [100.0], "Chromium",
                    [20.0] * 20, compare="p95")
    assert figure.p95 == 10.0 and figure.baseline_p95 == 20.0
    assert figure.ratio == 0.5
    assert "20.00 p95 (Chromium)" in table([figure])
    median = Figure("set-up", "ms", [300.0, 310.0, 320.0], "Chromium", [200.0, 200.0, 200.0])
    assert median.ratio == pytest.approx(1.55)


def test_a_figure_without_samples_has_no_number() -> None:
    assert math.isnan(Figure("empty", "ms", []).median)


def _screen_image(frame_width: int, shown_width: int, stamp: int) -> QImage:
    frame = TestPattern(frame_width, frame_width * 9 // 16).frame(stamp)
    rgb = frame.reformat(width=shown_width, height=shown_width * 9 // 16, format="rgb24")
    data = rgb.to_ndarray().tobytes()
    image = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return image.copy()  # owns its pixels


@pytest.mark.parametrize("shown_width", [1280, 960, 640])
def test_the_time_code_reads_back_from_the_painted_picture(shown_width: int) -> None:
    assert read_screen_code(_screen_image(1280, shown_width, 123_456_789), 1280) == 123_456_789


def test_a_picture_without_a_time_code_reads_as_none() -> None:
    blank = QImage(1280, 720, QImage.Format.Format_RGB888)
    blank.fill(0x202020)
    assert read_screen_code(blank, 1280) is None


def test_cpu_and_memory_of_a_process_tree_are_counted() -> None:
    busy = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", busy])
    try:
        time.sleep(1.0)
        members = processes.tree(os.getpid())
        assert child.pid in members
        used = processes.usage({child.pid})
        assert used.cpu_s > 0.3  # a busy loop for a second
        assert used.rss_mb > 1
    finally:
        child.wait()
    assert processes.usage({child.pid}).cpu_s == 0.0  # gone: nothing counted


def test_without_chromium_the_bench_says_so_before_measuring_anything(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from workstation import cli
    from workstation.bench import call, hub_fanout

    def measured(**_kwargs: object) -> None:
        raise AssertionError("a measurement ran before Chromium was checked")

    monkeypatch.setattr(call, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(hub_fanout, "measure", measured)
    monkeypatch.setattr(call, "measure", measured)
    assert cli.main(["bench", "--quick"]) == 1  # every part: the hub's would come first
    assert "need Debian's Chromium at /nonexistent/chromium" in capsys.readouterr().err
