"""What the checks found about the script being written, as an alert box beside Send: a drug
the patient is allergic to, a script that cannot be sent, a dose to look at again, a field the
pharmacy needs."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QVBoxLayout, QWidget

from workstation.core.prescribing import Finding
from workstation.ui.widgets.card import plain
from workstation.ui.widgets.theme import alert_style_sheet

ICONS = {"refusal": QStyle.StandardPixmap.SP_MessageBoxCritical,
         "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
         "missing": QStyle.StandardPixmap.SP_MessageBoxInformation}


class FindingsBox(QFrame):
    """One line per finding, in words ("Refused: …", "Warning: …", "Missing for the pharmacy:
    …"), and what to do about them; hidden while there is nothing to say. Its colour and icon
    follow the worst line: red for an allergy or a refusal, amber for another warning, blue for
    fields still to fill in. A change is announced to screen readers as an alert."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("prescriptionAlert")
        self.setAccessibleName(self.tr("Warnings before sending"))
        self.level = ""  # the colours: danger, warning or notice (theme.ALERT_COLOURS)
        self._icon = ""
        self._lines: list[QLabel] = []
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.hint = plain("")
        self.hint.setAccessibleName(self.tr("What to do"))
        self._texts = QVBoxLayout()
        self._texts.setContentsMargins(0, 0, 0, 0)
        self._texts.setSpacing(2)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(self._texts)
        column.addWidget(self.hint)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(8)
        layout.addWidget(self.icon)
        layout.addLayout(column, 1)
        self.hide()

    def count(self) -> int:
        """How many lines the box shows (findings, then missing fields)."""
        return len(self._lines)

    def item(self, row: int) -> QLabel:
        """The label of line ``row``."""
        return self._lines[row]

    def show_findings(self, findings: Sequence[Finding], problems: Sequence[str] = ()) -> None:
        """Refusals and warnings, then the fields the pharmacy needs."""
        texts = [(self.tr("Refused: ") if f.blocks else self.tr("Warning: ")) + f.message
                 for f in findings]
        texts += [self.tr("Missing for the pharmacy: ") + problem for problem in problems]
        before = [line.text() for line in self._lines]
        while len(self._lines) > len(texts):
            line = self._lines.pop()
            self._texts.removeWidget(line)
            line.deleteLater()
        while len(self._lines) < len(texts):
            line = plain()
            bold = line.font()
            bold.setBold(True)  # what was found stands out from what to do about it
            line.setFont(bold)
            self._lines.append(line)
            self._texts.addWidget(line)
        for line, text in zip(self._lines, texts, strict=True):
            line.setText(text)

        refused = any(f.blocks for f in findings)
        if refused:
            hint = self.tr("This script cannot be sent. Choose another drug.")
        elif findings:
            hint = self.tr("To send anyway, give your reason below; it goes in the audit log.")
        else:
            hint = ""
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self._set_look("danger" if refused or any(f.kind == "allergy" for f in findings)
                       else "warning" if findings else "notice",
                       "refusal" if refused else "warning" if findings else "missing")
        self.setAccessibleDescription(" ".join([*texts, hint]).strip())
        self.setVisible(bool(texts))
        if texts and texts != before:
            QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.Alert))

    def _set_look(self, level: str, icon: str) -> None:
        if (level, icon) == (self.level, self._icon):
            return
        self.level, self._icon = level, icon
        self.setStyleSheet(alert_style_sheet(self.objectName(), level))
        size = round(self.fontMetrics().height() * 1.5)
        self.icon.setPixmap(self.style().standardIcon(ICONS[icon]).pixmap(size, size))
        self.icon.setFixedWidth(size)
