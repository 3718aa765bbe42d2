"""Signing in to the hub, and creating the first provider account on a new embedded hub."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.people import ServiceLine
from workstation.core.practice import Practice, npi_problem
from workstation.ui.session.practice_fields import PracticeFields
from workstation.ui.widgets.card import (
    ERROR_STYLE,
    centred_card,
    hide_error_label,
    show_error_label,
)

# Source texts, translated where they are shown; the markers let lupdate find them.
SIGN_IN_TEXT = str(QT_TRANSLATE_NOOP("SignInView", "Sign in"))
SIGNING_IN_TEXT = str(QT_TRANSLATE_NOOP("SignInView", "Signing in…"))
CREATE_TEXT = str(QT_TRANSLATE_NOOP("SignInView", "Create account and sign in"))
CREATING_TEXT = str(QT_TRANSLATE_NOOP("SignInView", "Creating the account…"))
MIN_PASSWORD = 10
# The hub's rule for usernames (workstation/hub/schemas.py).
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{3,80}$")


class SignInView(QWidget):
    """The first thing a provider sees: the hub's address and the sign-in form.

    On a new embedded hub with no provider yet, it shows the "Set up the first account" form
    instead, which also asks what e-prescribing needs: the provider's NPI and the practice's
    address and phone. Validation a person can fix without the hub happens here; everything
    else comes back from the presenter through :meth:`show_error`.

    Signals:
        sign_in_requested(str, str, bool, str): username, password, remember me, and the code
            of the second factor ("" until the hub asks for one: :meth:`ask_for_code`).
        first_account_requested(str, str, str, list, str, object): display name, username,
            password, the codes of the chosen service lines, the NPI and the practice
            (a :class:`~workstation.core.practice.Practice`).
    """

    sign_in_requested = Signal(str, str, bool, str)
    first_account_requested = Signal(str, str, str, list, str, object)
    demo_requested = Signal()  # "Open the demo instead", offered when the hub cannot start

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._demo_credentials: tuple[str, str] | None = None
        self._service_line_boxes: list[tuple[ServiceLine, QCheckBox]] = []

        self.heading = QLabel(self.tr(SIGN_IN_TEXT))
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.heading.setFont(font)
        self.hub_label = QLabel()
        self.hub_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hub_label.setAccessibleName(self.tr("Hub address"))

        # Shown one at a time; not a QStackedWidget, which would size the short sign-in
        # form to the taller setup form.
        self._sign_in_page = self._build_sign_in_page()
        self._first_account_page = self._build_first_account_page()

        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName(self.tr("Error"))
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        # The demo's own account, shown on its sign-in (it opens nothing but the demo).
        self.demo_label = QLabel()
        self.demo_label.setWordWrap(True)
        self.demo_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.demo_label.setAccessibleName(self.tr("Demo sign-in"))
        self.demo_label.hide()
        self.demo_button = QPushButton(self.tr("Open the demo instead"))
        self.demo_button.setAccessibleName(self.tr("Open the demo instead"))
        self.demo_button.setToolTip(self.tr(
            "Practise with simulated patients; the demo keeps nothing and needs no keyring."))
        self.demo_button.clicked.connect(self.demo_requested)  # focused when shown: Space
        self.demo_button.hide()

        centred_card(self, self.heading, self.hub_label, self.demo_label, self._sign_in_page,
                     self._first_account_page, self.error_label, self.demo_button)

        self.show_sign_in()

    def _build_sign_in_page(self) -> QWidget:
        page = QWidget()
        self.username_edit = QLineEdit()
        self.username_edit.setAccessibleName(self.tr("Username"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.code_edit = QLineEdit()
        self.code_edit.setAccessibleName(self.tr("Code from your authenticator app"))
        self.code_edit.setMaxLength(40)  # 6 digits, or a break-glass code from IT
        self.code_edit.setInputMethodHints(Qt.InputMethodHint.ImhPreferNumbers)
        self.remember_box = QCheckBox(self.tr("&Remember me on this computer"))
        self.remember_box.setAccessibleName(self.tr("Remember me on this computer"))
        self.sign_in_button = QPushButton(self.tr(SIGN_IN_TEXT))
        self.sign_in_button.setDefault(True)
        # A fixed name: the text changes to "Signing in…" while the hub is asked.
        self.sign_in_button.setAccessibleName(self.tr("Sign in"))

        form = QFormLayout()
        form.addRow(self.tr("&Username"), self.username_edit)
        form.addRow(self.tr("&Password"), self.password_edit)
        form.addRow(self.tr("C&ode"), self.code_edit)
        form.addRow("", self.remember_box)
        self._form = form
        form.setRowVisible(self.code_edit, False)  # until the hub asks for the second factor
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.sign_in_button)

        self.username_edit.returnPressed.connect(self._on_sign_in_form_submitted)
        self.password_edit.returnPressed.connect(self._on_sign_in_form_submitted)
        self.code_edit.returnPressed.connect(self._on_sign_in_form_submitted)
        self.sign_in_button.clicked.connect(self._on_sign_in_form_submitted)
        return page

    def _build_first_account_page(self) -> QWidget:
        page = QWidget()
        intro = QLabel(self.tr("This hub has no provider account yet. Create the first one; "
                               "you will be signed in with it. Your NPI and the practice's "
                               "address and phone go on every prescription you send."))
        intro.setWordWrap(True)
        self.display_name_edit = QLineEdit()
        self.display_name_edit.setPlaceholderText(self.tr("e.g. Dr. Ada Okafor"))
        self.display_name_edit.setAccessibleName(self.tr("Name shown to patients"))
        self.new_username_edit = QLineEdit()
        self.new_username_edit.setAccessibleName(self.tr("Username"))
        self.new_password_edit = QLineEdit()
        self.new_password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password_edit.setPlaceholderText(
            self.tr("at least %n characters", "", MIN_PASSWORD))
        self.new_password_edit.setAccessibleName(self.tr("Password"))
        self.confirm_password_edit = QLineEdit()
        self.confirm_password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_password_edit.setAccessibleName(self.tr("Confirm password"))
        self.npi_edit = QLineEdit()
        self.npi_edit.setMaxLength(10)
        self.npi_edit.setPlaceholderText(self.tr("10 digits"))
        self.npi_edit.setAccessibleName(self.tr("Your NPI"))
        self.practice_fields = PracticeFields()
        self.service_lines_box = QGroupBox(self.tr("Service lines"))
        self.service_lines_box.setAccessibleName(self.tr("Service lines"))
        self._service_lines_layout = QVBoxLayout(self.service_lines_box)
        self.create_button = QPushButton(self.tr(CREATE_TEXT))
        # A fixed name: the text changes to "Creating the account…" while the hub is asked.
        self.create_button.setAccessibleName(self.tr("Create account and sign in"))

        form = QFormLayout()
        form.addRow(self.tr("&Name shown to patients"), self.display_name_edit)
        form.addRow(self.tr("Us&ername"), self.new_username_edit)
        form.addRow(self.tr("Pass&word"), self.new_password_edit)
        form.addRow(self.tr("&Confirm password"), self.confirm_password_edit)
        form.addRow(self.tr("Your NP&I"), self.npi_edit)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.service_lines_box)
        layout.addWidget(self.practice_fields)
        layout.addWidget(self.create_button)

        for edit in (self.display_name_edit, self.new_username_edit, self.new_password_edit,
                     self.confirm_password_edit, self.npi_edit, *self.practice_fields.edits):
            edit.returnPressed.connect(self._on_first_account_form_submitted)
        self.create_button.clicked.connect(self._on_first_account_form_submitted)
        return page

    # -- what the presenter tells the view ------------------------------------------------

    @property
    def showing_first_account(self) -> bool:
        return not self._first_account_page.isHidden()

    def set_hub_address(self, url: str) -> None:
        self.hub_label.setText(self.tr("Hub: %1").replace("%1", url))

    def show_connecting(self, message: str) -> None:
        """While the hub is starting or being asked whether it needs setting up: the forms
        wait, and ``message`` says what is going on."""
        self.hub_label.setText(message)
        self._sign_in_page.setEnabled(False)
        self._first_account_page.setEnabled(False)

    def show_unavailable(self, message: str, title: str | None = None, *,
                         offer_demo: bool = False) -> None:
        """The hub could not start or be reached: no form to fill, only what went wrong;
        with ``offer_demo``, a way to open the demo instead (it needs no keyring)."""
        self.heading.setText(title or self.tr("The hub is not available"))
        self.hub_label.setText(self.tr("Nothing can be done here until this is fixed:"))
        self._sign_in_page.hide()
        self._first_account_page.hide()
        self.show_error(message)
        self.demo_button.setVisible(offer_demo)
        if offer_demo:
            self.demo_button.setFocus()

    def set_demo_credentials(self, username: str, password: str) -> None:
        """The demo: its account is shown, and filled in, on every sign-in."""
        self._demo_credentials = (username, password)
        self.demo_label.setText(self.tr(
            "Demo — sign in as <b>%1</b> with the password <b>%2</b> (filled in).")
            .replace("%1", username).replace("%2", password))
        self.demo_label.show()
        self.remember_box.setChecked(False)
        self.remember_box.hide()  # each demo start is a new day: nothing to remember
        self.show_sign_in(username)

    def show_sign_in(self, username: str | None = None) -> None:
        self.heading.setText(self.tr(SIGN_IN_TEXT))
        self._first_account_page.hide()
        self._sign_in_page.show()
        self.set_busy(False)
        self.password_edit.clear()
        self.code_edit.clear()
        self._form.setRowVisible(self.code_edit, False)
        self.demo_button.hide()
        if username is not None:
            self.username_edit.setText(username)
        if self._demo_credentials is not None:
            self.username_edit.setText(self._demo_credentials[0])
            self.password_edit.setText(self._demo_credentials[1])
        (self.password_edit if self.username_edit.text() else self.username_edit).setFocus()

    @property
    def asking_for_code(self) -> bool:
        return self._form.isRowVisible(self.code_edit)

    def ask_for_code(self, message: str) -> None:
        """The hub wants the second factor: show the code field, say why, and wait there."""
        self.set_busy(False)
        self._form.setRowVisible(self.code_edit, True)
        show_error_label(self.error_label, message)
        self.code_edit.setFocus()
        self.code_edit.selectAll()

    def show_first_account(self, service_lines: Sequence[ServiceLine],
                           practice: Practice | None = None) -> None:
        """The first run's form; ``practice`` (the site file's, if it gives one) fills the
        practice's fields to start with."""
        self.heading.setText(self.tr("Set up the first account"))
        if practice is not None:
            self.practice_fields.set_practice(practice)
        for _line, box in self._service_line_boxes:
            box.deleteLater()
        self._service_line_boxes = []
        for line in service_lines:
            box = QCheckBox(line.name)  # the hub's name for it: data, not translated
            box.setAccessibleName(line.name)
            box.setChecked(len(service_lines) == 1)
            self._service_lines_layout.addWidget(box)
            self._service_line_boxes.append((line, box))
        self._sign_in_page.hide()
        self._first_account_page.show()
        self.set_busy(False)
        self.display_name_edit.setFocus()

    def set_busy(self, busy: bool) -> None:
        """While the hub is asked: no second request, and the button says what is going on."""
        self._busy = busy
        for page in (self._sign_in_page, self._first_account_page):
            page.setEnabled(not busy)
        self.sign_in_button.setText(self.tr(SIGNING_IN_TEXT if busy else SIGN_IN_TEXT))
        self.create_button.setText(self.tr(CREATING_TEXT if busy else CREATE_TEXT))
        if busy:
            self.clear_error()

    def show_error(self, message: str, *, about_code: bool = False) -> None:
        """Show a message the provider can act on, and announce it to assistive technology;
        ``about_code``: the second factor's code was wrong (focus goes there, not to the
        password)."""
        self.set_busy(False)
        if about_code and self.asking_for_code:
            self.code_edit.setFocus()
            self.code_edit.selectAll()
        elif not self.showing_first_account and self.username_edit.text():
            self.password_edit.setFocus()
            self.password_edit.selectAll()
        show_error_label(self.error_label, message)

    def clear_error(self) -> None:
        hide_error_label(self.error_label)

    def clear_passwords(self) -> None:
        for edit in (self.password_edit, self.new_password_edit, self.confirm_password_edit,
                     self.code_edit):
            edit.clear()

    # -- slots ----------------------------------------------------------------------------

    def _on_sign_in_form_submitted(self) -> None:
        if self._busy or self.showing_first_account:
            return
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        if not username:
            self._invalid(self.tr("Enter your username."), self.username_edit)
            return
        if not password:
            self._invalid(self.tr("Enter your password."), self.password_edit)
            return
        code = self.code_edit.text().strip() if self.asking_for_code else ""
        if self.asking_for_code and not code:
            self._invalid(self.tr("Enter the code from your authenticator app."),
                          self.code_edit)
            return
        self.set_busy(True)
        self.sign_in_requested.emit(username, password, self.remember_box.isChecked(), code)

    def _on_first_account_form_submitted(self) -> None:
        if self._busy or not self.showing_first_account:
            return
        display_name = self.display_name_edit.text().strip()
        username = self.new_username_edit.text().strip()
        password = self.new_password_edit.text()
        lines = [line.code for line, box in self._service_line_boxes if box.isChecked()]
        if not display_name:
            self._invalid(self.tr("Enter the name patients will see."), self.display_name_edit)
        elif not USERNAME_PATTERN.match(username):
            self._invalid(self.tr("Choose a username of 3 to 80 letters, digits or . _ @ -"),
                          self.new_username_edit)
        elif len(password) < MIN_PASSWORD:
            self._invalid(self.tr("Use a password of at least %n characters.", "", MIN_PASSWORD),
                          self.new_password_edit)
        elif password != self.confirm_password_edit.text():
            self._invalid(self.tr("The two passwords differ. Type the same password twice."),
                          self.confirm_password_edit)
        elif not lines:
            self._invalid(self.tr("Choose at least one service line you work in."),
                          self._service_line_boxes[0][1] if self._service_line_boxes
                          else self.create_button)
        elif (npi_wrong := npi_problem(self.npi_edit.text().strip())) is not None:
            self._invalid(npi_wrong, self.npi_edit)
        elif (practice_wrong := self.practice_fields.problem()) is not None:
            message, field = practice_wrong
            self._invalid(message, field)
        else:
            self.set_busy(True)
            self.first_account_requested.emit(display_name, username, password, lines,
                                              self.npi_edit.text().strip(),
                                              self.practice_fields.practice())

    def _invalid(self, message: str, field: QWidget) -> None:
        self.show_error(message)
        field.setFocus()
