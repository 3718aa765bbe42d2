"""Where the script goes: the patient's pharmacy, or another one with the reason why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.widgets.card import plain

PHARMACY_ROLE = Qt.ItemDataRole.UserRole


class PharmacyChoice(QWidget):
    """The pharmacy the script goes to: the patient's choice, preselected; "Change pharmacy"
    opens a search, and another pharmacy than the patient's asks why.

    Signals:
        search_changed(str): look up pharmacies to send to instead.
        edited(): the pharmacy or the reason for changing it changed.
    """

    search_changed = Signal(str)
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._chosen: Mapping[str, Any] | None = None  # the patient's
        self._pharmacy: Mapping[str, Any] | None = None  # the script's
        self.label = plain("")
        self.label.setAccessibleName(self.tr("Pharmacy the script goes to"))
        self.change_button = QPushButton(self.tr("Change pharmac&y…"))
        self.change_button.setAccessibleName(self.tr("Send to another pharmacy"))
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Name, city, ZIP or NCPDP ID"))
        self.search.setAccessibleName(self.tr("Search pharmacies"))
        self.results = QListWidget()
        self.results.setAccessibleName(self.tr("Matching pharmacies"))
        self.results.setMaximumHeight(self.fontMetrics().height() * 6)
        self.reason = QLineEdit()
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText(self.tr("Why not the patient's choice?"))
        self.reason.setAccessibleName(self.tr("Why the pharmacy changed"))
        self.chooser = QWidget()
        chooser = QVBoxLayout(self.chooser)
        chooser.setContentsMargins(0, 0, 0, 0)
        chooser.addWidget(self.search)
        chooser.addWidget(self.results)
        self.chooser.hide()
        self.reason.hide()

        # The button beside the pharmacy, not under it: a line less in a pane that must fit
        # beside a video call.
        chosen_row = QHBoxLayout()
        chosen_row.addWidget(self.label, 1)
        chosen_row.addWidget(self.change_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chosen_row)
        layout.addWidget(self.chooser)
        layout.addWidget(self.reason)

        self.reason.textChanged.connect(self.edited)
        self.change_button.clicked.connect(self._on_change_button_clicked)
        self.search.textChanged.connect(self.search_changed)
        self.results.itemActivated.connect(self._on_results_item_chosen)
        self.results.itemClicked.connect(self._on_results_item_chosen)

    def set_patient_choice(self, pharmacy: Mapping[str, Any] | None) -> None:
        """The pharmacy the patient chose at check-in (shown with ``show_pharmacy``)."""
        self._chosen = pharmacy

    def patient_choice(self) -> Mapping[str, Any] | None:
        return self._chosen

    def pharmacy(self) -> Mapping[str, Any] | None:
        """The pharmacy the script goes to, if one is chosen."""
        return self._pharmacy

    def changed_from_patient_choice(self) -> bool:
        chosen = (self._chosen or {}).get("ncpdp_id")
        return (self._pharmacy or {}).get("ncpdp_id") != chosen

    def show_pharmacy(self, pharmacy: Mapping[str, Any] | None) -> None:
        self._pharmacy = pharmacy
        if pharmacy is None:
            self.label.setText(self.tr("No pharmacy chosen. Change pharmacy to pick one."))
        else:
            mark = "" if not self.changed_from_patient_choice() \
                else self.tr("  (not the patient's choice)")
            self.label.setText(
                f"{pharmacy.get('name', '')} · {pharmacy.get('address', '')}, "
                f"{pharmacy.get('city', '')} · NCPDP {pharmacy.get('ncpdp_id', '')}{mark}")
        self.reason.setVisible(pharmacy is not None and self.changed_from_patient_choice())
        self.edited.emit()

    def set_results(self, pharmacies: Sequence[Mapping[str, Any]]) -> None:
        self.results.clear()
        for pharmacy in pharmacies:
            item = QListWidgetItem(f"{pharmacy.get('name', '')} — {pharmacy.get('address', '')}"
                                   f", {pharmacy.get('city', '')} {pharmacy.get('postal_code', '')}"
                                   f" · {pharmacy.get('hours', '')}")
            item.setData(PHARMACY_ROLE, dict(pharmacy))
            self.results.addItem(item)

    def _on_change_button_clicked(self) -> None:
        self.chooser.show()
        self.search.setFocus()
        self.search_changed.emit(self.search.text())

    def _on_results_item_chosen(self, item: QListWidgetItem) -> None:
        pharmacy = item.data(PHARMACY_ROLE)
        if isinstance(pharmacy, dict):
            self.chooser.hide()
            self.show_pharmacy(pharmacy)
            if self.changed_from_patient_choice():
                self.reason.setFocus()
