"""The workstation notices when nobody has used it for a while, and not while someone does."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from workstation.ui.session.inactivity import InactivityMonitor

# Short enough for a quick test, long enough that a busy machine does not fire it between two
# steps of a test that keeps the application in use.
TIMEOUT_MS = 500
STEP_MS = 100
STEPS = 3 * TIMEOUT_MS // 2 // STEP_MS  # input all along, for one and a half timeouts


@pytest.fixture
def monitor(qapp: QApplication) -> Iterator[InactivityMonitor]:
    m = InactivityMonitor(TIMEOUT_MS)
    yield m
    m.stop()


@pytest.fixture
def edit(qtbot: QtBot) -> QLineEdit:
    e = QLineEdit()
    qtbot.addWidget(e)
    e.show()
    qtbot.waitExposed(e)
    return e


def test_times_out_after_the_idle_time(monitor: InactivityMonitor, qtbot: QtBot):
    monitor.set_timeout(150)
    started = time.monotonic()

    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        monitor.start()
        assert monitor.is_running

    assert time.monotonic() - started >= 0.145
    assert not monitor.is_running  # a locked screen does not time out again and again


def test_typing_postpones_the_timeout(monitor: InactivityMonitor, edit: QLineEdit,
                                      qtbot: QtBot):
    monitor.start()
    last_key = time.monotonic()

    with qtbot.assertNotEmitted(monitor.timed_out):
        for _ in range(STEPS):
            qtbot.wait(STEP_MS)
            last_key = time.monotonic()
            qtbot.keyClick(edit, Qt.Key.Key_A)

    assert edit.text() == "a" * STEPS  # the monitor takes no input away
    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        pass
    assert time.monotonic() - last_key >= (TIMEOUT_MS - 1) / 1000


def test_clicking_postpones_the_timeout(monitor: InactivityMonitor, qtbot: QtBot):
    button = QPushButton("Refresh")
    qtbot.addWidget(button)
    button.show()
    qtbot.waitExposed(button)
    clicks: list[bool] = []
    button.clicked.connect(lambda: clicks.append(True))
    monitor.start()

    with qtbot.assertNotEmitted(monitor.timed_out):
        for _ in range(STEPS):
            qtbot.wait(STEP_MS)
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert len(clicks) == STEPS
    assert monitor.is_running
    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        pass


def test_moving_the_mouse_postpones_the_timeout(monitor: InactivityMonitor, edit: QLineEdit,
                                                qtbot: QtBot):
    monitor.start()

    with qtbot.assertNotEmitted(monitor.timed_out):
        for step in range(STEPS):
            qtbot.wait(STEP_MS)
            qtbot.mouseMove(edit, QPoint(5 + step, 5))

    assert monitor.is_running


def test_a_move_qt_makes_up_itself_is_not_someone_at_the_desk(monitor: InactivityMonitor,
                                                               edit: QLineEdit, qtbot: QtBot):
    # Qt sends such a move when a widget appears under a still pointer (a queue updating).
    started = time.monotonic()
    monitor.start()

    with qtbot.waitSignal(monitor.timed_out, timeout=3000):
        for _ in range(3 * TIMEOUT_MS // STEP_MS):
            if not monitor.is_running:
                break
            qtbot.wait(STEP_MS)
            synthetic = QMouseEvent(QEvent.Type.MouseMove, QPointF(5, 5), QPointF(5, 5),
                                    Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                    Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(edit, synthetic)

    assert time.monotonic() - started < 2 * TIMEOUT_MS / 1000


def test_poke_counts_as_activity(monitor: InactivityMonitor, qtbot: QtBot):
    monitor.start()

    with qtbot.assertNotEmitted(monitor.timed_out):
        for _ in range(STEPS):
            qtbot.wait(STEP_MS)
            monitor.poke()

    assert monitor.is_running


def test_stop_prevents_the_timeout(monitor: InactivityMonitor, qtbot: QtBot):
    monitor.set_timeout(100)
    monitor.start()
    monitor.stop()

    with qtbot.assertNotEmitted(monitor.timed_out, wait=300):
        pass
    assert not monitor.is_running


def test_started_again_after_a_timeout_it_times_out_again(monitor: InactivityMonitor,
                                                          qtbot: QtBot):
    monitor.set_timeout(100)
    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        monitor.start()

    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        monitor.start()


def test_a_shorter_timeout_applies_at_once(monitor: InactivityMonitor, qtbot: QtBot):
    monitor.start()  # 500 ms
    started = time.monotonic()

    with qtbot.waitSignal(monitor.timed_out, timeout=2000):
        monitor.set_timeout(100)

    assert time.monotonic() - started < TIMEOUT_MS / 1000


def test_a_timeout_must_be_positive(qapp: QApplication):
    with pytest.raises(ValueError, match="positive"):
        InactivityMonitor(0)
