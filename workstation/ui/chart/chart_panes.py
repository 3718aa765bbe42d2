"""The panes the provider writes in: diagnosis, treatment plan, disposition and sign-off.

Each pane holds its draft as plain data (``body()`` / ``set_body()``) and says when it changed;
the presenter saves drafts and talks to the hub. Free text is only ever plain text here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workstation.core.charting import CALL_OUTCOME_NAMES, DISPOSITION_NAMES, Disposition
from workstation.ui.widgets.draft_pane import DraftPane

CODE_ROLE = Qt.ItemDataRole.UserRole
DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1
PRIMARY_ROLE = Qt.ItemDataRole.UserRole + 2


def _code_text(code: str, description: str, primary: bool = False) -> str:
    return f"{code}  {description}" + ("  — primary" if primary else "")


class DiagnosisPane(DraftPane):
    """ICD-10-CM search with the condition's shortlist; one primary and any secondary codes.

    Signals:
        changed(): the chosen diagnoses changed.
        search_requested(str): look up codes (empty text: the condition's shortlist).
    """

    changed = Signal()
    search_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(self.tr("Search by code (J02.9) or words (strep)"))
        self.search_edit.setAccessibleName(self.tr("Search ICD-10-CM"))
        self.search_edit.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setAccessibleName(self.tr("Matching diagnosis codes"))
        self.results_label = QLabel(self.tr("Suggested for this condition"))
        self.add_button = QPushButton(self.tr("Add diagnosis"))
        self.add_button.setAccessibleName(self.tr("Add the selected code to the diagnoses"))
        self.chosen = QListWidget()
        self.chosen.setAccessibleName(self.tr("Diagnoses of this visit"))
        self.chosen.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.primary_button = QPushButton(self.tr("Ma&ke primary"))
        self.primary_button.setAccessibleName(self.tr("Make the selected diagnosis primary"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setAccessibleName(self.tr("Remove the selected diagnosis"))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        search = QLabel(self.tr("Find &a code"))
        search.setBuddy(self.search_edit)
        layout.addWidget(search)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.results_label)
        layout.addWidget(self.results, 3)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        chosen_label = QLabel(self.tr("Diagnoses (the first added is primary)"))
        chosen_label.setBuddy(self.chosen)
        layout.addWidget(chosen_label)
        layout.addWidget(self.chosen, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.primary_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

        self.search_edit.textChanged.connect(self.search_requested)
        self.search_edit.returnPressed.connect(self._add_selected)
        self.results.itemActivated.connect(lambda _item: self._add_selected())
        self.add_button.clicked.connect(self._add_selected)
        self.primary_button.clicked.connect(self._make_primary)
        self.remove_button.clicked.connect(self._remove)
        self._update_buttons()
        self.chosen.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.results.currentRowChanged.connect(lambda _row: self._update_buttons())

    # -- what the presenter calls -------------------------------------------------------------

    def show_results(self, codes: Sequence[Mapping[str, Any]], *, shortlist: bool) -> None:
        self.results.clear()
        for c in codes:
            item = QListWidgetItem(_code_text(str(c["code"]), str(c["description"])))
            item.setData(CODE_ROLE, str(c["code"]))
            item.setData(DESCRIPTION_ROLE, str(c["description"]))
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        self.results_label.setText(
            self.tr("Suggested for this condition") if shortlist
            else self.tr("%n matching billable code(s)", "", self.results.count()))
        self._update_buttons()

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def body(self) -> dict[str, Any]:
        return {"diagnoses": [
            {"code": item.data(CODE_ROLE), "description": item.data(DESCRIPTION_ROLE),
             "primary": bool(item.data(PRIMARY_ROLE))}
            for item in (self.chosen.item(i) for i in range(self.chosen.count()))
        ]}

    def set_body(self, body: Mapping[str, Any]) -> None:
        self.chosen.clear()
        for d in body.get("diagnoses") or ():
            self._append(str(d.get("code", "")), str(d.get("description", "")),
                         bool(d.get("primary")))
        self._update_buttons()

    def set_read_only(self, read_only: bool) -> None:
        for w in (self.search_edit, self.results, self.add_button, self.primary_button,
                  self.remove_button):
            w.setEnabled(not read_only)

    # -- actions ----------------------------------------------------------------------------

    def _append(self, code: str, description: str, primary: bool) -> None:
        item = QListWidgetItem(_code_text(code, description, primary))
        item.setData(CODE_ROLE, code)
        item.setData(DESCRIPTION_ROLE, description)
        item.setData(PRIMARY_ROLE, primary)
        self.chosen.addItem(item)

    def _add_selected(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        code = str(item.data(CODE_ROLE))
        if code in {d["code"] for d in self.body()["diagnoses"]}:
            self.show_message(self.tr("%1 is already a diagnosis of this visit.").replace(
                "%1", code))
            return
        self._append(code, str(item.data(DESCRIPTION_ROLE)), self.chosen.count() == 0)
        self.show_message("")
        self.chosen.setCurrentRow(self.chosen.count() - 1)
        self.changed.emit()

    def _make_primary(self) -> None:
        row = self.chosen.currentRow()
        if row < 0:
            return
        for i in range(self.chosen.count()):
            item = self.chosen.item(i)
            item.setData(PRIMARY_ROLE, i == row)
            item.setText(_code_text(item.data(CODE_ROLE), item.data(DESCRIPTION_ROLE), i == row))
        self.changed.emit()

    def _remove(self) -> None:
        row = self.chosen.currentRow()
        if row < 0:
            return
        was_primary = bool(self.chosen.item(row).data(PRIMARY_ROLE))
        self.chosen.takeItem(row)
        if was_primary and self.chosen.count():
            self.chosen.setCurrentRow(0)
            self._make_primary()
        self._update_buttons()
        self.changed.emit()

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(self.search_edit.isEnabled()
                                   and self.results.currentItem() is not None)
        has = self.chosen.currentItem() is not None and self.search_edit.isEnabled()
        self.primary_button.setEnabled(has)
        self.remove_button.setEnabled(has)


PLAN_FIELDS = (
    ("plan", "Tre&atment plan"),
    ("patient_instructions", "Patient instr&uctions"),
    ("follow_up", "Follo&w-up"),
    ("return_precautions", "Return precautions"),
    ("work_note", "Wor&k/school note"),
)


class PlanPane(DraftPane):
    """The treatment plan, from the condition's template, edited freely.

    Signals:
        changed(): any field changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edits: dict[str, QPlainTextEdit] = {}
        self.template_button = QPushButton(self.tr("Fill empt&y fields from the template"))
        self.template_button.setAccessibleName(
            self.tr("Fill the empty fields from this condition's template"))
        self._template: Mapping[str, str] = {}
        form = QFormLayout()
        for key, label in PLAN_FIELDS:
            edit = QPlainTextEdit()
            edit.setTabChangesFocus(True)
            edit.setAccessibleName(self.tr(label.replace("&", "")))
            edit.textChanged.connect(self.changed)
            self.edits[key] = edit
            title = QLabel(self.tr(label))
            title.setBuddy(edit)
            form.addRow(title, edit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.template_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(form)
        self.template_button.clicked.connect(self.fill_from_template)

    def set_template(self, template: Mapping[str, str]) -> None:
        self._template = dict(template)
        self.template_button.setEnabled(any(str(v).strip() for v in template.values()))

    def fill_from_template(self) -> None:
        """Only empty fields: nothing the provider typed is overwritten."""
        for key, edit in self.edits.items():
            text = str(self._template.get(key) or "")
            if text and not edit.toPlainText().strip():
                edit.setPlainText(text)

    def body(self) -> dict[str, Any]:
        return {key: edit.toPlainText() for key, edit in self.edits.items()}

    def set_body(self, body: Mapping[str, Any]) -> None:
        for key, edit in self.edits.items():
            edit.blockSignals(True)
            edit.setPlainText(str(body.get(key) or ""))
            edit.blockSignals(False)

    def set_read_only(self, read_only: bool) -> None:
        for edit in self.edits.values():
            edit.setReadOnly(read_only)
        self.template_button.setEnabled(not read_only and bool(self._template))


class DispositionPane(DraftPane):
    """How the visit ends, the identity check, and the sign button with what still blocks it.

    Signals:
        changed(): any answer changed.
        sign_requested(): Sign & close (Ctrl+Enter) pressed while allowed.
        addendum_requested(str): an addendum to add to the signed note.
    """

    changed = Signal()
    sign_requested = Signal()
    addendum_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        box = QGroupBox(self.tr("Disposition"))
        box_layout = QVBoxLayout(box)
        for value in Disposition:
            radio = QRadioButton(self.tr(DISPOSITION_NAMES[value]))
            radio.setAccessibleName(self.tr(DISPOSITION_NAMES[value]))
            self.group.addButton(radio)
            self.radios[value.value] = radio
            box_layout.addWidget(radio)
        self.redirect_edit = QLineEdit()
        self.redirect_edit.setAccessibleName(self.tr("Where the patient was sent"))
        self.redirect_edit.setPlaceholderText(self.tr("e.g. Main Street urgent care, today"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName(self.tr("Reason"))
        # Asked only when the video call never connected or dropped for good.
        self.call_outcome_combo = QComboBox()
        self.call_outcome_combo.setAccessibleName(self.tr("What happened to the video call"))
        self.call_outcome_combo.addItem(self.tr("Choose what happened…"), None)
        for outcome, name in CALL_OUTCOME_NAMES.items():
            self.call_outcome_combo.addItem(self.tr(name), outcome.value)
        self.call_outcome_label = QLabel(self.tr("Video call"))
        self.call_outcome_label.setBuddy(self.call_outcome_combo)
        self.call_outcome_hint = QLabel(self.tr(
            "The video call never connected, or dropped and did not come back: say what "
            "happened. The note and the patient's summary say so."))
        self.call_outcome_hint.setWordWrap(True)
        self._call_failed = False
        self.fee_label = QLabel()
        self.fee_label.setWordWrap(True)
        self.fee_label.setTextFormat(Qt.TextFormat.PlainText)
        self.identity_box = QCheckBox(
            self.tr("Identit&y confirmed (name and date of birth)"))
        self.identity_box.setAccessibleName(
            self.tr("Identity confirmed by name and date of birth"))
        self.missing_label = QLabel()
        self.missing_label.setWordWrap(True)
        self.missing_label.setTextFormat(Qt.TextFormat.PlainText)
        self.missing_label.setAccessibleName(self.tr("What is still missing before signing"))
        self.sign_button = QPushButton(self.tr("Sign && close  (Ctrl+Enter)"))
        self.sign_button.setAccessibleName(self.tr("Sign and close the visit"))
        self.signed_text = QPlainTextEdit()
        self.signed_text.setReadOnly(True)
        self.signed_text.setAccessibleName(self.tr("Signed note"))
        self.addendum_edit = QPlainTextEdit()
        self.addendum_edit.setAccessibleName(self.tr("Addendum"))
        self.addendum_edit.setTabChangesFocus(True)
        self.addendum_button = QPushButton(self.tr("Add addend&um"))
        self.addendum_button.setAccessibleName(self.tr("Add the addendum to the signed note"))

        form = QFormLayout()
        form.addRow(self.tr("Sent to"), self.redirect_edit)
        form.addRow(self.tr("Re&ason"), self.reason_edit)
        form.addRow(self.call_outcome_label, self.call_outcome_combo)
        form.addRow(self.call_outcome_hint)
        self._form = form
        self.editing = QWidget()
        editing = QVBoxLayout(self.editing)
        editing.setContentsMargins(0, 0, 0, 0)
        editing.addWidget(box)
        editing.addLayout(form)
        editing.addWidget(self.fee_label)
        editing.addWidget(self.identity_box)
        editing.addWidget(self.missing_label)
        editing.addWidget(self.sign_button, 0, Qt.AlignmentFlag.AlignLeft)
        editing.addStretch(1)
        self.signed = QWidget()
        signed = QVBoxLayout(self.signed)
        signed.setContentsMargins(0, 0, 0, 0)
        signed.addWidget(QLabel(self.tr("Signed note (locked)")))
        signed.addWidget(self.signed_text, 3)
        addendum_label = QLabel(self.tr("Addendum"))
        addendum_label.setBuddy(self.addendum_edit)
        signed.addWidget(addendum_label)
        signed.addWidget(self.addendum_edit, 1)
        signed.addWidget(self.addendum_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editing)
        layout.addWidget(self.signed)
        self.signed.hide()

        self.group.buttonToggled.connect(self._on_button_toggled)
        for edit in (self.redirect_edit, self.reason_edit):
            edit.textChanged.connect(self.changed)
        self.identity_box.toggled.connect(self.changed)
        self.call_outcome_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.sign_button.clicked.connect(self.request_sign)
        self.addendum_button.clicked.connect(self._request_addendum)
        self._fee_note = ""
        self._on_toggled()
        self.set_missing([])
        self._show_call_outcome()

    def set_call_failed(self, failed: bool) -> None:
        """Whether this video visit's call never connected or dropped for good (asks what
        happened then)."""
        self._call_failed = failed
        self._show_call_outcome()

    def _show_call_outcome(self) -> None:
        shown = self._call_failed or self.call_outcome_combo.currentData() is not None
        self._form.setRowVisible(self.call_outcome_combo, shown)
        self._form.setRowVisible(self.call_outcome_hint, shown)

    def set_fee_note(self, text: str) -> None:
        self._fee_note = text
        self._on_toggled()

    def disposition(self) -> str | None:
        return next((k for k, r in self.radios.items() if r.isChecked()), None)

    def body(self) -> dict[str, Any]:
        return {"disposition": self.disposition(), "redirect_to": self.redirect_edit.text(),
                "reason": self.reason_edit.text(),
                "identity_confirmed": self.identity_box.isChecked(),
                "call_outcome": self.call_outcome_combo.currentData()}

    def set_body(self, body: Mapping[str, Any]) -> None:
        for w in (self.group, self.redirect_edit, self.reason_edit, self.identity_box,
                  self.call_outcome_combo):
            w.blockSignals(True)
        chosen = body.get("disposition")
        self.group.setExclusive(False)
        for key, radio in self.radios.items():
            radio.setChecked(key == chosen)
        self.group.setExclusive(True)
        self.redirect_edit.setText(str(body.get("redirect_to") or ""))
        self.reason_edit.setText(str(body.get("reason") or ""))
        self.identity_box.setChecked(body.get("identity_confirmed") is True)
        self.call_outcome_combo.setCurrentIndex(
            max(0, self.call_outcome_combo.findData(body.get("call_outcome"))))
        for w in (self.group, self.redirect_edit, self.reason_edit, self.identity_box,
                  self.call_outcome_combo):
            w.blockSignals(False)
        self._on_toggled()
        self._show_call_outcome()

    def set_missing(self, missing: Sequence[str]) -> None:
        """What still blocks signing, in words; the button is enabled only when nothing does."""
        self.sign_button.setEnabled(not missing)
        self.missing_label.setText(
            self.tr("Ready to sign.") if not missing
            else self.tr("Before signing: ") + "; ".join(missing) + ".")

    def show_signed(self, text: str) -> None:
        self.editing.hide()
        self.signed.show()
        self.signed_text.setPlainText(text)

    def show_editing(self) -> None:
        self.signed.hide()
        self.editing.show()

    def clear_addendum(self) -> None:
        self.addendum_edit.clear()

    def _on_button_toggled(self, _button: object, checked: bool) -> None:
        self._on_toggled()
        if checked:
            self.changed.emit()

    def _on_toggled(self) -> None:
        """Enable what the chosen disposition needs; a change by code is not a user's edit."""
        chosen = self.disposition()
        self.redirect_edit.setEnabled(chosen in ("redirected", "emergency_department"))
        self.reason_edit.setEnabled(chosen in ("redirected", "no_show", "cancelled"))
        self.fee_label.setText(self._fee_note if chosen == "redirected" else "")
        self.fee_label.setVisible(chosen == "redirected")

    def request_sign(self) -> None:
        """Sign & close if allowed (the chart's Ctrl+Enter comes here from any tab)."""
        # From any tab of the chart: hidden only when the note is already signed.
        if not self.editing.isHidden() and self.sign_button.isEnabled():
            self.sign_requested.emit()

    def _request_addendum(self) -> None:
        text = self.addendum_edit.toPlainText()
        if text.strip():
            self.addendum_requested.emit(text)
