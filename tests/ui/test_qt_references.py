"""The Qt bindings keep Python's reference counts: a binding that drops a reference on each
signal (PySide6 6.12.0 on Python 3.11 does, for True on emit() and for None on every slot
call) makes the workstation abort after a few thousand signals, mid-visit."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

ROUNDS = 2000


class _Emitter(QObject):
    fired = Signal()
    valued = Signal(float)


def _counts() -> tuple[int, int, int]:
    return sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)


def test_signals_and_slots_keep_the_references_they_touch(qtbot: QtBot) -> None:
    emitter = _Emitter()
    calls = [0]  # a count: a list of True or None would hold references of its own

    def count(*_args: object) -> None:
        calls[0] += 1

    emitter.fired.connect(count)
    emitter.valued.connect(count)
    button = QPushButton()
    qtbot.addWidget(button)
    button.clicked.connect(count)
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.textChanged.connect(lambda text: None)

    before = _counts()
    for i in range(ROUNDS):
        emitter.fired.emit()
        emitter.valued.emit(0.5)
        button.click()
        edit.setText(str(i))
    after = _counts()

    assert calls[0] == 3 * ROUNDS  # every slot ran
    drift = [b - a for b, a in zip(before, after, strict=True)]
    assert all(abs(d) < ROUNDS // 10 for d in drift), (
        f"references lost per {ROUNDS} rounds (True, False, None): {drift}")
