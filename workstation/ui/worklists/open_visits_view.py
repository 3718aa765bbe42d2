"""My open visits: every patient this provider claimed whose note is not signed yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.widgets.card import ERROR_STYLE

ID_ROLE = Qt.ItemDataRole.UserRole  # the visit id; +1 whether it may go back to the queue
KIND_WORDS = {"on_demand": "On-demand", "scheduled": "Scheduled", "e_visit": "E-Visit"}
STATE_WORDS = {"claimed": "Claimed, not started", "in_call": "In the video call",
               "reconnecting": "Call reconnecting", "documenting": "Call ended, documenting"}


class OpenVisitsView(QWidget):
    """The visits to finish, whatever happened since they were claimed (a chart closed
    unsigned, a sign-out, a crash): Enter or a double-click opens the chart again.

    Signals:
        open_requested(str): open the chart of this visit.
        release_requested(str): put this claimed (not started) visit back in the queue.
        refresh_requested(): ask the hub for the list again.
        count_changed(int): how many visits are listed now.
    """

    open_requested = Signal(str)
    count_changed = Signal(int)
    release_requested = Signal(str)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel(self.tr("Claimed by you, not signed"))
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Patient"), self.tr("Condition"), self.tr("Kind"), self.tr("Where it is")])
        self.table.setAccessibleName(self.tr("My open visits"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel(self.tr("Nothing to finish: every visit you claimed is signed."))
        self.empty.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()
        self.open_button = QPushButton(self.tr("Open chart"))
        self.open_button.setAccessibleName(self.tr("Open the chart of the selected visit"))
        self.release_button = QPushButton(self.tr("Return to the queue"))
        self.release_button.setAccessibleName(
            self.tr("Put the selected patient back in the queue for any provider"))

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.release_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._on_open_button_clicked())
        for keys in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(keys), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._on_open_button_clicked)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.release_button.clicked.connect(self._on_release_button_clicked)
        self.show_visits([])

    def visit_ids(self) -> list[str]:
        ids = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None:
                ids.append(str(item.data(ID_ROLE)))
        return ids

    def show_visits(self, visits: Sequence[Mapping[str, Any]]) -> None:
        selected = self.selected()
        self.table.setRowCount(0)
        for visit in visits:
            row = self.table.rowCount()
            self.table.insertRow(row)
            kind, state = str(visit.get("kind", "")), str(visit.get("state", ""))
            texts = (str(visit.get("patient_name", "")), str(visit.get("condition_name", "")),
                     self.tr(KIND_WORDS.get(kind, kind)), self.tr(STATE_WORDS.get(state, state)))
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, visit.get("visit_id"))
                item.setData(ID_ROLE + 1, state == "claimed")
                self.table.setItem(row, column, item)
            if visit.get("visit_id") == selected:
                self.table.selectRow(row)
        if self.table.rowCount() and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self.table.setVisible(bool(visits))
        self.empty.setVisible(not visits)
        self.status.hide()
        self._update_buttons()
        self.count_changed.emit(len(visits))

    def show_error(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.show()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return None if item is None else str(item.data(ID_ROLE))

    def _selected_item(self) -> QTableWidgetItem | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0) if rows else None

    def _update_buttons(self) -> None:
        item = self._selected_item()
        self.open_button.setEnabled(item is not None)
        self.release_button.setEnabled(bool(item is not None and item.data(ID_ROLE + 1)))

    def _on_open_button_clicked(self) -> None:
        visit_id = self.selected()
        if visit_id:
            self.open_requested.emit(visit_id)

    def _on_release_button_clicked(self) -> None:
        visit_id = self.selected()
        if visit_id:
            self.release_button.setEnabled(False)
            self.release_requested.emit(visit_id)
