"""Noticing that nobody has touched the workstation for a while, so the window can lock."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

# Input a person makes. Release events are left out: every release follows a press.
_INPUT_EVENTS = frozenset({
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseMove,
    QEvent.Type.KeyPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress,
    QEvent.Type.TabletMove,
    QEvent.Type.NativeGesture,
})


class InactivityMonitor(QObject):
    """Emits :attr:`timed_out` once no one has used the mouse, keyboard, wheel, touch screen or
    pen anywhere in the application for ``timeout_ms``.

    While running it watches every event of the application through an event filter, so the
    filter only notes the time of the input: a mouse move arrives many times a second (and once
    per widget it passes through), and restarting a timer on each would cost more than reading
    the clock. The single-shot timer runs out at the earliest possible deadline and, if input came
    meanwhile, is armed again for what is left; the timeout is therefore exact without touching
    the timer per event.

    Only spontaneous events count (those from the window system, or from QTest standing in for
    it). Qt itself sends a synthetic mouse move when a widget appears or disappears under a
    still pointer; a queue that updates under an unattended mouse must not keep the workstation
    unlocked.

    After :attr:`timed_out` the monitor stops; call :meth:`start` again once the provider is
    back (after unlocking), so a locked screen does not time out over and over.

    Signals:
        timed_out(): ``timeout_ms`` passed without input while running.
    """

    timed_out = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timeout_ms = _checked(timeout_ms)
        self._last_input = time.monotonic()
        self._running = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    @property
    def is_running(self) -> bool:
        return self._running

    def set_timeout(self, ms: int) -> None:
        """Change the idle time allowed; when running, counted from the last input."""
        self._timeout_ms = _checked(ms)
        if self._running:
            self._arm()

    def start(self) -> None:
        """Start watching the application's input; the idle time counts from now."""
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("InactivityMonitor needs a running QApplication.")
        self._last_input = time.monotonic()
        if not self._running:
            app.installEventFilter(self)
            self._running = True
        self._arm()

    def stop(self) -> None:
        """Stop watching; :attr:`timed_out` is not emitted until :meth:`start` is called."""
        self._timer.stop()
        if self._running:
            app = QCoreApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            self._running = False

    def poke(self) -> None:
        """Count as input something the provider does that the application does not see as an
        event (for example speaking in a call)."""
        self._last_input = time.monotonic()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        # Runs for every event of the application: keep it to a set lookup and a clock read.
        if event.type() in _INPUT_EVENTS and event.spontaneous():
            self._last_input = time.monotonic()
        return False

    # -- slots ----------------------------------------------------------------------------

    def _on_timer_timeout(self) -> None:
        if not self._running:
            return
        if self._remaining_ms() > 0:
            self._arm()  # input came since the timer was armed
            return
        self.stop()
        self.timed_out.emit()

    def _remaining_ms(self) -> int:
        idle_ms = (time.monotonic() - self._last_input) * 1000
        return max(0, round(self._timeout_ms - idle_ms))

    def _arm(self) -> None:
        # A coarse timer may fire a little early; _on_timer_timeout then arms it for the rest.
        self._timer.start(max(1, self._remaining_ms()))


def _checked(ms: int) -> int:
    if ms <= 0:
        raise ValueError(f"The inactivity timeout must be positive, not {ms} ms.")
    return ms
