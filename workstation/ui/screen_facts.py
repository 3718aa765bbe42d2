"""What Qt finds of the screen, for the readiness check (``workstation check``).

Starting Qt is the part of the check that can end the process: a platform plugin that cannot
load (no display, a missing xcb library) makes Qt abort. ``workstation.readiness.screen`` calls
this in a child process on Linux for that reason; here is only the Qt side.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtGui import QGuiApplication

# An application made here (on Windows and macOS, where the check runs in-process) lives until
# the process ends: Qt needs it alive while the screens are read, and the check exits soon.
_made: list[QGuiApplication] = []


@dataclass(frozen=True)
class ScreenInfo:
    name: str
    width: int  # device-independent pixels, as the window is laid out
    height: int
    scale: float  # device pixels per independent pixel


@dataclass(frozen=True)
class ScreenFacts:
    platform: str  # Qt's platform plugin: xcb, wayland, windows, cocoa, offscreen…
    screens: tuple[ScreenInfo, ...]  # the primary screen first


def screen_facts() -> ScreenFacts:
    """The platform and screens of the running Qt application, starting one if there is none.

    Call on the main thread.
    """
    facts = running_app_facts()
    if facts is not None:
        return facts
    _made.append(QGuiApplication([sys.argv[0] if sys.argv else "workstation"]))
    return _facts()


def qt_messages_to_stderr() -> None:
    """Qt's own handler for its messages: in a child forked from a process that installed
    another one (pytest-qt does), Qt's last words before an abort would go nowhere."""
    qInstallMessageHandler(None)


def running_app_facts() -> ScreenFacts | None:
    """The platform and screens of the Qt application running in this process, if any."""
    return _facts() if isinstance(QGuiApplication.instance(), QGuiApplication) else None


def _facts() -> ScreenFacts:
    primary = QGuiApplication.primaryScreen()
    screens = [primary] if primary is not None else []
    screens += [s for s in QGuiApplication.screens() if s is not primary]
    return ScreenFacts(
        QGuiApplication.platformName(),
        tuple(ScreenInfo(s.name(), s.size().width(), s.size().height(),
                         float(s.devicePixelRatio())) for s in screens))
