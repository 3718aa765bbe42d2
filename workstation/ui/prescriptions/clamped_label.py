"""A label that keeps to a few lines: the beginning of its text, cut with "…", and the whole
text on hover and for screen readers."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

ELLIPSIS = "…"


class ClampedLabel(QLabel):
    """Plain text wrapped on at most ``lines`` lines; what does not fit is cut at a word with
    "…" and stays readable in the tooltip and the accessible description."""

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines = lines
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self._clamp()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self._clamp()

    def _fits(self, text: str, width: int) -> bool:
        metrics = self.fontMetrics()
        bounds = metrics.boundingRect(QRect(0, 0, width, 1 << 20),
                                      int(Qt.TextFlag.TextWordWrap), text)
        return bounds.height() <= metrics.lineSpacing() * self._lines

    def _clamp(self) -> None:
        width = self.contentsRect().width()
        text = self._full
        if width > 0 and not self._fits(text, width):
            words = text.split(" ")
            low, high = 0, len(words)  # the most words that fit with the ellipsis
            while low < high:
                middle = (low + high + 1) // 2
                if self._fits(" ".join(words[:middle]) + ELLIPSIS, width):
                    low = middle
                else:
                    high = middle - 1
            text = " ".join(words[:low]) + ELLIPSIS
        if text != self.text():
            self.setText(text)
