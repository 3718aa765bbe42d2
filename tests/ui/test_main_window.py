"""The window: sign-in first, then the queue beside the visit; the title counts who waits."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTranslator
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from tests.ui.conftest import FakeClock
from tests.ui.queue_entries import waiting
from workstation.ui.session.sign_in_view import SignInView
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView


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


def test_the_window_layout_comes_back_as_the_provider_left_it(qtbot: QtBot, tmp_path):  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.resize(780, 560)  # inside the offscreen screen (800×600): restoring clamps to it
    first.show_workspace("Dr. House")
    first.workspace.setSizes([250, 500])
    first.work_lists.setCurrentWidget(first.schedule_view)
    first.save_layout(settings)
    settings.sync()

    second = MainWindow()
    qtbot.addWidget(second)
    second.restore_layout(QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat))
    second.show()
    second.show_workspace("Dr. House")

    assert second.size() == first.size()
    assert second.work_lists.currentWidget() is second.schedule_view
    assert second.workspace.sizes() == first.workspace.sizes()


class BracketingTranslator(QTranslator):
    """Puts every text it is asked for in ⟦ ⟧, so a text shown without tr() stands out."""

    def translate(self, context: str, source_text: str,
                  disambiguation: str | None = None, n: int = -1) -> str:
        return f"⟦{source_text}⟧"


def test_the_window_and_sign_in_texts_go_through_the_translator(qtbot: QtBot,
                                                               clock: FakeClock) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translator = BracketingTranslator()
    assert app.installTranslator(translator)
    try:
        window = MainWindow(queue_view=QueueView(clock=clock))
        qtbot.addWidget(window)
        sign_in = SignInView()
        qtbot.addWidget(sign_in)

        assert window.windowTitle() == "⟦Workstation⟧"
        assert [a.text() for a in window.menuBar().actions()] == ["⟦&File⟧", "⟦&Tools⟧",
                                                                  "⟦Settings⟧"]
        assert window.practice_action.text() == "⟦&Practice…⟧"
        assert [a.text() for a in (window.export_action, window.lock_action,
                                   window.sign_out_action, window.quit_action)] == [
            "⟦&Export visit as FHIR…⟧", "⟦&Lock⟧", "⟦&Sign out⟧", "⟦&Quit⟧"]
        assert window.work_lists.tabText(0) == "⟦On-demand &queue⟧"
        assert window.evisit_view.title_label.text() == "⟦E-Visits waiting⟧"
        assert sign_in.sign_in_button.text() == "⟦Sign in⟧"
        assert sign_in.sign_in_button.accessibleName() == "⟦Sign in⟧"
        assert sign_in.heading.text() == "⟦Sign in⟧"

        queue = window.queue_view
        assert queue.title_label.text() == "⟦Waiting patients⟧"
        assert queue.table.accessibleName() == "⟦Waiting patients⟧"
        assert queue.model.headerData(0, Qt.Orientation.Horizontal) == "⟦Waiting⟧"

        # Texts with a count or a value: the translation is filled in, not the source.
        window.show_workspace("Dr. House")
        queue.show_entries([waiting("a"), waiting("b")])
        assert queue.title_label.text() == "⟦⟦Waiting patients⟧ (2)⟧"
        assert window.windowTitle() == "⟦⟦Workstation⟧ — 2 waiting⟧"
        assert window.provider_label.text() == "⟦Signed in as Dr. House⟧"
    finally:
        assert app.removeTranslator(translator)
