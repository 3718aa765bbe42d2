"""The Prescriptions pane: pick a drug, write structured directions, see every warning, send the
script to the patient's pharmacy, and follow each script's status live.

The pane holds the script being written as plain values (``draft_values()``) and says what the
provider asked for; the presenter checks, sends and cancels through the hub. The directions
(sig) text is shown as the pharmacy will print it. Free text is only ever plain text here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.core.formulary import DISPENSE_UNITS, DOSE_UNITS, FREQUENCIES, Drug, Sig
from workstation.core.prescribing import MAX_REFILLS, Finding
from workstation.ui.widgets.card import plain
from workstation.ui.widgets.draft_pane import DraftPane

DRUG_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole
MAX_NOTE = 210


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 3))).normalize()


class PrescriptionPane(DraftPane):
    """The script being written, its checks, and the visit's scripts with their status.

    Signals:
        drug_search_changed(str): look up drugs (empty text: the condition's shortlist).
        draft_changed(): a value of the script being written changed (checks run again).
        changed(): the provider changed the script being written (its draft is saved).
        pharmacy_search_changed(str): look up pharmacies to send to instead.
        check_requested(): run the pre-send check without sending.
        send_requested(): send the script.
        cancel_requested(str): cancel the script with this id.
    """

    drug_search_changed = Signal(str)
    draft_changed = Signal()
    changed = Signal()
    pharmacy_search_changed = Signal(str)
    check_requested = Signal()
    send_requested = Signal()
    cancel_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drug: Drug | None = None
        self._chosen_pharmacy: Mapping[str, Any] | None = None
        self._pharmacy: Mapping[str, Any] | None = None
        self._loading = False
        self._quiet = 0  # programmatic changes: checks run, but no draft is saved for them
        self._lookup: Callable[[str], Drug | None] | None = None
        self._pending: Mapping[str, Any] | None = None
        # Given when the script is first sent and kept with its draft until the provider
        # changes it: a repeat of a send the hub already took is recognised, not doubled.
        self.message_id: str | None = None
        self._findings: list[Finding] = []
        self._problems: list[str] = []
        self._writable = True

        # -- the drug --
        self.drug_search = QLineEdit()
        self.drug_search.setPlaceholderText(self.tr("Search by name, class or RxNorm code"))
        self.drug_search.setAccessibleName(self.tr("Search the formulary"))
        self.drug_search.setClearButtonEnabled(True)
        self.drug_results = QListWidget()
        self.drug_results.setAccessibleName(self.tr("Matching drugs"))
        self.drug_results.setMinimumHeight(self.fontMetrics().height() * 5)
        self.drug_results.setWordWrap(True)
        self.drug_results_label = QLabel(self.tr("Often used for this condition"))
        self.drug_label = plain(self.tr("No drug chosen yet."))
        self.drug_label.setAccessibleName(self.tr("Chosen drug"))
        bold = self.drug_label.font()
        bold.setBold(True)
        self.drug_label.setFont(bold)

        # -- directions (sig) --
        self.dose = QDoubleSpinBox()
        self.dose.setRange(0.0, 1000.0)
        self.dose.setDecimals(2)
        self.dose.setAccessibleName(self.tr("Dose"))
        self.dose_unit = QComboBox()
        self.dose_unit.addItems(list(DOSE_UNITS))
        self.dose_unit.setAccessibleName(self.tr("Dose unit"))
        self.frequency = QComboBox()
        for code, (words, _per_day) in FREQUENCIES.items():
            self.frequency.addItem(words, code)
        self.frequency.setAccessibleName(self.tr("How often"))
        self.prn = QCheckBox(self.tr("As &needed"))
        self.duration = QSpinBox()
        self.duration.setRange(0, 365)
        self.duration.setSpecialValueText(self.tr("no set end"))
        self.duration.setSuffix(self.tr(" days"))
        self.duration.setAccessibleName(self.tr("For how many days"))
        self.route_label = plain("")
        self.sig_text = plain("")
        self.sig_text.setAccessibleName(self.tr("Directions as the pharmacy prints them"))

        # -- dispense --
        self.quantity = QDoubleSpinBox()
        self.quantity.setRange(0.0, 10000.0)
        self.quantity.setDecimals(1)
        self.quantity.setAccessibleName(self.tr("Quantity"))
        self.quantity_unit = QComboBox()
        self.quantity_unit.addItems(list(DISPENSE_UNITS))
        self.quantity_unit.setAccessibleName(self.tr("Quantity unit"))
        self.days_supply = QSpinBox()
        self.days_supply.setRange(1, 365)
        self.days_supply.setSuffix(self.tr(" days"))
        self.days_supply.setAccessibleName(self.tr("Days supply"))
        self.refills = QSpinBox()
        self.refills.setRange(0, MAX_REFILLS)
        self.refills.setAccessibleName(self.tr("Refills"))
        self.substitution = QCheckBox(self.tr("Generic &substitution allowed"))
        self.substitution.setChecked(True)
        self.note = QLineEdit()
        self.note.setMaxLength(MAX_NOTE)
        self.note.setAccessibleName(self.tr("Note to the pharmacist"))

        # -- pharmacy --
        self.pharmacy_label = plain("")
        self.pharmacy_label.setAccessibleName(self.tr("Pharmacy the script goes to"))
        self.change_pharmacy = QPushButton(self.tr("C&hange pharmacy…"))
        self.change_pharmacy.setAccessibleName(self.tr("Send to another pharmacy"))
        self.pharmacy_search = QLineEdit()
        self.pharmacy_search.setPlaceholderText(self.tr("Name, city, ZIP or NCPDP ID"))
        self.pharmacy_search.setAccessibleName(self.tr("Search pharmacies"))
        self.pharmacy_results = QListWidget()
        self.pharmacy_results.setAccessibleName(self.tr("Matching pharmacies"))
        self.pharmacy_results.setMaximumHeight(self.fontMetrics().height() * 6)
        self.pharmacy_reason = QLineEdit()
        self.pharmacy_reason.setMaxLength(500)
        self.pharmacy_reason.setPlaceholderText(self.tr("Why not the patient's choice?"))
        self.pharmacy_reason.setAccessibleName(self.tr("Why the pharmacy changed"))
        self.pharmacy_chooser = QWidget()
        chooser = QVBoxLayout(self.pharmacy_chooser)
        chooser.setContentsMargins(0, 0, 0, 0)
        chooser.addWidget(self.pharmacy_search)
        chooser.addWidget(self.pharmacy_results)
        self.pharmacy_chooser.hide()
        self.pharmacy_reason.hide()

        # -- checks and sending --
        self.findings = QListWidget()
        self.findings.setAccessibleName(self.tr("Warnings and missing fields"))
        self.findings.setMaximumHeight(self.fontMetrics().height() * 5)
        self.findings.setMinimumHeight(self.fontMetrics().height() * 3)
        self.findings.setWordWrap(True)
        self.override_reason = QLineEdit()
        self.override_reason.setMaxLength(500)
        self.override_reason.setPlaceholderText(self.tr("Reason to go on despite the warnings"))
        self.override_reason.setAccessibleName(self.tr("Override reason"))
        self.message = plain("")
        self.message.setObjectName("prescriptionMessage")
        self.message.hide()
        self.check_button = QPushButton(self.tr("Chec&k"))
        self.check_button.setAccessibleName(self.tr("Check what the pharmacy needs"))
        self.send_button = QPushButton(self.tr("Sen&d to pharmacy"))
        self.send_button.setAccessibleName(self.tr("Send the prescription to the pharmacy"))
        self.send_button.setToolTip(self.tr("Ctrl+Shift+Enter"))

        # -- the visit's scripts --
        self.sent = QTableWidget(0, 2)
        self.sent.setWordWrap(False)
        self.sent.setHorizontalHeaderLabels([self.tr("Drug"), self.tr("Status")])
        self.sent.setAccessibleName(self.tr("Prescriptions of this visit"))
        self.sent.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sent.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sent.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sent.verticalHeader().hide()
        header = self.sent.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # The selected script in full: pharmacy, status and the network's or pharmacy's words.
        self.sent_detail = plain("")
        self.sent_detail.setAccessibleName(self.tr("The selected prescription in full"))
        # A short table: its preferred height would otherwise push the pane into scrolling at
        # 1366x768 (the tab's scroll area sizes word-wrapped content by preferred heights).
        self.sent.setMinimumHeight(self.fontMetrics().height() * 4)
        self.sent.setMaximumHeight(self.fontMetrics().height() * 7)
        self.cancel_button = QPushButton(self.tr("Ca&ncel selected…"))
        self.cancel_button.setAccessibleName(self.tr("Cancel the selected prescription"))
        self.cancel_button.setEnabled(False)

        self._lay_out()
        self._connect()
        self.set_drug(None)

    def _lay_out(self) -> None:
        """Two columns, so a script can be written and sent without scrolling at 1366x768:
        finding a drug and the visit's scripts on the left; the script itself on the right."""
        find = QLabel(self.tr("&Find a drug"))
        find.setBuddy(self.drug_search)
        left = QVBoxLayout()
        left.addWidget(find)
        left.addWidget(self.drug_search)
        left.addWidget(self.drug_results_label)
        left.addWidget(self.drug_results, 3)
        sent = QLabel(self.tr("Sent from this visit"))
        sent.setBuddy(self.sent)
        left.addWidget(sent)
        left.addWidget(self.sent, 1)
        left.addWidget(self.sent_detail)
        cancel_row = QHBoxLayout()
        cancel_row.addStretch(1)
        cancel_row.addWidget(self.cancel_button)
        left.addLayout(cancel_row)

        def row(*widgets: QWidget, stretch: bool = True) -> QHBoxLayout:
            line = QHBoxLayout()
            for widget in widgets:
                line.addWidget(widget)
            if stretch:
                line.addStretch(1)
            return line

        def caption(text: str, buddy: QWidget) -> QLabel:
            label = QLabel(text)
            label.setBuddy(buddy)
            return label

        form = QFormLayout()
        form.addRow(caption(self.tr("D&ose"), self.dose),
                    row(self.dose, self.dose_unit, self.route_label))
        form.addRow(caption(self.tr("&How often"), self.frequency),
                    row(self.frequency, self.prn, QLabel(self.tr("for")), self.duration))
        form.addRow(self.tr("Directions"), self.sig_text)
        form.addRow(caption(self.tr("&Quantity"), self.quantity),
                    row(self.quantity, self.quantity_unit, caption(self.tr("Days s&upply"),
                                                                   self.days_supply),
                        self.days_supply))
        form.addRow(caption(self.tr("&Refills"), self.refills),
                    row(self.refills, self.substitution))
        form.addRow(caption(self.tr("No&te to pharmacist"), self.note), self.note)
        form.addRow(self.tr("Pharmacy"), self.pharmacy_label)
        form.addRow("", row(self.change_pharmacy))
        form.addRow("", self.pharmacy_chooser)
        form.addRow("", self.pharmacy_reason)

        right = QVBoxLayout()
        right.addWidget(self.drug_label)
        right.addLayout(form)
        right.addWidget(self.findings)
        right.addLayout(row(self.override_reason, self.check_button, self.send_button,
                            stretch=False))
        right.addWidget(self.message)
        right.addStretch(1)

        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def _connect(self) -> None:
        self.drug_search.textChanged.connect(self.drug_search_changed)
        self.drug_results.itemActivated.connect(self._on_drug_chosen)
        self.drug_results.itemClicked.connect(self._on_drug_chosen)
        for spin in (self.dose, self.quantity):
            spin.valueChanged.connect(self._on_value_changed)
        for box in (self.duration, self.days_supply, self.refills):
            box.valueChanged.connect(self._on_value_changed)
        for combo in (self.dose_unit, self.frequency, self.quantity_unit):
            combo.currentIndexChanged.connect(self._on_value_changed)
        for check in (self.prn, self.substitution):
            check.toggled.connect(self._on_value_changed)
        self.note.textChanged.connect(self._on_value_changed)
        self.override_reason.textChanged.connect(self._on_reason_changed)
        self.pharmacy_reason.textChanged.connect(self._on_value_changed)
        self.change_pharmacy.clicked.connect(self._on_change_pharmacy)
        self.pharmacy_search.textChanged.connect(self.pharmacy_search_changed)
        self.pharmacy_results.itemActivated.connect(self._on_pharmacy_chosen)
        self.pharmacy_results.itemClicked.connect(self._on_pharmacy_chosen)
        self.check_button.clicked.connect(self.check_requested)
        self.send_button.clicked.connect(self.send_requested)
        self.sent.itemSelectionChanged.connect(self._on_sent_selection)
        self.cancel_button.clicked.connect(self._on_cancel)
        for keys in ("Ctrl+Shift+Return", "Ctrl+Shift+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._on_send_shortcut)

    # -- what the presenter calls -----------------------------------------------------------

    def reset(self, chosen_pharmacy: Mapping[str, Any] | None) -> None:
        """A new chart: nothing written, the patient's pharmacy preselected, no scripts."""
        self._quiet += 1
        try:
            self._chosen_pharmacy = chosen_pharmacy
            self._pending = None
            self.message_id = None
            self.drug_search.clear()
            self.set_drug(None)
            self.show_pharmacy(chosen_pharmacy)
            self.show_prescriptions([])
            self.show_message("")
        finally:
            self._quiet -= 1

    # -- the draft of the script being written ----------------------------------------------

    def body(self) -> dict[str, Any]:
        """The script being written as its draft: {} when no drug is chosen."""
        if self._drug is None:
            return {}
        pharmacy = self._pharmacy or {}
        values = {
            "dose": str(_decimal(self.dose.value())), "dose_unit": self.dose_unit.currentText(),
            "frequency": str(self.frequency.currentData()), "prn": str(self.prn.isChecked()),
            "duration_days": str(self.duration.value()),
            "quantity": str(_decimal(self.quantity.value())),
            "quantity_unit": self.quantity_unit.currentText(),
            "days_supply": str(self.days_supply.value()), "refills": str(self.refills.value()),
            "substitution_allowed": str(self.substitution.isChecked()),
            "note": self.note.text(), "override_reason": self.override_reason.text(),
            "pharmacy_reason": self.pharmacy_reason.text(),
            **{f"pharmacy_{key}": str(pharmacy.get(key, ""))
               for key in ("ncpdp_id", "name", "address", "city")},
        }
        return {"rxcui": self._drug.rxcui, "message_id": self.message_id or "",
                "values": values}

    def set_body(self, body: Mapping[str, Any]) -> None:
        """Restore a draft; shown once the formulary is at hand (``set_lookup``)."""
        self._pending = dict(body)
        self._apply_pending()

    def set_lookup(self, lookup: Callable[[str], Drug | None]) -> None:
        """How to find a drug by its RxNorm code (the formulary, once it is loaded)."""
        self._lookup = lookup
        self._apply_pending()

    def _apply_pending(self) -> None:
        body = self._pending
        if body is None or (body.get("rxcui") and self._lookup is None):
            return
        self._pending = None
        drug = self._lookup(str(body["rxcui"])) if body.get("rxcui") and self._lookup else None
        values = body.get("values") or {}
        self._quiet += 1
        try:
            self.set_drug(drug)
            self.message_id = str(body.get("message_id") or "") or None if drug else None
            if drug is None:
                return
            self._loading = True
            try:
                self.dose.setValue(float(values.get("dose", drug.sig.dose)))
                self.dose_unit.setCurrentText(str(values.get("dose_unit", drug.sig.dose_unit)))
                index = self.frequency.findData(values.get("frequency", drug.sig.frequency))
                self.frequency.setCurrentIndex(max(index, 0))
                self.prn.setChecked(values.get("prn") == "True")
                self.duration.setValue(int(values.get("duration_days") or 0))
                self.quantity.setValue(float(values.get("quantity", drug.quantity)))
                self.quantity_unit.setCurrentText(str(values.get("quantity_unit",
                                                                 drug.quantity_unit)))
                self.days_supply.setValue(int(values.get("days_supply") or drug.days_supply))
                self.refills.setValue(int(values.get("refills") or 0))
                self.substitution.setChecked(values.get("substitution_allowed") != "False")
                self.note.setText(str(values.get("note", "")))
                self.override_reason.setText(str(values.get("override_reason", "")))
                self.pharmacy_reason.setText(str(values.get("pharmacy_reason", "")))
            except (TypeError, ValueError):  # the rest keeps the drug's defaults
                self.show_message(self.tr("Part of the saved prescription could not be read; "
                                          "check its values before sending."))
            finally:
                self._loading = False
            if values.get("pharmacy_ncpdp_id"):
                self.show_pharmacy({key: str(values.get(f"pharmacy_{key}", ""))
                                    for key in ("ncpdp_id", "name", "address", "city")})
            self._on_value_changed()
        finally:
            self._quiet -= 1

    def set_drug_results(self, drugs: Sequence[Drug], shortlist: bool) -> None:
        self.drug_results_label.setText(self.tr("Often used for this condition") if shortlist
                                         else self.tr("Matching drugs"))
        self.drug_results.clear()
        for drug in drugs:
            text = drug.name + (self.tr("  — controlled, schedule %1").replace(
                "%1", drug.dea_schedule) if drug.dea_schedule else "")
            item = QListWidgetItem(text)
            item.setData(DRUG_ROLE, drug)
            self.drug_results.addItem(item)

    def set_drug(self, drug: Drug | None) -> None:
        """Choose a drug: its default directions and quantity fill the form."""
        self._drug = drug
        self._loading = True
        try:
            enabled = drug is not None
            for widget in (self.dose, self.dose_unit, self.frequency, self.prn, self.duration,
                           self.quantity, self.quantity_unit, self.days_supply, self.refills,
                           self.substitution, self.note):
                widget.setEnabled(enabled)
            if drug is None:
                self.drug_label.setText(self.tr("No drug chosen yet."))
                self.route_label.setText("")
                self.sig_text.setText("")
            else:
                self.drug_label.setText(f"{drug.name}  (RxNorm {drug.rxcui})")
                self.dose.setValue(float(drug.sig.dose))
                self.dose_unit.setCurrentText(drug.sig.dose_unit)
                self.frequency.setCurrentIndex(self.frequency.findData(drug.sig.frequency))
                self.prn.setChecked(drug.sig.prn)
                self.duration.setValue(drug.sig.duration_days or 0)
                self.route_label.setText(drug.route)
                self.quantity.setValue(float(drug.quantity))
                self.quantity_unit.setCurrentText(drug.quantity_unit)
                self.days_supply.setValue(drug.days_supply)
                self.refills.setValue(0)
                self.substitution.setChecked(True)
                self.note.clear()
            self.override_reason.clear()
            self.message_id = None
        finally:
            self._loading = False
        self._on_value_changed()

    def drug(self) -> Drug | None:
        return self._drug

    def sig(self) -> Sig | None:
        if self._drug is None:
            return None
        return Sig(dose=_decimal(self.dose.value()), dose_unit=self.dose_unit.currentText(),
                   route=self._drug.route, frequency=str(self.frequency.currentData()),
                   duration_days=self.duration.value() or None, prn=self.prn.isChecked())

    def set_writable(self, writable: bool) -> None:
        """Whether a new script may be written (not in a signed visit); the visit's scripts
        stay listed and can be cancelled either way."""
        for widget in (self.drug_search, self.drug_results, self.change_pharmacy,
                       self.override_reason, self.note):
            widget.setEnabled(writable)
        self._writable = writable
        if not writable:
            self._quiet += 1
            try:
                self.set_drug(None)
            finally:
                self._quiet -= 1
        self._update_buttons()

    def draft_values(self) -> dict[str, Any]:
        """The script as the hub takes it (without its message_id)."""
        sig = self.sig()
        assert sig is not None and self._drug is not None, "choose a drug first"
        pharmacy = self._pharmacy or {}
        return {
            "rxcui": self._drug.rxcui,
            "sig": {"dose": str(sig.dose), "dose_unit": sig.dose_unit,
                    "frequency": sig.frequency, "duration_days": sig.duration_days,
                    "prn": sig.prn},
            "quantity": str(_decimal(self.quantity.value())),
            "quantity_unit": self.quantity_unit.currentText(),
            "days_supply": self.days_supply.value(), "refills": self.refills.value(),
            "substitution_allowed": self.substitution.isChecked(),
            "note": self.note.text().strip(),
            "pharmacy_ncpdp_id": str(pharmacy.get("ncpdp_id", "")),
            "pharmacy_change_reason": self.pharmacy_reason.text().strip()
            if self.pharmacy_changed() else "",
            "override_reason": self.override_reason.text().strip(),
        }

    def pharmacy_changed(self) -> bool:
        chosen = (self._chosen_pharmacy or {}).get("ncpdp_id")
        return (self._pharmacy or {}).get("ncpdp_id") != chosen

    def show_pharmacy(self, pharmacy: Mapping[str, Any] | None) -> None:
        self._pharmacy = pharmacy
        if pharmacy is None:
            self.pharmacy_label.setText(self.tr("No pharmacy chosen. Change pharmacy to pick "
                                                "one."))
        else:
            mark = "" if not self.pharmacy_changed() else self.tr("  (not the patient's choice)")
            self.pharmacy_label.setText(
                f"{pharmacy.get('name', '')} · {pharmacy.get('address', '')}, "
                f"{pharmacy.get('city', '')} · NCPDP {pharmacy.get('ncpdp_id', '')}{mark}")
        self.pharmacy_reason.setVisible(pharmacy is not None and self.pharmacy_changed())
        self._on_value_changed()

    def set_pharmacy_results(self, pharmacies: Sequence[Mapping[str, Any]]) -> None:
        self.pharmacy_results.clear()
        for pharmacy in pharmacies:
            item = QListWidgetItem(f"{pharmacy.get('name', '')} — {pharmacy.get('address', '')}"
                                   f", {pharmacy.get('city', '')} {pharmacy.get('postal_code', '')}"
                                   f" · {pharmacy.get('hours', '')}")
            item.setData(DRUG_ROLE, dict(pharmacy))
            self.pharmacy_results.addItem(item)

    def show_sig_text(self, text: str) -> None:
        self.sig_text.setText(text)

    def show_findings(self, findings: Sequence[Finding],
                      problems: Sequence[str] = ()) -> None:
        """What the checks found: refusals and warnings, then fields the pharmacy needs."""
        self.findings.clear()
        for finding in findings:
            prefix = self.tr("Refused: ") if finding.blocks else self.tr("Warning: ")
            item = QListWidgetItem(prefix + finding.message)
            item.setData(DRUG_ROLE, finding.severity)
            self.findings.addItem(item)
        for problem in problems:
            self.findings.addItem(QListWidgetItem(self.tr("Missing for the pharmacy: ")
                                                  + problem))
        self._findings = list(findings)
        self._problems = list(problems)
        self._update_buttons()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_prescriptions(self, prescriptions: Sequence[Mapping[str, Any]]) -> None:
        selected = self.selected_prescription()
        self.sent.setRowCount(0)
        for rx in prescriptions:
            row = self.sent.rowCount()
            self.sent.insertRow(row)
            status = str(rx.get("status_text", rx.get("status", "")))
            detail = self.tr("%1 to %2: %3.").replace("%1", str(rx.get("drug", ""))).replace(
                "%2", str((rx.get("pharmacy") or {}).get("name", ""))).replace("%3", status)
            if rx.get("reason"):
                detail += " " + str(rx["reason"])
            for column, text in enumerate((str(rx.get("drug", "")), status)):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, rx.get("id"))
                item.setData(ID_ROLE + 1, bool(rx.get("cancellable")))
                item.setData(ID_ROLE + 2, detail)
                item.setToolTip(detail)
                self.sent.setItem(row, column, item)
            if rx.get("id") == selected:
                self.sent.selectRow(row)
        self._on_sent_selection()

    def selected_prescription(self) -> str | None:
        rows = self.sent.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.sent.item(rows[0].row(), 0)
        return None if item is None else str(item.data(ID_ROLE))

    def clear_after_send(self) -> None:
        """The script went: the pane is ready for the next, and its draft is emptied."""
        self._quiet += 1
        try:
            self.drug_search.clear()
            self.set_drug(None)
            self.show_findings([])
            self.show_pharmacy(self._chosen_pharmacy)
            self.pharmacy_reason.clear()
        finally:
            self._quiet -= 1
        self.changed.emit()

    def assign_message_id(self, message_id: str) -> None:
        """The script is about to be sent: its id goes into the draft first."""
        self.message_id = message_id
        self.changed.emit()

    # -- the provider's actions -------------------------------------------------------------

    def _on_drug_chosen(self, item: QListWidgetItem) -> None:
        drug = item.data(DRUG_ROLE)
        if isinstance(drug, Drug):
            self.set_drug(drug)
            self.changed.emit()
            self.dose.setFocus()

    def _on_value_changed(self, *_args: object) -> None:
        if self._loading:
            return
        sig = self.sig()
        self.sig_text.setText(sig.text if sig is not None else "")
        self._update_buttons()
        if not self._quiet:
            self.message_id = None  # a changed script is a new message
            self.changed.emit()
        self.draft_changed.emit()

    def _on_reason_changed(self, *_args: object) -> None:
        self._update_buttons()
        if not self._quiet and not self._loading and self._drug is not None:
            self.changed.emit()

    def _on_change_pharmacy(self) -> None:
        self.pharmacy_chooser.show()
        self.pharmacy_search.setFocus()
        self.pharmacy_search_changed.emit(self.pharmacy_search.text())

    def _on_pharmacy_chosen(self, item: QListWidgetItem) -> None:
        pharmacy = item.data(DRUG_ROLE)
        if isinstance(pharmacy, dict):
            self.pharmacy_chooser.hide()
            self.show_pharmacy(pharmacy)
            if self.pharmacy_changed():
                self.pharmacy_reason.setFocus()

    def _on_sent_selection(self) -> None:
        rows = self.sent.selectionModel().selectedRows()
        item = self.sent.item(rows[0].row(), 0) if rows else None
        self.cancel_button.setEnabled(bool(item is not None and item.data(ID_ROLE + 1)))
        if item is None and self.sent.rowCount():  # nothing chosen: the latest script
            item = self.sent.item(self.sent.rowCount() - 1, 0)
        self.sent_detail.setText(str(item.data(ID_ROLE + 2)) if item is not None else "")

    def _on_cancel(self) -> None:
        selected = self.selected_prescription()
        if selected:
            self.cancel_requested.emit(selected)

    def _on_send_shortcut(self) -> None:
        if self.send_button.isEnabled():
            self.send_requested.emit()

    def _update_buttons(self, *_args: object) -> None:
        ready = self._writable and self._drug is not None and self._pharmacy is not None
        refused = any(f.blocks for f in self._findings)
        needs_reason = any(not f.blocks for f in self._findings) \
            and not self.override_reason.text().strip()
        needs_why = self.pharmacy_changed() and not self.pharmacy_reason.text().strip()
        self.override_reason.setEnabled(any(not f.blocks for f in self._findings))
        self.check_button.setEnabled(ready and not refused)
        self.send_button.setEnabled(ready and not refused and not needs_reason
                                    and not needs_why)
