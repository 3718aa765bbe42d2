"""The lock screen shown after a spell of inactivity: nothing of the patient, only a way back in."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from workstation.ui.widgets.card import (
    ERROR_STYLE,
    centred_card,
    hide_error_label,
    show_error_label,
)


class LockView(QWidget):
    """Covers the workstation while the provider is away: the window shows this instead of the
    queue, chart or call, so no patient data stays on screen. The provider unlocks with their
    password or signs out, letting someone else sign in.

    It fills its own background, so it also hides whatever it is laid over.

    The password never stays in the field: it is taken out before :attr:`unlock_requested` is
    emitted, with the field's undo history, and a wrong one has to be typed again.

    Signals:
        unlock_requested(str): the password the provider typed, to be checked by the presenter.
        sign_out_requested(): the provider (or a colleague at the same desk) chose to sign out.
    """

    unlock_requested = Signal(str)
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self._busy = False

        self.heading = QLabel(self.tr("Locked"))
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setAccessibleName(self.tr("Locked"))

        self.provider_label = QLabel()
        self.provider_label.setWordWrap(True)
        self.provider_label.setAccessibleName(self.tr("Signed-in provider"))

        self.call_label = QLabel(self.tr("A call is still connected; its audio keeps running."))
        self.call_label.setWordWrap(True)
        self.call_label.setAccessibleName(self.tr("Call still connected"))
        self.call_label.hide()

        password_label = QLabel(self.tr("&Password"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        password_label.setBuddy(self.password_edit)

        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.unlock_button.setDefault(True)
        self.unlock_button.setAccessibleName(self.tr("Unlock"))
        self.sign_out_button = QPushButton(self.tr("Sign out"))
        self.sign_out_button.setAccessibleName(self.tr("Sign out"))

        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName(self.tr("Error"))
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.unlock_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_out_button)

        centred_card(self, self.heading, self.provider_label, self.call_label, password_label,
                     self.password_edit, buttons, self.error_label)
        self.setTabOrder(self.password_edit, self.unlock_button)
        self.setTabOrder(self.unlock_button, self.sign_out_button)

        self.password_edit.returnPressed.connect(self._on_password_edit_return_pressed)
        self.unlock_button.clicked.connect(self._on_unlock_button_clicked)
        self.sign_out_button.clicked.connect(self._on_sign_out_button_clicked)

    # -- what the presenter tells the view ------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def show_for(self, provider_name: str) -> None:
        """Lock for this provider: an empty password field with the cursor in it."""
        self.provider_label.setText(self.tr("Signed in as {name}").format(name=provider_name))
        self.set_busy(False)
        self.clear_error()
        self._forget_password()
        self.password_edit.setFocus()

    def set_call_active(self, active: bool) -> None:
        """Say that a call goes on behind the lock (its video is hidden, its audio is not)."""
        self.call_label.setVisible(active)

    def set_busy(self, busy: bool) -> None:
        """While the password is checked: no second request, and the button says so."""
        self._busy = busy
        for control in (self.password_edit, self.unlock_button, self.sign_out_button):
            control.setEnabled(not busy)
        self.unlock_button.setText(self.tr("Checking…") if busy else self.tr("Unlock"))
        if busy:
            self.clear_error()

    def show_error(self, message: str) -> None:
        """Show why the screen stayed locked, announce it to assistive technology, and put the
        cursor back in the password field."""
        self.set_busy(False)
        self.password_edit.setFocus()
        self.password_edit.selectAll()
        show_error_label(self.error_label, message)

    def clear_error(self) -> None:
        hide_error_label(self.error_label)

    # -- slots ----------------------------------------------------------------------------

    def _on_password_edit_return_pressed(self) -> None:
        self._submit()

    def _on_unlock_button_clicked(self) -> None:
        self._submit()

    def _on_sign_out_button_clicked(self) -> None:
        if self._busy:
            return
        self._forget_password()
        self.sign_out_requested.emit()

    def _submit(self) -> None:
        if self._busy:
            return
        password = self.password_edit.text()
        if not password:
            self.show_error(self.tr("Enter your password to unlock."))
            return
        self._forget_password()
        self.set_busy(True)
        self.unlock_requested.emit(password)

    def _forget_password(self) -> None:
        # setText, not clear(): clear() keeps the removed text in the undo history.
        self.password_edit.setText("")
