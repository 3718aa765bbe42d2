"""The Prescriptions pane: pick a drug, write structured directions, see every warning, send the
script to the patient's pharmacy, and follow each script's status live.

The pane holds the script being written as plain values (``draft_values()``) and says what the
provider asked for; the presenter checks, sends and cancels through the hub. The directions
(sig) text is shown as the pharmacy will print it. Free text is only ever plain text here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.core.formulary import Drug, Sig
from workstation.core.prescribing import Finding
from workstation.ui.prescriptions.findings_box import FindingsBox
from workstation.ui.prescriptions.pharmacy_choice import PharmacyChoice
from workstation.ui.prescriptions.script_form import ScriptForm, ScriptFormArea
from workstation.ui.prescriptions.sent_scripts import SentScripts
from workstation.ui.widgets.card import plain
from workstation.ui.widgets.draft_pane import DraftPane

DRUG_ROLE = Qt.ItemDataRole.UserRole


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
        self.drug_results.setMinimumHeight(self.fontMetrics().height() * 3)
        self.drug_results.setWordWrap(True)
        self.drug_results_label = QLabel(self.tr("Often used for this condition"))
        self.drug_label = plain(self.tr("No drug chosen yet."))
        self.drug_label.setAccessibleName(self.tr("Chosen drug"))
        bold = self.drug_label.font()
        bold.setBold(True)
        self.drug_label.setFont(bold)

        # -- the script: directions, dispense, and where it goes --
        self.script = ScriptForm()
        self.script_area = ScriptFormArea(self.script)
        self.sig_text = self.script.sig_text
        self.duration = self.script.duration
        self.refills = self.script.refills
        self.note = self.script.note
        self.pharmacy = PharmacyChoice()
        self.script.form.addRow(self.tr("Pharmacy"), self.pharmacy)
        self.pharmacy_label = self.pharmacy.label
        self.change_pharmacy = self.pharmacy.change_button
        self.pharmacy_search = self.pharmacy.search
        self.pharmacy_results = self.pharmacy.results
        self.pharmacy_reason = self.pharmacy.reason

        # -- checks and sending --
        self.findings = FindingsBox()
        self.override_reason = QLineEdit()
        self.override_reason.setMaxLength(500)
        self.override_reason.setPlaceholderText(self.tr("Reason to go on despite the warnings"))
        self.override_reason.setAccessibleName(self.tr("Override reason"))
        self.message = plain("")
        self.message.setObjectName("prescriptionMessage")
        self.message.hide()
        self.check_button = QPushButton(self.tr("Chec&k"))
        self.check_button.setAccessibleName(self.tr("Check what the pharmacy needs"))
        self.send_button = QPushButton(self.tr("Send to pharmacy"))
        self.send_button.setAccessibleName(self.tr("Send the prescription to the pharmacy"))
        self.send_button.setToolTip(self.tr("Ctrl+Shift+Enter"))

        # -- the visit's scripts --
        self.sent_scripts = SentScripts()
        self.sent = self.sent_scripts.table
        self.sent_detail = self.sent_scripts.detail
        self.cancel_button = self.sent_scripts.cancel_button

        self._lay_out()
        self._connect()
        self.set_drug(None)

    def _lay_out(self) -> None:
        """Two columns, so that at 1366x768 during a video call (the call pane takes half the
        chart's height) the warnings, Send and the visit's scripts are in view without
        scrolling: finding a drug and the visit's scripts on the left; the script on the
        right, its fields scrolling on their own above the warnings and Send where room is
        short."""
        find = QLabel(self.tr("Find &a drug"))
        find.setBuddy(self.drug_search)
        find_row = QHBoxLayout()
        find_row.addWidget(find)
        find_row.addWidget(self.drug_search, 1)
        # Whatever height is left, three lines at least; it asks for none of its own, so the
        # tab never scrolls for it.
        self.drug_results.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Ignored)
        left = QVBoxLayout()
        left.setSpacing(4)
        left.addLayout(find_row)
        left.addWidget(self.drug_results_label)
        left.addWidget(self.drug_results, 1)
        left.addSpacing(4)
        left.addWidget(self.sent_scripts)

        send_row = QHBoxLayout()
        for widget in (self.override_reason, self.check_button, self.send_button):
            send_row.addWidget(widget)
        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.drug_label)
        right.addWidget(self.script_area, 1)
        right.addWidget(self.findings)
        right.addLayout(send_row)
        right.addWidget(self.message)
        right.addStretch(0)  # room left over goes below Send, which stays by the fields

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(12)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def _connect(self) -> None:
        self.drug_search.textChanged.connect(self.drug_search_changed)
        self.drug_results.itemActivated.connect(self._on_drug_chosen)
        self.drug_results.itemClicked.connect(self._on_drug_chosen)
        self.script.edited.connect(self._on_value_changed)
        self.override_reason.textChanged.connect(self._on_reason_changed)
        self.pharmacy.edited.connect(self._on_value_changed)
        self.pharmacy.search_changed.connect(self.pharmacy_search_changed)
        self.check_button.clicked.connect(self.check_requested)
        self.send_button.clicked.connect(self.send_requested)
        self.sent_scripts.cancel_requested.connect(self.cancel_requested)
        for keys in ("Ctrl+Shift+Return", "Ctrl+Shift+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._on_send_shortcut)

    # -- what the presenter calls -----------------------------------------------------------

    def reset(self, chosen_pharmacy: Mapping[str, Any] | None) -> None:
        """A new chart: nothing written, the patient's pharmacy preselected, no scripts."""
        self._quiet += 1
        try:
            self.pharmacy.set_patient_choice(chosen_pharmacy)
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
        pharmacy = self.pharmacy.pharmacy() or {}
        values = {
            **self.script.values(), "override_reason": self.override_reason.text(),
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
                self.script.restore(values, drug)
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
            self.script.set_fields_enabled(drug is not None)
            self.drug_label.setText(self.tr("No drug chosen yet.") if drug is None
                                    else f"{drug.name}  (RxNorm {drug.rxcui})")
            self.script.fill(drug)
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
        return self.script.sig(self._drug.route)

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
        pharmacy = self.pharmacy.pharmacy() or {}
        return {
            "rxcui": self._drug.rxcui,
            "sig": {"dose": str(sig.dose), "dose_unit": sig.dose_unit,
                    "frequency": sig.frequency, "duration_days": sig.duration_days,
                    "prn": sig.prn},
            **self.script.dispense(),
            "pharmacy_ncpdp_id": str(pharmacy.get("ncpdp_id", "")),
            "pharmacy_change_reason": self.pharmacy_reason.text().strip()
            if self.pharmacy_changed() else "",
            "override_reason": self.override_reason.text().strip(),
        }

    def pharmacy_changed(self) -> bool:
        return self.pharmacy.changed_from_patient_choice()

    def show_pharmacy(self, pharmacy: Mapping[str, Any] | None) -> None:
        self.pharmacy.show_pharmacy(pharmacy)

    def set_pharmacy_results(self, pharmacies: Sequence[Mapping[str, Any]]) -> None:
        self.pharmacy.set_results(pharmacies)

    def show_sig_text(self, text: str) -> None:
        self.sig_text.setText(text)

    def show_findings(self, findings: Sequence[Finding],
                      problems: Sequence[str] = ()) -> None:
        """What the checks found: refusals and warnings, then fields the pharmacy needs."""
        self.findings.show_findings(findings, problems)
        # Heard again where the reason is typed.
        self.override_reason.setAccessibleDescription(self.findings.accessibleDescription()
                                                      if findings else "")
        self._findings = list(findings)
        self._problems = list(problems)
        self._update_buttons()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_prescriptions(self, prescriptions: Sequence[Mapping[str, Any]]) -> None:
        self.sent_scripts.show_prescriptions(prescriptions)

    def selected_prescription(self) -> str | None:
        return self.sent_scripts.selected()

    def clear_after_send(self) -> None:
        """The script went: the pane is ready for the next, and its draft is emptied."""
        self._quiet += 1
        try:
            self.drug_search.clear()
            self.set_drug(None)
            self.show_findings([])
            self.show_pharmacy(self.pharmacy.patient_choice())
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
            self.script.dose.setFocus()

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

    def _on_send_shortcut(self) -> None:
        if self.send_button.isEnabled():
            self.send_requested.emit()

    def _update_buttons(self, *_args: object) -> None:
        ready = self._writable and self._drug is not None \
            and self.pharmacy.pharmacy() is not None
        refused = any(f.blocks for f in self._findings)
        needs_reason = any(not f.blocks for f in self._findings) \
            and not self.override_reason.text().strip()
        needs_why = self.pharmacy_changed() and not self.pharmacy_reason.text().strip()
        self.override_reason.setEnabled(any(not f.blocks for f in self._findings))
        self.check_button.setEnabled(ready and not refused)
        self.send_button.setEnabled(ready and not refused and not needs_reason
                                    and not needs_why)
