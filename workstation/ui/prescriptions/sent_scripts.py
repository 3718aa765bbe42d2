"""The visit's scripts in the Prescriptions pane: drug and status, the selected one in full."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.prescriptions.clamped_label import ClampedLabel

ID_ROLE = Qt.ItemDataRole.UserRole  # the script's id; +1 cancellable, +2 the text in full
VISIBLE_ROWS = 3
DETAIL_LINES = 2


class SentScripts(QWidget):
    """Each script of the visit with its live status; the selected one (or, with none
    selected, the latest) spelled out below: pharmacy, status and the network's words.

    Signals:
        cancel_requested(str): cancel the script with this id.
    """

    cancel_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 2)
        self.table.setWordWrap(False)
        # The header names the list: no caption above it, a line less beside a video call.
        self.table.setHorizontalHeaderLabels([self.tr("Sent from this visit"),
                                              self.tr("Status")])
        self.table.setAccessibleName(self.tr("Prescriptions of this visit"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # A fixed, short list of compact rows that scrolls on its own: a visit seldom has more
        # scripts, and a taller one would push Send out of view at 1366x768 during a call.
        rows = self.table.verticalHeader()
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setFixedHeight(header.sizeHint().height() + 2 * self.table.frameWidth()
                                  + VISIBLE_ROWS * self.table.verticalHeader().defaultSectionSize())
        self.detail = ClampedLabel(DETAIL_LINES)
        self.detail.setAccessibleName(self.tr("The selected prescription in full"))
        self.cancel_button = QPushButton(self.tr("Cancel selected…"))
        self.cancel_button.setAccessibleName(self.tr("Cancel the selected prescription"))
        self.cancel_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.table)
        detail_row = QHBoxLayout()
        detail_row.addWidget(self.detail, 1)
        detail_row.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(detail_row)

        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)

    def show_prescriptions(self, prescriptions: Sequence[Mapping[str, Any]]) -> None:
        selected = self.selected()
        self.table.setRowCount(0)
        for rx in prescriptions:
            row = self.table.rowCount()
            self.table.insertRow(row)
            status = str(rx.get("status_text", rx.get("status", "")))
            # What happened first: the line beside Cancel may show only its beginning.
            detail = status + "."
            if rx.get("reason"):
                detail += " " + str(rx["reason"])
            detail += " " + self.tr("(%1 to %2)").replace("%1", str(rx.get("drug", ""))).replace(
                "%2", str((rx.get("pharmacy") or {}).get("name", "")))
            for column, text in enumerate((str(rx.get("drug", "")), status)):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, rx.get("id"))
                item.setData(ID_ROLE + 1, bool(rx.get("cancellable")))
                item.setData(ID_ROLE + 2, detail)
                item.setToolTip(detail)
                self.table.setItem(row, column, item)
            if rx.get("id") == selected:
                self.table.selectRow(row)
        self._on_table_selection_changed()

    def selected(self) -> str | None:
        """The id of the selected script, if one is."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return None if item is None else str(item.data(ID_ROLE))

    def _on_table_selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        self.cancel_button.setEnabled(bool(item is not None and item.data(ID_ROLE + 1)))
        if item is None and self.table.rowCount():  # nothing chosen: the latest script
            item = self.table.item(self.table.rowCount() - 1, 0)
        self.detail.set_full_text(str(item.data(ID_ROLE + 2)) if item is not None else "")

    def _on_cancel_button_clicked(self) -> None:
        selected = self.selected()
        if selected:
            self.cancel_requested.emit(selected)
