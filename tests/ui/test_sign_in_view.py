"""Signing in and setting up the first account, as the provider types it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from workstation.core.people import Address, ServiceLine
from workstation.core.practice import Practice
from workstation.ui.session.sign_in_view import SignInView

LINES = (ServiceLine("urgent_care", "On-demand urgent care"),
         ServiceLine("specialty_care", "Virtual specialty care"))
PRACTICE = Practice(Address("500 Clinic Way", "Austin", "TX", "78702", "Suite 2"),
                    "512-555-0100")


@pytest.fixture
def view(qtbot: QtBot) -> SignInView:
    v = SignInView()
    qtbot.addWidget(v)
    v.set_hub_address("http://127.0.0.1:40123")
    v.show()
    qtbot.waitExposed(v)
    return v


def test_shows_the_hub_and_hides_the_password(view: SignInView):
    assert view.hub_label.text() == "Hub: http://127.0.0.1:40123"
    assert view.password_edit.echoMode() is QLineEdit.EchoMode.Password
    assert not view.error_label.isVisible()


def test_enter_in_the_password_field_signs_in(view: SignInView, qtbot: QtBot):
    qtbot.keyClicks(view.username_edit, "house")
    qtbot.keyClicks(view.password_edit, "correct horse battery")

    with qtbot.waitSignal(view.sign_in_requested) as requested:
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)

    assert requested.args == ["house", "correct horse battery", False, ""]
    assert view.sign_in_button.text() == "Signing in…"
    assert not view.sign_in_button.isEnabled()
    assert not view.password_edit.isEnabled()


def test_remember_me_goes_with_the_request(view: SignInView, qtbot: QtBot):
    qtbot.keyClicks(view.username_edit, "house")
    qtbot.keyClicks(view.password_edit, "correct horse battery")
    view.remember_box.setChecked(True)

    with qtbot.waitSignal(view.sign_in_requested) as requested:
        qtbot.mouseClick(view.sign_in_button, Qt.MouseButton.LeftButton)

    assert requested.args[2] is True


def test_an_error_from_the_hub_is_shown_and_the_form_is_usable_again(view: SignInView,
                                                                      qtbot: QtBot):
    qtbot.keyClicks(view.username_edit, "house")
    qtbot.keyClicks(view.password_edit, "wrong")
    with qtbot.waitSignal(view.sign_in_requested):
        qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)

    view.show_error("The username or password is not right.")

    assert view.error_label.isVisible()
    assert view.error_label.text() == "The username or password is not right."
    assert view.sign_in_button.isEnabled()
    assert view.sign_in_button.text() == "Sign in"
    assert view.password_edit.isEnabled()


def test_a_missing_password_is_caught_before_asking_the_hub(view: SignInView, qtbot: QtBot):
    qtbot.keyClicks(view.username_edit, "house")

    with qtbot.assertNotEmitted(view.sign_in_requested):
        qtbot.keyClick(view.username_edit, Qt.Key.Key_Return)

    assert view.error_label.text() == "Enter your password."
    assert view.focusWidget() is view.password_edit  # the cursor goes where the fix is


def test_first_account_setup(view: SignInView, qtbot: QtBot):
    view.show_first_account(LINES)
    assert view.heading.text() == "Set up the first account"
    assert [b.text() for _line, b in view._service_line_boxes] == [
        "On-demand urgent care", "Virtual specialty care"]

    qtbot.keyClicks(view.display_name_edit, "Dr. Ada Okafor")
    qtbot.keyClicks(view.new_username_edit, "ada")
    qtbot.keyClicks(view.new_password_edit, "long enough pw")
    qtbot.keyClicks(view.confirm_password_edit, "long enough pX")
    with qtbot.assertNotEmitted(view.first_account_requested):
        qtbot.keyClick(view.confirm_password_edit, Qt.Key.Key_Return)
    assert view.error_label.text() == "The two passwords differ. Type the same password twice."

    view.confirm_password_edit.clear()
    qtbot.keyClicks(view.confirm_password_edit, "long enough pw")
    with qtbot.assertNotEmitted(view.first_account_requested):
        qtbot.keyClick(view.confirm_password_edit, Qt.Key.Key_Return)
    assert view.error_label.text() == "Choose at least one service line you work in."

    view._service_line_boxes[0][1].setChecked(True)
    fill_npi_and_practice(qtbot, view)
    with qtbot.waitSignal(view.first_account_requested) as requested:
        qtbot.mouseClick(view.create_button, Qt.MouseButton.LeftButton)

    assert requested.args == ["Dr. Ada Okafor", "ada", "long enough pw", ["urgent_care"],
                              "1234567893", PRACTICE]
    assert view.create_button.text() == "Creating the account…"
    assert not view.error_label.isVisible()


def fill_npi_and_practice(qtbot: QtBot, view: SignInView, npi: str = "1234567893") -> None:
    """The first run's NPI and practice, typed as a provider types them."""
    qtbot.keyClicks(view.npi_edit, npi)
    fields = view.practice_fields
    qtbot.keyClicks(fields.line1_edit, "500 Clinic Way")
    qtbot.keyClicks(fields.line2_edit, "Suite 2")
    qtbot.keyClicks(fields.city_edit, "Austin")
    qtbot.keyClicks(fields.state_edit, "tx")
    qtbot.keyClicks(fields.postal_code_edit, "78702")
    qtbot.keyClicks(fields.phone_edit, "512-555-0100")


def first_account_typed(qtbot: QtBot, view: SignInView) -> None:
    view.show_first_account(LINES[:1])
    qtbot.keyClicks(view.display_name_edit, "Dr. Ada Okafor")
    qtbot.keyClicks(view.new_username_edit, "ada")
    qtbot.keyClicks(view.new_password_edit, "long enough pw")
    qtbot.keyClicks(view.confirm_password_edit, "long enough pw")


def test_the_first_account_needs_a_valid_npi(view: SignInView, qtbot: QtBot):
    first_account_typed(qtbot, view)
    fill_npi_and_practice(qtbot, view)
    view.npi_edit.clear()
    qtbot.keyClicks(view.npi_edit, "1234567890")  # a typo: the check digit does not match

    with qtbot.assertNotEmitted(view.first_account_requested):
        qtbot.keyClick(view.npi_edit, Qt.Key.Key_Return)

    assert view.error_label.text().startswith("This is not a valid NPI")
    assert view.focusWidget() is view.npi_edit
    assert view.practice_fields.line1_edit.text() == "500 Clinic Way"  # nothing typed lost


def test_the_first_account_needs_the_practice_address_and_phone(view: SignInView,
                                                                qtbot: QtBot):
    first_account_typed(qtbot, view)
    fill_npi_and_practice(qtbot, view)
    view.practice_fields.postal_code_edit.clear()
    qtbot.keyClicks(view.practice_fields.postal_code_edit, "787")

    with qtbot.assertNotEmitted(view.first_account_requested):
        qtbot.keyClick(view.practice_fields.phone_edit, Qt.Key.Key_Return)

    assert view.error_label.text() == "Enter a 5-digit ZIP code."
    assert view.focusWidget() is view.practice_fields.postal_code_edit


def test_the_site_files_practice_starts_the_form(view: SignInView):
    view.show_first_account(LINES, Practice(Address("1 Main St", "Dallas", "TX", "75201"),
                                            "214-555-0100"))

    fields = view.practice_fields
    assert (fields.line1_edit.text(), fields.city_edit.text(), fields.state_edit.text(),
            fields.postal_code_edit.text(), fields.phone_edit.text()) == (
        "1 Main St", "Dallas", "TX", "75201", "214-555-0100")
    assert view.npi_edit.text() == ""


def test_a_short_password_is_refused_in_setup(view: SignInView, qtbot: QtBot):
    view.show_first_account(LINES[:1])  # one service line: ticked already
    qtbot.keyClicks(view.display_name_edit, "Dr. Ada Okafor")
    qtbot.keyClicks(view.new_username_edit, "ada")
    qtbot.keyClicks(view.new_password_edit, "short")
    qtbot.keyClicks(view.confirm_password_edit, "short")

    with qtbot.assertNotEmitted(view.first_account_requested):
        qtbot.keyClick(view.confirm_password_edit, Qt.Key.Key_Return)

    assert view.error_label.text() == "Use a password of at least 10 characters."


def test_a_hub_that_cannot_start_leaves_no_form_to_fill(view: SignInView):
    view.show_connecting("Starting the hub on this computer…")

    view.show_unavailable("No system keyring was found.", "No keyring to keep the database key")

    assert view.heading.text() == "No keyring to keep the database key"
    assert view.error_label.isVisible()
    assert view.error_label.text() == "No system keyring was found."
    assert not view.username_edit.isVisible() and not view.password_edit.isVisible()
    assert not view.sign_in_button.isVisible() and not view.create_button.isVisible()


def test_a_hub_that_cannot_be_reached_says_so_in_the_heading(view: SignInView):
    view.show_unavailable("Cannot reach the hub at https://hub.example:8443.")

    assert view.heading.text() == "The hub is not available"
