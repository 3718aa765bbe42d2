"""The screen check: can Qt start here, on which platform, with what screen.

Qt aborts the whole process when its platform plugin cannot start (no display, a missing xcb
library), so on Linux and the BSDs Qt is started in a forked child: if it aborts, the child's
last words (Qt's own message) become the check's message and the other checks still run. A
fork, not a new interpreter: in the installed (PyInstaller) app ``sys.executable`` is the app
itself. On Windows and macOS (no fork; their platform plugins ship inside PySide6) Qt starts
in this process, as it does when a Qt application is running already.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from workstation.readiness.runner import Finding

TIMEOUT_S = 10.0
# The smallest screen the window is laid out and tested for (tests/ui/test_screenshots.py).
MIN_WIDTH, MIN_HEIGHT = 1366, 768
DESKTOP_FIX = ("Run the check in the clinic PC's desktop session, signed in as the provider "
               "will be (not over SSH, not as a service).")
NOT_SHOWN = ("offscreen", "minimal", "minimalegl", "vnc", "linuxfb")


def check_screen(timeout_s: float = TIMEOUT_S) -> Finding:
    """The running Qt application's screen if there is one, else Qt started afresh."""
    running = _facts_of_running_app()
    if running is not None:
        return finding_from(running)
    return start_qt_and_check(timeout_s)


def start_qt_and_check(timeout_s: float = TIMEOUT_S) -> Finding:
    """Start Qt afresh (in a child where that is possible) and judge what it finds."""
    no_display = _no_display()
    if no_display is not None:
        return no_display
    if _forks_safely():
        return screen_in_child(timeout_s)
    from workstation.ui.screen_facts import screen_facts

    return finding_from(asdict(screen_facts()))


def finding_from(facts: Mapping[str, Any]) -> Finding:
    platform = str(facts["platform"])
    screens = list(facts["screens"])
    if platform in NOT_SHOWN:
        return Finding("warn", f"Qt runs on its {platform!r} platform: nothing is shown on a "
                               "real screen here (QT_QPA_PLATFORM="
                               f"{os.environ.get('QT_QPA_PLATFORM', '')}).", DESKTOP_FIX)
    if not screens:
        return Finding("fail", f"Qt started ({platform}) but finds no screen.",
                       "Connect and switch on a monitor, then run the check again.")
    first = screens[0]
    size = f"{first['width']}×{first['height']}"
    scale = f" at {first['scale']:g}× scale" if first["scale"] != 1 else ""
    others = f", and {len(screens) - 1} more" if len(screens) > 1 else ""
    message = f"Qt platform {platform}: screen {first['name']!r}, {size}{scale}{others}."
    if first["width"] < MIN_WIDTH or first["height"] < MIN_HEIGHT:
        return Finding("warn", f"{message} The workstation is laid out for "
                               f"{MIN_WIDTH}×{MIN_HEIGHT} or more: smaller, parts of the "
                               "queue and chart may be cut off.",
                       "Use a larger screen or a higher resolution (or a lower scale factor) "
                       "in the display settings.")
    return Finding("pass", message)


def screen_in_child(timeout_s: float = TIMEOUT_S) -> Finding:
    """Start Qt in a forked child and read what it found; a crash or a hang there is a
    failure here."""
    result_r, result_w = os.pipe()
    said_r, said_w = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about fork() with threads running. The child only starts Qt and
        # exits; should it hang on a lock another thread held, the timeout below ends it.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(result_r, result_w, said_r, said_w)
    os.close(result_w)
    os.close(said_w)
    outputs = _read_until_closed({result_r: bytearray(), said_r: bytearray()},
                                 time.monotonic() + timeout_s)
    timed_out = outputs is None
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return Finding("fail", f"Qt did not start within {timeout_s:.0f} s.",
                       "Check that the display (DISPLAY or WAYLAND_DISPLAY) answers; "
                       + DESKTOP_FIX)
    assert outputs is not None
    answer, said = bytes(outputs[result_r]), bytes(outputs[said_r])
    if answer:
        facts = json.loads(answer)
        if "error" not in facts:
            return finding_from(facts)
        return Finding("fail", f"Qt could not start: {facts['error']}",
                       "Reinstall the workstation.")
    words = _qt_words(said)
    if "could not connect to display" in words:
        return Finding("fail", f"Qt could not connect to the display "
                               f"{os.environ.get('DISPLAY', '')!r}: no X server answers there.",
                       DESKTOP_FIX)
    how = (signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status)
           else f"exit code {os.WEXITSTATUS(status)}")
    return Finding("fail", f"Qt could not start ({how}): {words}",
                   "On Linux, Qt needs a display and its X11 libraries (Debian: libxcb-cursor0 "
                   "libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                   "libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libegl1). "
                   + DESKTOP_FIX)


def _child(result_r: int, result_w: int, said_r: int, said_w: int) -> None:
    code = 1
    try:
        import faulthandler
        import resource

        faulthandler.disable()  # Qt's abort is expected here: no traceback dump
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # and no core file
        os.close(result_r)
        os.close(said_r)
        os.dup2(said_w, 2)  # Qt's messages, to report if it aborts
        try:
            from workstation.ui.screen_facts import qt_messages_to_stderr, screen_facts

            qt_messages_to_stderr()
            answer: dict[str, Any] = asdict(screen_facts())
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(result_w, json.dumps(answer).encode())
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def _read_until_closed(outputs: dict[int, bytearray],
                       deadline: float) -> dict[int, bytearray] | None:
    """Everything written to these pipes until they close; None if the deadline comes first."""
    open_fds = set(outputs)
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    outputs[fd] += chunk
                else:
                    open_fds.discard(fd)
        return outputs
    finally:
        for fd in outputs:
            os.close(fd)


def _qt_words(said: bytes) -> str:
    """Qt's first lines, without their logging categories ("qt.qpa.xcb: …")."""
    lines = [line.strip() for line in said.decode(errors="replace").splitlines() if line.strip()]
    lines = [re.sub(r"^qt(\.\w+)+: ", "", line) for line in lines[:2]]
    return " ".join(lines)[:400] or "it said nothing."


def _no_display() -> Finding | None:
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    if any(os.environ.get(name) for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")):
        return None
    return Finding("fail", "This session has no display: neither DISPLAY (X11) nor "
                           "WAYLAND_DISPLAY is set, so no window can open.", DESKTOP_FIX)


def _forks_safely() -> bool:
    # macOS has fork(), but its system frameworks refuse to run in a forked child.
    return hasattr(os, "fork") and sys.platform != "darwin"


def _facts_of_running_app() -> dict[str, Any] | None:
    """When a Qt application runs in this process already (the workstation's own window, the
    tests), its platform is the one to report; PySide6 is not loaded just to ask."""
    if "PySide6.QtGui" not in sys.modules:
        return None
    from workstation.ui.screen_facts import running_app_facts

    facts = running_app_facts()
    return None if facts is None else asdict(facts)
