"""Locking the workstation against the real hub: idle time or Ctrl+L hides every patient view,
the password (checked and audited by the hub) brings it back, sign-out from the lock clears it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_chart_hub import Answers, claim_first, signed_in_window
from tests.ui.test_provider_controller_hub import check_in
from workstation.hub.server import RunningHub
from workstation.ui.shell.session_lock import SessionLock
from workstation.ui.widgets.bridge import AsyncBridge

PATIENT = "Quartermaine"


def visible_texts() -> str:
    """Every text a person could read on screen right now."""
    texts = []
    for top in QApplication.topLevelWidgets():
        if not top.isVisible():
            continue
        for kind in (QLabel, QLineEdit, QPlainTextEdit):
            for w in top.findChildren(kind):
                if w.isVisible():
                    texts.append(w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text())
    return "\n".join(texts)


def test_ctrl_l_hides_the_patient_and_only_the_password_brings_it_back(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, site)
    lock = SessionLock(bridge, window, controller, chart, idle_ms=60_000)
    lock.monitor.start()  # signed in before the lock existed in this test
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    assert PATIENT in visible_texts()
    with qtbot.waitActive(window):
        window.activateWindow()

    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)

    assert window.showing_lock
    assert PATIENT not in visible_texts()
    assert "Dr. House" in visible_texts()
    view = window.lock_view
    qtbot.keyClicks(view.password_edit, "not my password")
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.error_label.isVisible(), timeout=10_000)
    assert "not right" in view.error_label.text()
    assert window.showing_lock and PATIENT not in visible_texts()

    qtbot.keyClicks(view.password_edit, PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.showing_workspace, timeout=10_000)

    assert window.showing_chart and PATIENT in visible_texts()
    unlocks = [e.outcome for e in running.service.store.audit_events()
               if e.action == "provider.unlock"]
    assert unlocks == ["denied", "success"]
    assert running.service.store.visit(visit_id).state == "claimed"


def test_idle_time_locks_by_itself_and_sign_out_from_the_lock_clears_the_chart(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    answers = Answers()
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                 answers=answers)
    lock = SessionLock(bridge, window, controller, chart, idle_ms=300)
    lock.monitor.start()
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)

    qtbot.waitUntil(lambda: window.showing_lock, timeout=10_000)
    assert PATIENT not in visible_texts()

    qtbot.mouseClick(window.lock_view.sign_out_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.sign_in_view.isVisible())
    # No question naming the patient over the lock; the unsigned visit stays the provider's.
    assert answers.asked == []
    assert running.service.store.visit(visit_id).state == "claimed"
    assert chart.visit_id is None
    assert window.chart_view.name_label.text() == ""
    assert not lock.monitor.is_running
