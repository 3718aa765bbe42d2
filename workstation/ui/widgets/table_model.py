"""The shared part of the work lists' table models: read-only rows, columns from an IntEnum."""

from __future__ import annotations

from collections.abc import Callable, Sized
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex


class RowTableModel(QAbstractTableModel):
    """Rows the provider reads and selects, never edits; ``headers`` are the column titles
    (translated by the subclass), keyed by the members of ``columns``."""

    def __init__(self, parent: QObject | None, columns: type[IntEnum],
                 rows: Callable[[], Sized]) -> None:
        """``rows`` gives the subclass's current rows (only their number is read here)."""
        super().__init__(parent)
        self._columns = columns
        self._rows = rows
        self._headers: dict[Any, str] = {}

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[self._columns(section)]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
