"""Ready to prescribe from first start, in the window against the real hub: the first-run form
asks for the NPI and the practice, and Settings > Practice lets the first account change them
(errors shown in the dialog, nothing typed lost); anyone else finds the item off and why."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_mnemonics import clashes
from tests.ui.test_sign_in_view import fill_npi_and_practice
from workstation.app import _wire_practice
from workstation.core.people import Address
from workstation.core.practice import Practice
from workstation.hub.server import RunningHub
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.session.practice_presenter import PracticeController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.shell.session_lock import SessionLock
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert

NPI = "1234567893"
AUSTIN = Practice(Address("500 Clinic Way", "Austin", "TX", "78702", "Suite 2"),
                  "512-555-0100")
# The labels this feature added: none may share its Alt+letter with anything on screen.
OUR_LABELS = ("NP&I", "A&ddress line 1", "Address line &2", "Cit&y", "St&ate",
              "&ZIP", "P&hone", "&Save")


class Workstation:
    """The window as app.py composes it, for what this feature touches."""

    def __init__(self, qtbot: QtBot, bridge: AsyncBridge, running: RunningHub, site,  # type: ignore[no-untyped-def]
                 ) -> None:
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.controller = ProviderController(bridge, self.window,
                                             service_lines=site.service_lines,
                                             alert=QueueAlert(self.window, sound=False))
        self.lock = SessionLock(bridge, self.window, self.controller,
                                ChartController(bridge, self.window.chart_view),
                                idle_ms=600_000)
        self.practice = PracticeController(bridge, self.window, lambda: self.controller.client)
        _wire_practice(self.practice, self.window, self.controller, self.lock)
        self.window.show()
        self.controller.start(running.url)

    def sign_in(self, qtbot: QtBot, username: str) -> None:
        view = self.window.sign_in_view
        qtbot.waitUntil(lambda: view.username_edit.isEnabled() and view.username_edit.isVisible())
        view.username_edit.setText(username)
        view.password_edit.setText(PASSWORD)
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: self.window.showing_workspace, timeout=10_000)


def retype(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def test_the_first_run_asks_for_the_npi_and_practice_and_the_hub_keeps_them(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, _clock = hub
    ws = Workstation(qtbot, bridge, running, site)
    view = ws.window.sign_in_view
    qtbot.waitUntil(lambda: view.heading.text() == "Set up the first account")
    assert [c for c in clashes(ws.window) if any(label in c for label in OUR_LABELS)] == []

    qtbot.keyClicks(view.display_name_edit, "Dr. Ada Okafor")
    qtbot.keyClicks(view.new_username_edit, "ada")
    qtbot.keyClicks(view.new_password_edit, PASSWORD)
    qtbot.keyClicks(view.confirm_password_edit, PASSWORD)
    view._service_line_boxes[0][1].setChecked(True)
    fill_npi_and_practice(qtbot, view, npi="1234567890")  # a typo in the NPI
    qtbot.keyClick(view.practice_fields.phone_edit, Qt.Key.Key_Return)
    assert view.error_label.text().startswith("This is not a valid NPI")
    assert view.focusWidget() is view.npi_edit and not ws.window.showing_workspace

    retype(qtbot, view.npi_edit, NPI)
    qtbot.keyClick(view.npi_edit, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: ws.window.showing_workspace, timeout=10_000)
    account = running.service.store.provider_account("ada")
    assert account is not None and account.provider.npi == NPI
    assert run(bridge, qtbot, running.service.practice()) == AUSTIN
    # The first account keeps the practice details: Settings > Practice is open to it.
    qtbot.waitUntil(ws.window.practice_action.isEnabled, timeout=10_000)
    assert ws.window.practice_action.text() == "&Practice…"


def first_account_signed_in(qtbot: QtBot, bridge: AsyncBridge, running: RunningHub,
                            site: object) -> Workstation:
    """Dr. Ada Okafor, the hub's first account (with an NPI and a practice), signed in."""
    run(bridge, qtbot, running.service.add_provider("ada", "Dr. Ada Okafor", PASSWORD,
                                                    ("urgent_care",), NPI, practice=AUSTIN))
    ws = Workstation(qtbot, bridge, running, site)
    ws.sign_in(qtbot, "ada")
    return ws


def test_the_first_account_changes_the_practice_in_the_dialog(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, _clock = hub
    ws = first_account_signed_in(qtbot, bridge, running, site)
    menu = next(a.menu() for a in ws.window.menuBar().actions() if a.text() == "Settings")
    assert ws.window.practice_action in menu.actions()
    assert ws.window.practice_action.shortcut().toString() == "Ctrl+,"
    qtbot.waitUntil(ws.window.practice_action.isEnabled, timeout=10_000)

    with qtbot.waitActive(ws.window):
        ws.window.activateWindow()
    qtbot.keyClick(ws.window.queue_view.table, Qt.Key.Key_Comma,
                   Qt.KeyboardModifier.ControlModifier)  # from the keyboard, anywhere
    dialog = ws.practice.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.npi_edit.text() == NPI, timeout=10_000)
    fields = dialog.practice_fields
    assert fields.practice() == AUSTIN
    assert dialog.focusWidget() is dialog.npi_edit
    assert clashes(dialog) == []

    # A mistake the dialog can see: said at once, the cursor on it, nothing else touched.
    retype(qtbot, fields.postal_code_edit, "787")
    qtbot.keyClick(fields.postal_code_edit, Qt.Key.Key_Return)
    assert dialog.error_label.text() == "Enter a 5-digit ZIP code."
    assert dialog.focusWidget() is fields.postal_code_edit
    assert fields.city_edit.text() == "Austin" and dialog.npi_edit.text() == NPI

    # One only the hub sees (a line too long for it): its words, in the dialog, kept typing.
    retype(qtbot, fields.postal_code_edit, "78664")
    long_line = "9 River Road " * 10
    retype(qtbot, fields.line1_edit, long_line)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible() and dialog.save_button.isEnabled(),
                    timeout=10_000)
    assert "too long" in dialog.error_label.text()
    assert dialog.focusWidget() is fields.line1_edit
    assert fields.line1_edit.text() == long_line and fields.postal_code_edit.text() == "78664"
    assert ws.practice.dialog is dialog  # still open

    retype(qtbot, fields.line1_edit, "9 River Rd")
    retype(qtbot, fields.city_edit, "Round Rock")
    retype(qtbot, fields.phone_edit, "512-555-0199")
    retype(qtbot, dialog.npi_edit, "1245319599")
    qtbot.keyClick(fields.phone_edit, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: ws.practice.dialog is None, timeout=10_000)
    assert ws.window.statusBar().currentMessage() == \
        "Practice details saved: new prescriptions carry them."
    assert run(bridge, qtbot, running.service.practice()) == Practice(
        Address("9 River Rd", "Round Rock", "TX", "78664", "Suite 2"), "512-555-0199")
    account = running.service.store.provider_account("ada")
    assert account is not None and account.provider.npi == "1245319599"


def test_another_provider_finds_the_item_off_and_why(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    run(bridge, qtbot, running.service.add_provider("ada", "Dr. Ada Okafor", PASSWORD,
                                                    ("urgent_care",), NPI, practice=AUSTIN))
    clock.advance(minutes=5)
    run(bridge, qtbot, running.service.add_provider("cuddy", "Dr. Cuddy", PASSWORD,
                                                    ("urgent_care",)))
    ws = Workstation(qtbot, bridge, running, site)
    ws.sign_in(qtbot, "cuddy")

    action = ws.window.practice_action
    qtbot.waitUntil(lambda: action.text() == "&Practice… (the first account only)",
                    timeout=10_000)
    assert not action.isEnabled()
    assert "Dr. Ada Okafor" in action.toolTip() and action.statusTip() == action.toolTip()


def test_locking_or_signing_out_closes_the_dialog_unsaved(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, _clock = hub
    ws = first_account_signed_in(qtbot, bridge, running, site)
    qtbot.waitUntil(ws.window.practice_action.isEnabled, timeout=10_000)
    ws.window.practice_action.trigger()
    dialog = ws.practice.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.npi_edit.text() == NPI, timeout=10_000)
    retype(qtbot, dialog.practice_fields.phone_edit, "512-555-0000")

    ws.lock.lock()

    assert ws.window.showing_lock and ws.practice.dialog is None
    assert not ws.window.practice_action.isEnabled()
    assert run(bridge, qtbot, running.service.practice()) == AUSTIN  # nothing was saved

    ws.controller.sign_out()
    qtbot.waitUntil(lambda: not ws.window.showing_lock)
    assert not ws.window.practice_action.isEnabled()
    assert ws.window.practice_action.text() == "&Practice…"
