"""The provider's view of the live on-demand queue."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.core.people import ServiceLine
from workstation.core.queue import QueueEntry
from workstation.ui.worklists.queue_model import Clock, Column, QueueTableModel, utc_now

# Source texts, translated where they are shown; the markers let lupdate find them.
EMPTY_TEXT = str(QT_TRANSLATE_NOOP("QueueView", "No patients waiting"))
RECONNECTING_TEXT = str(QT_TRANSLATE_NOOP("QueueView", "Reconnecting to the hub…"))
CONNECTING_TEXT = str(QT_TRANSLATE_NOOP("QueueView", "Connecting to the hub…"))


class QueueTable(QTableView):
    """A table whose Enter/Return key asks for the current row (Qt's own ``activated`` may
    also fire on a single click, depending on the desktop: too easy for a claim).

    Signals:
        row_chosen(int): the user pressed Enter on this row.
    """

    row_chosen = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.row_chosen.emit(self.currentIndex().row())
            event.accept()
            return
        super().keyPressEvent(event)


class WaitTimeDelegate(QStyledItemDelegate):
    """Keeps the amber and red of a long wait visible on the selected row: the selection is
    drawn as a frame around the cell instead of a fill that would hide the warning colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:  # Qt override
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if not selected or index.data(Qt.ItemDataRole.BackgroundRole) is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.state &= ~QStyle.StateFlag.State_Selected
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        painter.setPen(QPen(option.palette.highlight().color(), 3))
        painter.drawRect(opt.rect.adjusted(1, 1, -2, -2))
        painter.restore()


class QueueView(QWidget):
    """The live on-demand queue: who is waiting, for how long, and the buttons to claim.

    Longest-waiting patient first. The wait time is refreshed once a second by one timer and
    turns amber near the promised wait and red past it, in text as well as colour.

    Signals:
        claim_next_requested(): the provider asked for the next patient in the queue.
        claim_requested(str): the provider asked for this visit (by id).
        waiting_count_changed(int): the number of waiting patients shown changed.
    """

    claim_next_requested = Signal()
    claim_requested = Signal(str)
    waiting_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, clock: Clock = utc_now,
                 promised_wait_minutes: int = 20, tick_ms: int = 1000,
                 title: str | None = None) -> None:
        """``title`` is shown as given (already translated); it defaults to "Waiting patients"."""
        super().__init__(parent)
        if title is None:
            title = self.tr("Waiting patients")
        self._title = title
        self._claiming = False
        self._live = True  # False while the app is still connecting the list (quick start)
        self._count = 0
        self.model = QueueTableModel(self, clock=clock,
                                     promised_wait_minutes=promised_wait_minutes)

        self.title_label = QLabel(title)
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title_label.setFont(font)

        # The table shows the queue through a filter: one service line, or all of them.
        self.proxy = _ServiceLineFilter(self)
        self.proxy.setSourceModel(self.model)
        self.line_combo = QComboBox()
        self.line_combo.setAccessibleName(self.tr("Service line shown"))
        self.line_combo.hide()
        self.table = QueueTable()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName(title)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.CONDITION, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self._wait_delegate = WaitTimeDelegate(self.table)
        self.table.setItemDelegateForColumn(Column.WAITING, self._wait_delegate)

        self.empty_label = QLabel(self.tr(EMPTY_TEXT))
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_font = self.empty_label.font()
        empty_font.setPointSizeF(empty_font.pointSizeF() * 1.2)
        self.empty_label.setFont(empty_font)
        self.empty_label.setToolTip(self.tr("New patients appear here as they check in."))

        self._stack = QStackedWidget()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self.table)

        self.claim_next_button = QPushButton(self.tr("Claim next patient"))
        self.claim_next_button.setToolTip(
            self.tr("Claim the patient who has waited longest (Ctrl+N)"))
        # A fixed name: the text changes to "Claiming…" while a claim is in flight.
        self.claim_next_button.setAccessibleName(self.tr("Claim next patient"))
        self.claim_selected_button = QPushButton(self.tr("Claim selected"))
        self.claim_selected_button.setToolTip(self.tr("Claim the selected patient (Enter)"))
        self.claim_selected_button.setAccessibleName(self.tr("Claim the selected patient"))

        self.connection_label = QLabel(self.tr(CONNECTING_TEXT))
        self.connection_label.setAccessibleName(self.tr("Hub connection"))
        self.connection_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        buttons.addWidget(self.claim_next_button)
        buttons.addWidget(self.claim_selected_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.line_combo)
        layout.addWidget(self._stack, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.connection_label)
        self.setTabOrder(self.table, self.claim_next_button)
        self.setTabOrder(self.claim_next_button, self.claim_selected_button)

        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

        self.claim_next_button.clicked.connect(self._on_claim_next_button_clicked)
        self.claim_selected_button.clicked.connect(self._on_claim_selected_button_clicked)
        self.table.row_chosen.connect(self._on_table_row_chosen)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.selectionModel().selectionChanged.connect(
            self._on_selection_model_selection_changed)
        # Both: the filter reports removed rows before the queue itself has dropped them.
        for model in (self.model, self.proxy):
            model.rowsInserted.connect(self._on_model_rows_changed)
            model.rowsRemoved.connect(self._on_model_rows_changed)
            model.modelReset.connect(self._on_model_rows_changed)
        self.proxy.layoutChanged.connect(self._on_model_rows_changed)
        self.line_combo.currentIndexChanged.connect(self._on_line_combo_changed)
        self._update_state()

    # -- what the presenter tells the view ------------------------------------------------

    def show_entries(self, entries: Sequence[QueueEntry]) -> None:
        """Replace the queue (a snapshot from the hub); keeps the selected patient selected."""
        selected = self.selected_visit_id()
        self.model.set_entries(entries)
        row = self.model.row_of(selected) if selected else None
        if row is not None:
            shown = self.proxy.mapFromSource(self.model.index(row, 0))
            if shown.isValid():
                self._select_row(shown.row())

    def add_entry(self, entry: QueueEntry) -> None:
        self.model.add_entry(entry)

    def remove_entry(self, visit_id: str) -> QueueEntry | None:
        """Take a visit off the queue; returns it, or None if it was not shown."""
        return self.model.remove_entry(visit_id)

    def entries(self) -> list[QueueEntry]:
        return self.model.entries

    def show_connected(self, hub_url: str) -> None:
        self.connection_label.setText(self.tr("Connected to %1").replace("%1", hub_url))
        self.connection_label.setStyleSheet("")

    def show_reconnecting(self) -> None:
        self.connection_label.setText(self.tr(RECONNECTING_TEXT))
        self.connection_label.setStyleSheet("color: #7a4b00; font-weight: bold;")

    def show_disconnected(self, message: str) -> None:
        self.connection_label.setText(message)
        self.connection_label.setStyleSheet("color: #8b0000; font-weight: bold;")

    def show_connecting(self) -> None:
        self.connection_label.setText(self.tr(CONNECTING_TEXT))
        self.connection_label.setStyleSheet("")

    def set_live(self, live: bool) -> None:
        """Not live: the list is shown but nothing can be claimed from it yet (the workstation
        is still connecting it, for a few tenths of a second after a quick start)."""
        self._live = live
        self._update_state()

    def set_claiming(self, claiming: bool) -> None:
        """While a claim is in flight, no second claim can be asked for."""
        self._claiming = claiming
        self.claim_next_button.setText(self.tr("Claiming…") if claiming
                                       else self.tr("Claim next patient"))
        self._update_state()

    def refresh_wait_times(self) -> None:
        self.model.refresh_wait_times()

    def selected_visit_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        entry = self._entry_shown_at(rows[0].row()) if rows else None
        return entry.visit_id if entry else None

    def set_service_lines(self, lines: Sequence[ServiceLine]) -> None:
        """The provider's lines: with more than one, a choice of which queue to see."""
        self.line_combo.blockSignals(True)
        self.line_combo.clear()
        self.line_combo.addItem(self.tr("All my service lines"), None)
        for line in lines:
            self.line_combo.addItem(line.name, line.code)
        self.line_combo.setCurrentIndex(0)
        self.line_combo.blockSignals(False)
        self.line_combo.setVisible(len(lines) > 1)
        self._set_line(None)

    @property
    def service_line_filter(self) -> str | None:
        """The service line shown (Claim next takes from it), or None for all."""
        return self.proxy.line

    # -- slots ----------------------------------------------------------------------------

    def _on_timer_timeout(self) -> None:
        self.model.refresh_wait_times()

    def _on_claim_next_button_clicked(self) -> None:
        if not self._blocked and self.proxy.rowCount():
            self.claim_next_requested.emit()

    def request_claim_next(self) -> str | None:
        """Ctrl+N: ask for the next patient; None when asked, else why not in words."""
        if not self._live:
            return self.tr("The queue is still connecting. Try again in a moment.")
        if self._claiming:
            return self.tr("A claim is already on its way.")
        if not self.proxy.rowCount():
            return self.tr("No patients are waiting in this list.")
        self.claim_next_requested.emit()
        return None

    def _on_claim_selected_button_clicked(self) -> None:
        visit_id = self.selected_visit_id()
        if visit_id is not None:
            self._request_claim(visit_id)

    def _on_table_row_chosen(self, row: int) -> None:
        entry = self._entry_shown_at(row)
        if entry is not None:
            self._request_claim(entry.visit_id)

    def _on_table_double_clicked(self, index: QModelIndex | QPersistentModelIndex) -> None:
        self._on_table_row_chosen(index.row())

    def _on_selection_model_selection_changed(self, *_args: object) -> None:
        self._update_state()

    def _on_line_combo_changed(self, index: int) -> None:
        code = self.line_combo.itemData(index)
        self._set_line(str(code) if code else None)

    def _on_model_rows_changed(self, *_args: object) -> None:
        if self.proxy.rowCount() and not self.table.selectionModel().hasSelection():
            self._select_row(0)
        self._update_state()

    # -- helpers --------------------------------------------------------------------------

    def _request_claim(self, visit_id: str) -> None:
        if not self._blocked:
            self.claim_requested.emit(visit_id)

    @property
    def _blocked(self) -> bool:
        return self._claiming or not self._live

    def _set_line(self, code: str | None) -> None:
        self.proxy.set_line(code)
        self._on_model_rows_changed()

    def _entry_shown_at(self, row: int) -> QueueEntry | None:
        source = self.proxy.mapToSource(self.proxy.index(row, 0))
        return self.model.entry_at(source.row()) if source.isValid() else None

    def _select_row(self, row: int) -> None:
        """Select the row as shown (after the service-line filter)."""
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)

    def _update_state(self) -> None:
        count = self.proxy.rowCount()
        total = self.model.rowCount()
        self._stack.setCurrentWidget(self.table if count else self.empty_label)
        #: %1 is the list's title ("Waiting patients"); %n how many are waiting.
        self.title_label.setText(self.tr("%1 (%n)", "", count).replace("%1", self._title)
                                 if count else self._title)
        self.claim_next_button.setEnabled(bool(count) and not self._blocked)
        self.claim_selected_button.setEnabled(
            self.selected_visit_id() is not None and not self._blocked)
        if total != self._count:
            self._count = total
            self.waiting_count_changed.emit(total)


class _ServiceLineFilter(QSortFilterProxyModel):
    """Rows of one service line, or all of them (``line`` None)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.line: str | None = None

    def set_line(self, line: str | None) -> None:
        self.beginFilterChange()
        self.line = line
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int,  # Qt override
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.line is None:
            return True
        source = self.sourceModel()
        assert isinstance(source, QueueTableModel)
        entry = source.entry_at(source_row)
        return entry is not None and entry.service_line == self.line
