"""Call probe for ``workstation bench``: the real app, in a process of its own, calling a patient
whose browser the benchmark drives.

``python -m workstation.ui.probes.call_probe HUB_URL WIDTH HEIGHT``, signed in with a
remembered token in ``WORKSTATION_BENCH_REFRESH_TOKEN`` (kept in an in-process keyring), with
the test pattern (WIDTH×HEIGHT, 30 fps) and tone as camera and microphone (settings and data in
the run's folder, ``WORKSTATION_BENCH_FOLDER``). It claims the next patient and prints
``CLAIMED`` once the chart's call pane is ready, then follows commands on stdin, one a line:

- ``START``: clicks "Start video visit"; prints ``FIRST_FRAME <ms>`` once the first remote
  frame has painted (milliseconds from the click).
- ``SIZE``: prints ``SIZE <width> <height>`` of the remote video as received (0 0 before).
- ``RESET``: starts the measured window.
- ``COLLECT``: prints ``RESULT <json>`` for the window: the age of every remote frame painted
  (its time code read back from the screen image, on the machine's shared clock), frames
  decoded and painted, the process's CPU seconds and wall seconds, peak memory, and how late
  a 4 ms timer on the GUI thread came.
- ``END``: ends the visit and quits.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from workstation.ui.probes.startup_probe import Lateness, run_app, signed_in_qapp
from workstation.ui.widgets.first_paint import FirstPaint


def read_screen_code(image: QImage, sent_width: int) -> int | None:
    """The test pattern's time code from a painted RGB image (see devices/synthetic.py)."""
    from workstation.devices.synthetic import BLOCK, CODE_BITS, code_from_levels

    block = BLOCK * image.width() / sent_width
    if image.width() < CODE_BITS * block - 1 or image.height() < 2 * block:
        return None
    y = int(block * 1.5)
    levels = []
    for i in range(CODE_BITS):
        x = int((i + 0.5) * block)
        levels.append(sum(image.pixelColor(x + dx, y + dy).green()
                          for dx in (-1, 0, 1) for dy in (-1, 0, 1)) / 9)
    return code_from_levels(levels, 128)


class _Commands(QObject):
    """Lines from stdin, handed to the GUI thread."""

    line = Signal(str)

    def start(self) -> None:
        def read() -> None:
            for text in sys.stdin:
                self.line.emit(text.strip())
            self.line.emit("END")

        threading.Thread(target=read, daemon=True).start()


MAX_AGE_MS = 10_000  # older than this (or "negative", wrapped round), a time code was misread


class _Screen(QObject):
    """Watches the remote picture's paints: each newly painted frame's age."""

    def __init__(self, view: Any, sent_width: int) -> None:
        super().__init__()
        self._view = view
        self._sent_width = sent_width
        self._seen = 0
        self.ages: list[float] = []
        self.unreadable = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() is QEvent.Type.Paint and self._view.frames_shown != self._seen:
            self._seen = self._view.frames_shown
            image = self._view.image
            code = None if image is None else read_screen_code(image, self._sent_width)
            from workstation.devices.synthetic import age_ms

            age = None if code is None else age_ms(code)
            if age is None or age > MAX_AGE_MS:  # no code, or a misread one (in the future)
                self.unreadable += 1
            else:
                self.ages.append(age)
        return False


class Probe(QObject):
    def __init__(self, qapp: QApplication, width: int, height: int) -> None:
        super().__init__()
        self.qapp = qapp
        self.size = (width, height)
        self.window: Any = None
        self.pane: Any = None
        self.call: Any = None
        self.screen: _Screen | None = None
        self.lateness = Lateness()
        self.clicked_at = 0.0
        self._paint: FirstPaint | None = None
        self._window_start = (0.0, 0.0, 0, 0)
        self.commands = _Commands()
        self.commands.line.connect(self.command)

    def find_window(self) -> None:
        from workstation.devices import SYNTHETIC
        from workstation.ui.call.device_check import KINDS, SETTINGS_CHOICE, SETTINGS_DONE
        from workstation.ui.shell.main_window import MainWindow

        settings = QSettings()
        settings.setValue(SETTINGS_DONE, True)
        for kind in KINDS:
            settings.setValue(SETTINGS_CHOICE.format(kind=kind), SYNTHETIC)
        self.window = next(w for w in self.qapp.topLevelWidgets() if isinstance(w, MainWindow))
        self.when(lambda: self.window.queue_view.claim_next_button.isEnabled()
                  and self.window.queue_view.model.rowCount() > 0, self.claim)

    def when(self, ready: Any, then: Any) -> None:
        if ready():
            then()
        else:
            QTimer.singleShot(20, lambda: self.when(ready, then))

    def claim(self) -> None:
        from workstation.ui.call.call_pane import CallPane
        from workstation.ui.call.call_presenter import CallController

        self.window.queue_view.claim_next_button.click()
        self.pane = self.window.chart_view.findChild(CallPane)
        self.call = self.pane.findChild(CallController)
        self.call.synthetic_size = self.size
        self.when(lambda: self.pane.isVisible() and self.call.media_ready
                  and self.pane.start_button.isEnabled(), self.claimed)

    def claimed(self) -> None:
        self.screen = _Screen(self.pane.remote_view, self.size[0])
        self.pane.remote_view.installEventFilter(self.screen)
        self._paint = FirstPaint(lambda w: w.image is not None,  # type: ignore[attr-defined]
                                 self.first_frame)
        self.pane.remote_view.installEventFilter(self._paint)
        print("CLAIMED", flush=True)
        self.commands.start()

    def first_frame(self) -> None:
        print(f"FIRST_FRAME {(time.perf_counter() - self.clicked_at) * 1000:.1f}", flush=True)

    def command(self, text: str) -> None:
        if text == "START":
            self.clicked_at = time.perf_counter()
            self.pane.start_button.click()
        elif text == "SIZE":
            size = self.pane.remote_view.frame_size
            print(f"SIZE {size[0]} {size[1]}", flush=True)
        elif text == "RESET":
            assert self.screen is not None
            self.screen.ages.clear()
            self.screen.unreadable = 0
            view = self.pane.remote_view
            self._window_start = (time.perf_counter(), time.process_time(),
                                  view.frames_offered, view.frames_shown)
            self.lateness.samples.clear()
            self.lateness.start()
        elif text == "COLLECT":
            print("RESULT " + json.dumps(self.result()), flush=True)
        elif text == "END":
            if self.call is not None:
                self.call.end()
            # exit(), not quit(): quit() would ask about the visit's unsigned chart.
            QTimer.singleShot(500, lambda: self.qapp.exit(0))

    def result(self) -> dict[str, Any]:
        assert self.screen is not None
        wall0, cpu0, offered0, shown0 = self._window_start
        view = self.pane.remote_view
        return {
            "wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
            "decoded": view.frames_offered - offered0, "painted": view.frames_shown - shown0,
            "ages_ms": self.screen.ages, "unreadable": self.screen.unreadable,
            "received_size": list(view.frame_size),
            "shown_size": [view.image.width(), view.image.height()] if view.image else None,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "lateness_ms": [round(s, 3) for s in self.lateness.samples],
        }


def main(hub_url: str, width: int, height: int) -> int:
    qapp, folder = signed_in_qapp(hub_url)
    probe = Probe(qapp, width, height)
    QTimer.singleShot(0, probe.find_window)
    return run_app(hub_url, folder)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
