"""Shared pieces of the views: the centred card that full-window forms (sign-in, lock screen)
sit in, plain-text labels, and error labels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget

ERROR_STYLE = ("QLabel#error { color: #8b0000; background: #fde8e8; border: 1px solid #e2a4a4;"
               " border-radius: 4px; padding: 6px; }")


def plain(text: str = "") -> QLabel:
    """A label that shows its text as text (never rich text), wrapped and selectable."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def centred_card(owner: QWidget, *items: QWidget | QLayout) -> QFrame:
    """Lay ``items`` out top to bottom in a card centred in ``owner`` (which gets the layout)."""
    card = QFrame()
    card.setObjectName("card")
    card.setFrameShape(QFrame.Shape.StyledPanel)
    card.setMaximumWidth(460)
    card_layout = QVBoxLayout(card)
    card_layout.setContentsMargins(24, 24, 24, 24)
    card_layout.setSpacing(12)
    for item in items:
        if isinstance(item, QLayout):
            card_layout.addLayout(item)
        else:
            card_layout.addWidget(item)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(card, 2)
    row.addStretch(1)
    outer = QVBoxLayout(owner)
    outer.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    return card


def show_error_label(label: QLabel, message: str) -> None:
    """Show ``message`` in an error label and announce it to assistive technology (the label's
    name only says "Error"; its description is what a screen reader reads out)."""
    label.setText(message)
    label.setAccessibleDescription(message)
    label.show()
    QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.Alert))


def hide_error_label(label: QLabel) -> None:
    label.clear()
    label.setAccessibleDescription("")
    label.hide()
