"""Settings > Workstation settings: every setting in effect, where it came from, and which
ones the site locks. It changes nothing: the site's keys are IT's (the site file), the rest
are the user's own file's."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.settings import DEFAULT, ShownSetting

COLUMNS = ("Setting", "Value", "Set by")


class SettingsDialog(QDialog):
    """The settings in effect, read-only; a locked one says so in its row and its tooltip."""

    def __init__(self, settings: Sequence[ShownSetting], *, site_file: str, user_file: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Workstation settings"))
        intro = QLabel(self.tr(
            "The site file that IT installs ({site}) sets the clinic's settings; what it sets "
            "is locked here. Your own settings file ({user}) may set the rest.").format(
                site=site_file, user=user_file))
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(len(settings), len(COLUMNS))
        self.table.setAccessibleName(self.tr("Settings in effect"))
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        for row, setting in enumerate(settings):
            if setting.locked:
                source = self.tr("Site — locked")
                tip = self.tr("Set by the site in {file}; IT changes it there.").format(
                    file=setting.origin)
            elif setting.origin == DEFAULT:
                source = self.tr("Default")
                tip = self.tr("Not set by the site or in your settings file.")
            else:
                source = self.tr("Your settings")
                tip = self.tr("Set in {file}.").format(file=setting.origin)
            for column, text in enumerate((setting.name, setting.value, source)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip if column == 2 else text)
                if setting.locked:
                    font = item.font()
                    font.setBold(column == 2)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(860, 560)

    def row_of(self, name: str) -> tuple[str, str, str]:
        """A setting's row as shown (for tests and the screen reader's view of it)."""
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(len(COLUMNS))]
            texts = [cell.text() if cell is not None else "" for cell in cells]
            if texts[0] == name:
                return texts[0], texts[1], texts[2]
        raise KeyError(name)
