"""The lock screen, as the provider coming back to the desk meets it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from workstation.ui.session.lock_view import LockView


@pytest.fixture
def view(qtbot: QtBot) -> LockView:
    v = LockView()
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.show_for("Dr. Ada Okafor")
    return v


def test_shows_who_is_signed_in_and_nothing_else(view: LockView):
    assert view.heading.text() == "Locked"
    assert view.provider_label.text() == "Signed in as Dr. Ada Okafor"
    assert view.password_edit.echoMode() is QLineEdit.EchoMode.Password
    assert view.password_edit.text() == ""
    assert view.focusWidget() is view.password_edit  # ready to type
    assert not view.error_label.isVisible()
    assert not view.call_label.isVisible()
    assert view.unlock_button.isDefault()


def test_every_control_has_an_accessible_name(view: LockView):
    controls = (view.heading, view.provider_label, view.call_label, view.password_edit,
                view.unlock_button, view.sign_out_button, view.error_label)

    assert all(c.accessibleName() for c in controls)
    assert view.password_edit.accessibleName() == "Password"


def test_enter_asks_to_unlock_and_the_password_leaves_the_field(view: LockView, qtbot: QtBot):
    qtbot.keyClicks(view.password_edit, "correct horse battery")

    with qtbot.waitSignal(view.unlock_requested) as requested:
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)

    assert requested.args == ["correct horse battery"]
    assert view.password_edit.text() == ""
    # Nor in the undo history, which Qt would hand back once the echo turns normal (a "show
    # password" button, say).
    view.password_edit.setEchoMode(QLineEdit.EchoMode.Normal)
    view.password_edit.undo()
    assert view.password_edit.text() == ""


def test_while_checking_nothing_can_be_asked_twice(view: LockView, qtbot: QtBot):
    qtbot.keyClicks(view.password_edit, "correct horse battery")
    with qtbot.waitSignal(view.unlock_requested):
        qtbot.mouseClick(view.unlock_button, Qt.MouseButton.LeftButton)

    assert view.busy
    assert view.unlock_button.text() == "Checking…"
    assert not view.unlock_button.isEnabled()
    assert not view.password_edit.isEnabled()
    assert not view.sign_out_button.isEnabled()
    with qtbot.assertNotEmitted(view.unlock_requested):
        view.unlock_button.click()  # disabled: a click does nothing


def test_an_empty_password_is_caught_here(view: LockView, qtbot: QtBot):
    with qtbot.assertNotEmitted(view.unlock_requested):
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)

    assert view.error_label.isVisible()
    assert view.error_label.text() == "Enter your password to unlock."
    assert not view.busy


def test_a_wrong_password_is_shown_and_announced(view: LockView, qtbot: QtBot):
    qtbot.keyClicks(view.password_edit, "wrong")
    with qtbot.waitSignal(view.unlock_requested):
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)

    view.show_error("That password is not right. Try again, or sign out.")

    assert view.error_label.isVisible()
    assert view.error_label.text() == "That password is not right. Try again, or sign out."
    accessible = QAccessible.queryAccessibleInterface(view.error_label)
    assert accessible.text(QAccessible.Text.Name) == "Error"
    assert (accessible.text(QAccessible.Text.Description)
            == "That password is not right. Try again, or sign out.")
    assert view.unlock_button.isEnabled() and view.unlock_button.text() == "Unlock"
    assert view.password_edit.isEnabled()
    assert view.focusWidget() is view.password_edit
    assert view.password_edit.text() == ""  # typed again, never kept

    with qtbot.waitSignal(view.unlock_requested):  # the next try clears the message
        qtbot.keyClicks(view.password_edit, "right one")
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    assert not view.error_label.isVisible()


def test_sign_out(view: LockView, qtbot: QtBot):
    qtbot.keyClicks(view.password_edit, "half typ")

    with qtbot.waitSignal(view.sign_out_requested):
        qtbot.mouseClick(view.sign_out_button, Qt.MouseButton.LeftButton)

    assert view.password_edit.text() == ""


def test_a_connected_call_is_mentioned(view: LockView):
    view.set_call_active(True)
    assert view.call_label.isVisible()
    assert view.call_label.text() == "A call is still connected; its audio keeps running."

    view.set_call_active(False)
    assert not view.call_label.isVisible()


def test_locking_again_starts_clean(view: LockView, qtbot: QtBot):
    qtbot.keyClicks(view.password_edit, "wrong")
    with qtbot.waitSignal(view.unlock_requested):
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    view.show_error("That password is not right.")
    qtbot.keyClicks(view.password_edit, "left beh")

    view.show_for("Dr. Ben Hale")

    assert view.provider_label.text() == "Signed in as Dr. Ben Hale"
    assert view.password_edit.text() == ""
    assert not view.error_label.isVisible()
    assert view.password_edit.isEnabled()
