"""Settings > Practice: the practice's address and phone printed on prescriptions, and the
first provider's own NPI."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.practice import Practice, npi_problem
from workstation.ui.session.practice_fields import PracticeFields
from workstation.ui.widgets.card import ERROR_STYLE, hide_error_label, plain, show_error_label

SAVE_TEXT = str(QT_TRANSLATE_NOOP("PracticeDialog", "&Save"))
SAVING_TEXT = str(QT_TRANSLATE_NOOP("PracticeDialog", "Saving…"))


class PracticeDialog(QDialog):
    """The practice details as the hub keeps them, to change.

    It shows what the presenter gives it (:meth:`show_loading`, :meth:`show_settings`,
    :meth:`show_unavailable`) and asks for a save only once what it can check is right. An
    error, its own or the hub's, is shown above the buttons; nothing typed is cleared.

    Signals:
        save_requested(str, object): the NPI and the practice
            (a :class:`~workstation.core.practice.Practice`) to keep.
    """

    save_requested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Practice"))
        self._busy = False
        intro = plain(self.tr(
            "Every prescription you send carries your NPI and the practice's address and "
            "phone. What you save here is used on this workstation instead of the site "
            "settings file."))
        self.status_label = plain()
        self.status_label.setAccessibleName(self.tr("Status"))
        self.npi_edit = QLineEdit()
        self.npi_edit.setMaxLength(10)
        self.npi_edit.setPlaceholderText(self.tr("10 digits"))
        self.npi_edit.setAccessibleName(self.tr("Your NPI"))
        self.practice_fields = PracticeFields()

        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setAccessibleName(self.tr("Error"))
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        self.save_button = QPushButton(self.tr(SAVE_TEXT))
        self.save_button.setDefault(True)
        # A fixed name: the text changes to "Saving…" while the hub is asked.
        self.save_button.setAccessibleName(self.tr("Save"))
        self.cancel_button = QPushButton(self.tr("Cancel"))  # Esc, as in every dialog

        form = QFormLayout()
        form.addRow(self.tr("Your NP&I"), self.npi_edit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.status_label)
        layout.addLayout(form)
        layout.addWidget(self.practice_fields)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)

        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.cancel_button.clicked.connect(self.reject)  # Enter presses Save, the default
        self.show_loading()

    @property
    def edits(self) -> list[QLineEdit]:
        return [self.npi_edit, *self.practice_fields.edits]

    # -- what the presenter tells the dialog -------------------------------------------------

    def show_loading(self) -> None:
        self.status_label.setText(self.tr("Asking the hub for the practice details…"))
        self.status_label.show()
        self._set_editable(False)
        self.save_button.setEnabled(False)

    def show_settings(self, npi: str, practice: Practice) -> None:
        """The details the hub keeps, ready to change."""
        self.status_label.hide()
        self.npi_edit.setText(npi)
        self.practice_fields.set_practice(practice)
        self._set_editable(True)
        self.save_button.setEnabled(True)
        self.npi_edit.setFocus()

    def show_unavailable(self, message: str) -> None:
        """The details could not be read: nothing to change, only what went wrong."""
        self.status_label.hide()
        self._set_editable(False)
        self.save_button.setEnabled(False)
        self.cancel_button.setFocus()
        show_error_label(self.error_label, message)

    def set_busy(self, busy: bool) -> None:
        """While the hub is asked: no second request; the fields keep what was typed."""
        self._busy = busy
        self._set_editable(not busy)
        self.save_button.setEnabled(not busy)
        self.save_button.setText(self.tr(SAVING_TEXT if busy else SAVE_TEXT))
        if busy:
            hide_error_label(self.error_label)

    def show_error(self, message: str, field: str | None = None) -> None:
        """Say what went wrong; the cursor goes to ``field`` (the hub's name for it: ``npi``,
        ``address.postal_code``, ``phone``) when given and known."""
        self.set_busy(False)
        show_error_label(self.error_label, message)
        target = self.npi_edit if field == "npi" else (
            self.practice_fields.field(field) if field else None)
        if target is not None:
            target.setFocus()
            target.selectAll()

    # -- slots ------------------------------------------------------------------------------

    def _on_save_button_clicked(self) -> None:
        if self._busy or not self.save_button.isEnabled():
            return
        npi = self.npi_edit.text().strip()
        wrong = npi_problem(npi)
        if wrong is not None:
            self._invalid(wrong, self.npi_edit)
            return
        practice_wrong = self.practice_fields.problem()
        if practice_wrong is not None:
            self._invalid(*practice_wrong)
            return
        self.set_busy(True)
        self.save_requested.emit(npi, self.practice_fields.practice())

    def _invalid(self, message: str, field: QLineEdit) -> None:
        show_error_label(self.error_label, message)
        field.setFocus()

    def _set_editable(self, editable: bool) -> None:
        for edit in self.edits:
            edit.setReadOnly(not editable)
