"""The window: sign-in first, then the queue beside the visit; the title counts who waits."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from tests.ui.conftest import FakeClock
from tests.ui.queue_entries import waiting
from workstation.ui.main_window import MainWindow
from workstation.ui.queue_alert import QueueAlert
from workstation.ui.queue_view import QueueView


def test_title_counts_waiting_patients_only_while_signed_in(qtbot: QtBot, clock: FakeClock):
    window = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(window)
    assert window.windowTitle() == "Workstation"
    assert not window.sign_out_action.isEnabled()

    window.show_workspace("Dr. House")
    window.queue_view.show_entries([waiting("a"), waiting("b"), waiting("c")])
    assert window.windowTitle() == "Workstation — 3 waiting"
    window.queue_view.remove_entry("a")
    assert window.windowTitle() == "Workstation — 2 waiting"
    window.queue_view.show_entries([])
    assert window.windowTitle() == "Workstation"


def test_file_menu_signs_out_and_quits(qtbot: QtBot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.show_workspace("Dr. House")

    assert window.quit_action.shortcut().toString() == "Ctrl+Shift+Q"
    with qtbot.waitSignal(window.sign_out_requested):
        window.sign_out_action.trigger()
    window.quit_action.trigger()
    assert not window.isVisible()


def test_a_new_patient_alert_works_without_a_system_tray(qtbot: QtBot):
    window = MainWindow()
    qtbot.addWidget(window)
    alert = QueueAlert(window, sound=False)

    alert.set_signed_in(True)
    alert.patient_joined(waiting("a"), 1)  # the offscreen platform has no tray

    if not QSystemTrayIcon.isSystemTrayAvailable():
        assert alert.tray is None
    alert.set_signed_in(False)
