"""The live on-demand queue as a Qt table model: longest-waiting first, wait time against the
promise shown in text and colour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from workstation.core.queue import QueueEntry
from workstation.ui.widgets.table_model import AnyIndex, RowTableModel

Clock = Callable[[], datetime]

VISIT_ID_ROLE = Qt.ItemDataRole.UserRole + 1

AMBER_BACKGROUND = QColor("#ffe7a8")
AMBER_TEXT = QColor("#5c3b00")
RED_BACKGROUND = QColor("#f6c6c6")
RED_TEXT = QColor("#7a0000")

def utc_now() -> datetime:
    return datetime.now(UTC)


class Column(IntEnum):
    WAITING = 0
    CONDITION = 1
    AGE = 2
    SEX = 3
    PAYMENT = 4
    KIND = 5  # on-demand, scheduled, or E-Visit (a questionnaire, no video)


class WaitLevel(IntEnum):
    ON_TIME = 0
    NEARING = 1  # amber: close to the promised wait
    OVERDUE = 2  # red: past the promised wait


def format_wait(seconds: float) -> str:
    """``mm:ss``; minutes keep counting past 59 (a 75-minute wait reads 75:00)."""
    total = max(0, int(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


class QueueTableModel(RowTableModel):
    """Waiting visits, sorted so the longest-waiting patient is the first row.

    The wait column is computed from ``clock()`` whenever it is painted; call
    :meth:`refresh_wait_times` (once a second) to have views repaint it.
    """

    def __init__(self, parent: QObject | None = None, *, clock: Clock = utc_now,
                 promised_wait_minutes: int = 20, warn_minutes: int | None = None) -> None:
        super().__init__(parent, Column, lambda: self._entries)
        self._clock = clock
        self.promised_wait_minutes = promised_wait_minutes
        # Amber from 5 minutes before the promise (20 -> 15), or a quarter before a longer one
        # (an E-Visit's 4 hours -> 3).
        self.warn_minutes = (warn_minutes if warn_minutes is not None else max(
            0, promised_wait_minutes - max(5, promised_wait_minutes // 4)))
        self._entries: list[QueueEntry] = []
        self._headers = {
            Column.WAITING: self.tr("Waiting"),
            Column.CONDITION: self.tr("Condition"),
            Column.AGE: self.tr("Age"),
            Column.SEX: self.tr("Sex"),
            Column.PAYMENT: self.tr("Payment"),
            Column.KIND: self.tr("Kind"),
        }
        self._sexes = {"female": self.tr("Female"), "male": self.tr("Male"),
                       "other": self.tr("Other"), "unknown": self.tr("Not stated")}
        self._payments = {"paid": self.tr("Paid"), "declined": self.tr("Declined"),
                          "not_due": self.tr("Not due")}
        self._kinds = {"on_demand": self.tr("On-demand"), "scheduled": self.tr("Scheduled"),
                       "e_visit": self.tr("E-Visit")}

    # -- changing the queue ---------------------------------------------------------------

    def set_entries(self, entries: Sequence[QueueEntry]) -> None:
        self.beginResetModel()
        unique = {e.visit_id: e for e in entries}
        self._entries = sorted(unique.values(), key=_order)
        self.endResetModel()

    def add_entry(self, entry: QueueEntry) -> None:
        """Insert in waiting order; an entry already shown is replaced."""
        self.remove_entry(entry.visit_id)
        row = 0
        while row < len(self._entries) and _order(self._entries[row]) <= _order(entry):
            row += 1
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.insert(row, entry)
        self.endInsertRows()

    def remove_entry(self, visit_id: str) -> QueueEntry | None:
        row = self.row_of(visit_id)
        if row is None:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        entry = self._entries.pop(row)
        self.endRemoveRows()
        return entry

    def refresh_wait_times(self) -> None:
        if self._entries:
            self.dataChanged.emit(self.index(0, Column.WAITING),
                                  self.index(len(self._entries) - 1, Column.WAITING))

    # -- reading it -----------------------------------------------------------------------

    @property
    def entries(self) -> list[QueueEntry]:
        return list(self._entries)

    def entry_at(self, row: int) -> QueueEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def entry(self, visit_id: str) -> QueueEntry | None:
        row = self.row_of(visit_id)
        return None if row is None else self._entries[row]

    def row_of(self, visit_id: str) -> int | None:
        return next((i for i, e in enumerate(self._entries) if e.visit_id == visit_id), None)

    def waited_seconds(self, entry: QueueEntry) -> float:
        return max(0.0, (self._clock() - entry.waiting_since).total_seconds())

    def wait_level(self, entry: QueueEntry) -> WaitLevel:
        minutes = self.waited_seconds(entry) / 60
        if minutes >= self.promised_wait_minutes:
            return WaitLevel.OVERDUE
        if minutes >= self.warn_minutes:
            return WaitLevel.NEARING
        return WaitLevel.ON_TIME

    def wait_text(self, entry: QueueEntry) -> str:
        clock = format_wait(self.waited_seconds(entry))
        level = self.wait_level(entry)
        if level is WaitLevel.OVERDUE:
            # Short, to leave the condition room; the tooltip and screen readers say it whole.
            #: %1 is the wait as mm:ss, past the promised wait.
            return self.tr("%1 ⚠ late").replace("%1", clock)
        if level is WaitLevel.NEARING:
            #: %1 is the wait as mm:ss, nearing the promised wait.
            return self.tr("%1 ⚠").replace("%1", clock)
        return clock

    # -- Qt model interface ---------------------------------------------------------------

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.entry_at(index.row()) if index.isValid() else None
        if entry is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(entry, column)
        if role == VISIT_ID_ROLE:
            return entry.visit_id
        if column is Column.WAITING:
            return self._wait_data(entry, role)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            #: Read out by screen readers: %1 is the column title, %2 the cell's text.
            return self.tr("%1: %2").replace("%1", self._headers[column]).replace(
                "%2", self._text(entry, column))
        if role == Qt.ItemDataRole.ToolTipRole and column is Column.CONDITION:
            return entry.condition_name  # in full, when the column is too narrow
        if role == Qt.ItemDataRole.ToolTipRole and column is Column.KIND:
            return (self.tr("E-Visit: a questionnaire, no video") if entry.e_visit
                    else self.tr("Video visit"))
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.PAYMENT \
                and entry.payment_status == "declined":
            return QBrush(RED_TEXT)
        return None

    def _text(self, entry: QueueEntry, column: Column) -> str:
        if column is Column.WAITING:
            return self.wait_text(entry)
        if column is Column.CONDITION:
            return entry.condition_name
        if column is Column.AGE:
            return str(entry.age)
        if column is Column.SEX:
            return self._sexes.get(entry.sex, entry.sex.title())
        if column is Column.PAYMENT:
            return self._payments.get(entry.payment_status, entry.payment_status)
        return self._kinds.get(entry.kind, entry.kind.replace("_", " ").capitalize())

    def _wait_data(self, entry: QueueEntry, role: int) -> Any:
        level = self.wait_level(entry)
        if role == Qt.ItemDataRole.ForegroundRole and level is not WaitLevel.ON_TIME:
            return QBrush(RED_TEXT if level is WaitLevel.OVERDUE else AMBER_TEXT)
        if role == Qt.ItemDataRole.BackgroundRole and level is not WaitLevel.ON_TIME:
            return QBrush(RED_BACKGROUND if level is WaitLevel.OVERDUE else AMBER_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and level is WaitLevel.OVERDUE:
            font = QFont()
            font.setBold(True)
            return font
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._wait_sentence(entry, level)
        return None

    def _wait_sentence(self, entry: QueueEntry, level: WaitLevel) -> str:
        total = int(self.waited_seconds(entry))
        sentence = self.tr("Waiting %1 min %2 s").replace("%1", str(total // 60)).replace(
            "%2", str(total % 60))
        if level is WaitLevel.OVERDUE:
            return self.tr("%1: over the %n-minute promise", "",
                           self.promised_wait_minutes).replace("%1", sentence)
        if level is WaitLevel.NEARING:
            return self.tr("%1: nearing the %n-minute promise", "",
                           self.promised_wait_minutes).replace("%1", sentence)
        return sentence


def _order(entry: QueueEntry) -> tuple[datetime, str]:
    return (entry.waiting_since, entry.visit_id)
