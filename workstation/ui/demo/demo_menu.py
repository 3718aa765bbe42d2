"""The trainer's Demo menu: start a scenario, pause, speed, add a patient now, open a
patient's page, reset; and a line in the status bar saying where the scenario stands.

The demo itself (:class:`~workstation.demo.session.DemoSession`) runs on the asyncio thread;
the menu reads its clock and asks it for changes through the bridge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from workstation.ui.widgets.bridge import AsyncBridge

if TYPE_CHECKING:
    from workstation.demo.session import DemoSession

SPEEDS = (1.0, 2.0, 5.0)


class DemoMenu(QObject):
    """Signals:
        happened(str, str): something happened in the demo (patient name, what), for the log.
        resetting(): a reset is about to start (the app ends the call and signs out).
        reset_done(str): the demo's hub is back, at this address, at the scenario's start.
        failed(str): a reset or scenario could not be started; the running day goes on.
    """

    happened = Signal(str, str)
    resetting = Signal()
    reset_done = Signal(str)
    failed = Signal(str)

    def __init__(self, bridge: AsyncBridge, session: DemoSession,
                 scenarios: Sequence[tuple[Path, str]], parent: QWidget,
                 open_url: Callable[[QUrl], object] = QDesktopServices.openUrl) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._session = session
        self._open_url = open_url
        self.menu = QMenu(self.tr("&Demo"), parent)
        self.scenario_menu = self.menu.addMenu(self.tr("&Start a scenario"))
        group = QActionGroup(self)
        self.scenario_actions: dict[str, QAction] = {}
        for path, title in scenarios:
            action = QAction(title, self, checkable=True)
            action.setChecked(path.stem == session.scenario.name)
            action.triggered.connect(lambda _c=False, p=path: self.start_scenario(p))
            group.addAction(action)
            self.scenario_menu.addAction(action)
            self.scenario_actions[path.stem] = action
        self.pause_action = QAction(self.tr("&Pause"), self, checkable=True)
        self.pause_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.pause_action.toggled.connect(self._on_pause_toggled)
        self.menu.addAction(self.pause_action)
        self.speed_menu = self.menu.addMenu(self.tr("S&peed"))
        speeds = QActionGroup(self)
        self.speed_actions: dict[float, QAction] = {}
        for speed in SPEEDS:
            action = QAction(f"×{speed:g}", self, checkable=True)
            action.setChecked(speed == session.speed)
            action.triggered.connect(lambda _c=False, s=speed: self.set_speed(s))
            speeds.addAction(action)
            self.speed_menu.addAction(action)
            self.speed_actions[speed] = action
        self.add_action = QAction(self.tr("&Add a patient now"), self)
        self.add_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.add_action.triggered.connect(self.add_patient_now)
        self.menu.addAction(self.add_action)
        self.pages_menu = self.menu.addMenu(self.tr("&Open a patient's page"))
        self.pages_menu.aboutToShow.connect(self._fill_pages_menu)
        self.menu.addSeparator()
        self.reset_action = QAction(self.tr("&Reset to the start"), self)
        self.reset_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.reset_action.triggered.connect(lambda: self.start_scenario(None))
        self.menu.addAction(self.reset_action)
        self.status_label = QLabel()
        self.status_label.setAccessibleName(self.tr("Demo scenario"))
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.update_status)
        self._timer.start(1000)
        self._busy = False
        self.update_status()

    # -- the trainer's controls -----------------------------------------------------------

    def start_scenario(self, path: Path | None) -> None:
        """Reset to the start of the current scenario (None) or of another one."""
        if self._busy:
            return
        self._busy = True
        self._set_enabled(False)
        self.resetting.emit()
        self.status_label.setText(self.tr("Demo: starting over…"))

        def done(hub: object) -> None:
            self._busy = False
            self._set_enabled(True)
            self.pause_action.setChecked(False)
            action = self.scenario_actions.get(self._session.scenario.name)
            if action is not None:
                action.setChecked(True)
            self.update_status()
            self.reset_done.emit(str(getattr(hub, "url", "")))

        def failed(error: BaseException) -> None:
            self._busy = False
            self._set_enabled(True)
            action = self.scenario_actions.get(self._session.scenario.name)
            if action is not None:
                action.setChecked(True)
            self.update_status()
            self.failed.emit(str(error))

        self._bridge.submit(self._session.reset(path), done, failed)

    def _set_enabled(self, on: bool) -> None:
        for action in (self.pause_action, self.add_action, self.reset_action,
                       *self.scenario_actions.values(), *self.speed_actions.values()):
            action.setEnabled(on)

    def _on_pause_toggled(self, paused: bool) -> None:
        day = self._session.day
        if day is not None:
            self._bridge.submit(_call(day.pause if paused else day.resume))
        self.update_status()

    def set_speed(self, speed: float) -> None:
        self._bridge.submit(_call(lambda: self._session.set_speed(speed)))
        self.speed_actions[speed].setChecked(True)
        QTimer.singleShot(0, self.update_status)

    def add_patient_now(self) -> None:
        day = self._session.day
        if day is None:
            return

        def added(patient: object) -> None:
            name = getattr(patient, "name", None)
            self.happened.emit(name or self.tr("Demo"),
                            self.tr("arrives now") if name else
                            self.tr("everyone in the scenario has arrived"))
            self.update_status()

        self._bridge.submit(_call(day.add_patient_now), added)

    def patient_pages(self) -> list[tuple[str, str]]:
        """(label, address) of each patient page a trainer may open to play the patient."""
        hub, day = self._session.hub, self._session.day
        if hub is None or day is None:
            return []
        pages = [(arrival.patient.name, f"{hub.url}/v/{arrival.token}")
                 for arrival in day.arrivals.values() if arrival.token]
        pages.append((self.tr("A new patient: the check-in page"), f"{hub.url}/checkin"))
        return pages

    def _fill_pages_menu(self) -> None:
        self.pages_menu.clear()
        for label, url in self.patient_pages():
            action = self.pages_menu.addAction(label)
            action.triggered.connect(lambda _c=False, u=url: self._open_url(QUrl(u)))

    # -- where the scenario stands -----------------------------------------------------------

    def update_status(self) -> None:
        if self._busy:
            return
        day = self._session.day
        title = self._session.scenario.title
        if day is None:
            self.status_label.setText(self.tr("Demo: %1").replace("%1", title))
            return
        minute = int(day.minute)
        parts = [self.tr("Demo: %1").replace("%1", title),
                 self.tr("minute %1").replace("%1", str(minute)),
                 f"×{self._session.speed:g}"]
        upcoming = day.next_patient()
        if upcoming is not None and upcoming.arrives_at_minute is not None:
            parts.append(self.tr("next arrival at minute %1").replace(
                "%1", f"{upcoming.arrives_at_minute:g}"))
        else:
            parts.append(self.tr("everyone has arrived"))
        if day.paused:
            parts.append(self.tr("paused"))
        self.status_label.setText(" · ".join(parts))


async def _call(work: Callable[[], object]) -> object:
    """Run ``work`` on the asyncio thread (the demo's state lives there)."""
    await asyncio.sleep(0)
    return work()
