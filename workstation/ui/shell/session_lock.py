"""Locking the workstation: after the site's idle time, or on Ctrl+L; the password unlocks.

The lock hides every patient view (the window shows only the lock screen); drafts are saved
first; a call in progress keeps its audio. Unlocking asks the hub, which audits each attempt.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from workstation.client.hub_answers import HubError
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.session.inactivity import InactivityMonitor
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.error_text import describe


class SessionLock(QObject):
    """Signals:
        locked(): the window now shows only the lock screen.
        unlocked(): the provider is back in the workspace.
    """

    locked = Signal()
    unlocked = Signal()

    def __init__(self, bridge: AsyncBridge, window: MainWindow, session: ProviderController,
                 chart: ChartController, *, lock_minutes: int = 10,
                 idle_ms: int | None = None) -> None:
        super().__init__(window)
        self._bridge = bridge
        self._window = window
        self._session = session
        self._chart = chart
        self._monitor = InactivityMonitor(idle_ms or lock_minutes * 60_000, self)
        self._view = window.lock_view
        self._generation = 0

        self._monitor.timed_out.connect(self.lock)
        window.lock_requested.connect(self.lock)
        session.signed_in.connect(lambda *_args: self._monitor.start())
        session.signed_out.connect(self._on_signed_out)
        self._view.unlock_requested.connect(self._on_unlock_requested)
        self._view.sign_out_requested.connect(self._on_sign_out_requested)

    @property
    def is_locked(self) -> bool:
        return self._window.showing_lock

    @property
    def monitor(self) -> InactivityMonitor:
        return self._monitor

    def lock(self) -> None:
        session = self._session.session
        if session is None or self.is_locked:
            return
        self._monitor.stop()
        self._chart.flush()
        self._window.show_lock(session.provider.display_name)
        self.locked.emit()

    def _on_unlock_requested(self, password: str) -> None:
        client = self._session.client
        session = self._session.session
        if client is None or session is None:
            return
        self._view.set_busy(True)
        generation = self._generation
        def unlocked(_result: None) -> None:
            if generation != self._generation or self._session.session is None:
                return
            self._view.set_busy(False)
            self._window.show_workspace(self._session.session.provider.display_name)
            if self._chart.visit_id is not None:
                self._window.show_chart()
            self._monitor.start()
            self.unlocked.emit()

        def refused(error: BaseException) -> None:
            if generation != self._generation:
                return
            if isinstance(error, HubError) and error.code == "bad_credentials":
                self._view.show_error(self.tr("That password is not right. Try again."))
            else:
                self._view.show_error(describe(error))

        self._bridge.submit(client.verify_password(password), unlocked, refused)

    def _on_sign_out_requested(self) -> None:
        self._session.sign_out()

    def _on_signed_out(self) -> None:
        self._generation += 1
        self._monitor.stop()
        self._view.set_busy(False)
