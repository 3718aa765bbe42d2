"""Run something once a widget has first painted what a condition asks for."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer


class FirstPaint(QObject):
    """Calls ``done`` once, right after the first paint of a watched widget that ``ready``
    accepts. Install it on the widget itself: an app-wide event filter slows Qt down."""

    def __init__(self, ready: Callable[[QObject], bool], done: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ready = ready
        self._done = done
        self._fired = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if not self._fired and event.type() is QEvent.Type.Paint and self._ready(watched):
            self._fired = True
            QTimer.singleShot(0, self._done)  # after this paint has finished
        return False
