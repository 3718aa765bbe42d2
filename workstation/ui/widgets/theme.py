"""Following the system's light or dark scheme, also where the platform style does not.

Qt reports the desktop's choice (``QStyleHints.colorScheme``); some platform styles repaint
themselves, others keep a light palette. Here a dark scheme always gets a dark palette (Fusion),
and a change while the workstation runs is followed at once. Colours that carry meaning (the
allergy banner, errors, the 20-minute count) keep their own, readable on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_light: dict[int, QPalette] = {}


@dataclass(frozen=True)
class AlertColours:
    """An alert box's colours: dark text on a light tint inside a strong border, so it reads
    the same in the light and the dark scheme (contrast of text on tint above 7:1)."""

    text: str
    background: str
    border: str


# "danger": what may harm the patient or cannot be done (an allergy, a refused script), the red
# of the chart's allergy banner; "warning": needs a second look (a dose, an interaction);
# "notice": something to complete.
ALERT_COLOURS = {
    "danger": AlertColours(text="#6d0b0b", background="#fde8e8", border="#b3261e"),
    "warning": AlertColours(text="#4a3b00", background="#fff4ce", border="#b58100"),
    "notice": AlertColours(text="#0b3155", background="#e8f1fb", border="#4f7fb8"),
}


def alert_style_sheet(object_name: str, level: str) -> str:
    """The style sheet of the alert box named ``object_name`` (a QFrame) at ``level`` (a key of
    ``ALERT_COLOURS``); its labels take the alert's text colour."""
    colours = ALERT_COLOURS[level]
    return (f"QFrame#{object_name} {{ background: {colours.background};"
            f" border: 2px solid {colours.border}; border-left-width: 6px;"
            " border-radius: 4px; }"
            f" QFrame#{object_name} QLabel {{ color: {colours.text}; background: transparent;"
            " border: none; }")


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(37, 40, 44), QColor(27, 29, 32), QColor(230, 232, 235)
    disabled = QColor(128, 132, 138)
    for role, color in (
            (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
            (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
            (QPalette.ColorRole.ToolTipBase, window), (QPalette.ColorRole.ToolTipText, text),
            (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
            (QPalette.ColorRole.ButtonText, text),
            (QPalette.ColorRole.BrightText, QColor(255, 110, 110)),
            (QPalette.ColorRole.Link, QColor(120, 170, 255)),
            (QPalette.ColorRole.Highlight, QColor(38, 110, 200)),
            (QPalette.ColorRole.HighlightedText, Qt.GlobalColor.white),
            (QPalette.ColorRole.PlaceholderText, disabled)):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def apply_scheme(app: QApplication, scheme: Qt.ColorScheme) -> None:
    """Dark palette for a dark scheme; the platform's own palette back for any other."""
    _light.setdefault(id(app), app.palette())
    if scheme is Qt.ColorScheme.Dark:
        if not is_dark(app.palette()):
            app.setStyle("Fusion")
            app.setPalette(dark_palette())
    elif is_dark(app.palette()):
        app.setPalette(_light[id(app)])


def follow_system_scheme(app: QApplication) -> None:
    """Apply the system's scheme now and whenever it changes."""
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.connect(lambda scheme: apply_scheme(app, scheme))
    apply_scheme(app, hints.colorScheme())
