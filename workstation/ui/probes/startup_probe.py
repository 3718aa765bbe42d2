"""Start-up and GUI-responsiveness probe for ``workstation bench`` (run in a process of its own).

``python -m workstation.ui.probes.startup_probe bare``: a bare PySide6 window; prints ``PAINTED``
when its first paint is done (the baseline).

``python -m workstation.ui.probes.startup_probe workstation HUB_URL [WORK_SECONDS]``: the real app,
composed by ``workstation.app.run`` against a hub, signed in with a remembered token handed over
in ``WORKSTATION_BENCH_REFRESH_TOKEN`` (kept in an in-process keyring); prints ``PAINTED``
when the live queue has painted with its patients. With WORK_SECONDS, a 4 ms timer measures
how late the GUI thread answers: through the rest of the start-up (going live, loading the
media stack), printed as ``STARTUP_LATENESS <json list of ms>``, then through a provider's
normal work (claim, chart, typing, code search), printed as ``LATENESS <json list of ms>``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from workstation.bench.probe_env import FOLDER_ENV, TOKEN_ENV
from workstation.ui.widgets.first_paint import FirstPaint

TICK_MS = 4


def bare() -> int:
    app = QApplication(sys.argv)
    window = QMainWindow()
    window.setCentralWidget(QLabel("Workstation"))
    window.resize(1366, 768)
    def painted() -> None:
        print("PAINTED", flush=True)
        app.quit()

    probe = FirstPaint(lambda w: w is window, painted)
    window.installEventFilter(probe)  # on the window only: an app-wide filter slows Qt down
    window.show()
    return app.exec()


class Lateness(QObject):
    """A fast timer; how late each tick comes is how long the GUI thread was busy."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.samples.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


def workstation(hub_url: str, work_seconds: float) -> int:
    from workstation.ui.shell.main_window import MainWindow

    qapp, folder = signed_in_qapp(hub_url)
    probes: list[FirstPaint] = []

    def watch_queue() -> None:
        # Runs in the first turn of the event loop, after the window is built and shown; the
        # queue paints its patients much later (after the hub answers), so nothing is missed.
        # The filter sits on the queue's viewport only: an app-wide one slows Qt down.
        window = next(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow))
        queue = window.queue_view
        probe = FirstPaint(lambda _w: window.showing_workspace and queue.model.rowCount() > 0,
                            lambda: painted(window))
        probes.append(probe)
        queue.table.viewport().installEventFilter(probe)

    def painted(window: MainWindow) -> None:
        print("PAINTED", flush=True)
        if work_seconds <= 0:
            qapp.exit(0)  # not quit(): that asks the window first, as a provider's quit does
            return
        _normal_work(window, work_seconds, qapp)

    QTimer.singleShot(0, watch_queue)
    return run_app(hub_url, folder)


def signed_in_qapp(hub_url: str) -> tuple[QApplication, Path]:
    """The QApplication of a probe run, and the run's folder (``WORKSTATION_BENCH_FOLDER``,
    which the bench removes after the process: Qt writes settings until its very end) for
    settings (QSettings) and data of this run only; the remembered sign-in from
    ``WORKSTATION_BENCH_REFRESH_TOKEN`` in an in-process keyring. Set up before the app so
    nothing reaches the user's own."""
    import keyring

    from workstation import app as workstation_app
    from workstation.storage.keystore import ProcessKeyring

    folder = Path(os.environ[FOLDER_ENV])
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
    keyring.set_keyring(ProcessKeyring())
    keyring.set_password(workstation_app.REFRESH_SERVICE, hub_url, os.environ[TOKEN_ENV])
    return QApplication(sys.argv), folder


def run_app(hub_url: str, folder: Path) -> int:
    """The real app against the hub, as ``workstation --hub-url`` runs it."""
    from workstation import app as workstation_app
    from workstation.core.site import SiteConfig

    return workstation_app.run(config=SiteConfig(), data_dir=folder / "data",
                               hub_url=hub_url, demo=False)


def _normal_work(window: object, seconds: float, qapp: QApplication) -> None:
    """Measure from the first paint: first the rest of the start-up (going live, loading the
    call's media stack), printed as ``STARTUP_LATENESS``; then, once the provider can claim
    and the app has finished starting, a provider's normal work (claim, chart, typing, code
    search), printed as ``LATENESS``."""
    lateness = Lateness()
    lateness.start()
    _when_ready(window, seconds, qapp, lateness)


def _ready(window: object) -> bool:
    from workstation.ui.call.call_pane import CallPane
    from workstation.ui.call.call_presenter import CallController
    from workstation.ui.shell.main_window import MainWindow

    assert isinstance(window, MainWindow)
    if not window.queue_view.claim_next_button.isEnabled():
        return False
    pane = window.chart_view.findChild(CallPane)
    call = pane.findChild(CallController) if pane is not None else None
    return call is not None and call.media_ready


def _when_ready(window: object, seconds: float, qapp: QApplication,
                lateness: Lateness) -> None:
    if _ready(window):
        print("STARTUP_LATENESS " + json.dumps([round(s, 3) for s in lateness.samples]),
              flush=True)
        lateness.samples.clear()
        _steps(window, seconds, qapp, lateness)
    else:
        QTimer.singleShot(20, lambda: _when_ready(window, seconds, qapp, lateness))


def _steps(window: object, seconds: float, qapp: QApplication, lateness: Lateness) -> None:
    from workstation.ui.shell.main_window import MainWindow

    assert isinstance(window, MainWindow)
    steps: list[tuple[int, Callable[[], None]]] = [
        (200, window.queue_view.claim_next_button.click),
        (2500, lambda: window.chart_view.tabs.setCurrentIndex(3)),
        (2700, lambda: window.chart_view.plan.edits["plan"].setPlainText(
            "Rest, fluids, honey for the cough.\n" * 20)),
        (3000, lambda: window.chart_view.tabs.setCurrentIndex(2)),
        (3200, lambda: window.chart_view.diagnosis.search_edit.setText("acute bronchitis")),
        (4200, lambda: window.chart_view.diagnosis.search_edit.setText("J20")),
        (4800, lambda: window.chart_view.tabs.setCurrentIndex(0)),
    ]
    for delay, step in steps:
        QTimer.singleShot(delay, step)

    def finish() -> None:
        print("LATENESS " + json.dumps([round(s, 3) for s in lateness.samples]), flush=True)
        # exit(), not quit(): quit() would ask about the unsigned chart the steps opened.
        qapp.exit(0)

    QTimer.singleShot(int(seconds * 1000), finish)


if __name__ == "__main__":
    if sys.argv[1] == "bare":
        sys.exit(bare())
    sys.exit(workstation(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
