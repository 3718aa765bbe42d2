"""Every window and dialog of the demo says it is the demo, in its title."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

from workstation.core.demo import BANNER

PREFIX = f"{BANNER} · "


class DemoMark(QObject):
    """Installed on the application: a top-level window or dialog shown, or retitled, gets
    "DEMO — not for clinical use" at the front of its title (message boxes and file dialogs
    included, whoever made them)."""

    def __init__(self, app: QApplication, window: QWidget) -> None:
        super().__init__(window)  # gone with the demo's window, and its filter with it
        app.installEventFilter(self)
        for widget in app.topLevelWidgets():
            mark(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() in (QEvent.Type.Show, QEvent.Type.WindowTitleChange) \
                and isinstance(watched, QWidget) and watched.isWindow():
            mark(watched)
        return False


def mark(widget: QWidget) -> None:
    title = widget.windowTitle()
    if not title.startswith(PREFIX):
        widget.setWindowTitle(PREFIX + title if title else BANNER)
