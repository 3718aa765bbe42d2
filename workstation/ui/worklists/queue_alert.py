"""Telling a provider who is looking elsewhere that a patient joined the queue."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

from workstation.core.queue import QueueEntry


class QueueAlert(QObject):
    """A tray message (where the desktop has a tray) and a taskbar alert for a new patient.

    Desktops without a system tray, and the offscreen platform of the tests, get the taskbar
    alert only; nothing here may fail for want of a tray. The message names no patient: the
    tray can be seen by anyone near the screen.
    """

    def __init__(self, window: QWidget, *, sound: bool = True,
                 during_calls: bool = False) -> None:
        super().__init__(window)
        self._window = window
        self._sound = sound
        self._during_calls = during_calls
        self._in_call = False
        self.given = 0  # alerts given so far
        self._tray: QSystemTrayIcon | None = None

    @property
    def tray(self) -> QSystemTrayIcon | None:
        return self._tray

    def set_signed_in(self, signed_in: bool) -> None:
        """Show the tray icon only while a provider is signed in (and so may get patients)."""
        if signed_in and self._tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(self._icon(), self)
            self._tray.setToolTip(self.tr("Workstation"))
        if self._tray is not None:
            self._tray.setVisible(signed_in)

    def set_in_call(self, in_call: bool) -> None:
        """On a video call, no sound and no tray message (unless the site wants them): the
        badge count on the window still grows."""
        self._in_call = in_call

    def patient_joined(self, entry: QueueEntry, waiting: int) -> bool:
        """Alert for a new patient; False when held back because the provider is on a call."""
        if self._in_call and not self._during_calls:
            return False
        if self._tray is not None and self._tray.isVisible():
            kind = self.tr("E-Visit") if entry.e_visit else self.tr("Video visit")
            # The hub's condition name goes in last, so nothing in it is taken for a "%1".
            #: %1 is "E-Visit" or "Video visit", %2 the condition; %n how many wait.
            message = self.tr("%1: %2. %n waiting.", "", waiting).replace("%1", kind).replace(
                "%2", entry.condition_name)
            self._tray.showMessage(
                self.tr("New patient waiting"), message,
                QSystemTrayIcon.MessageIcon.Information, 8000)
        QApplication.alert(self._window)
        if self._sound:
            QApplication.beep()
        self.given += 1
        return True

    def _icon(self) -> QIcon:
        icon = self._window.windowIcon()
        if icon.isNull():
            icon = self._window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
        return icon
