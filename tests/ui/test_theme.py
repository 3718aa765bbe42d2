"""The window follows the system's dark or light scheme, with text readable on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workstation.ui.shell.main_window import MainWindow
from workstation.ui.widgets.theme import apply_scheme, is_dark


@pytest.fixture
def restore_palette(qapp: QApplication) -> Iterator[None]:
    palette, style = qapp.palette(), qapp.style().name()
    yield
    qapp.setPalette(palette)
    qapp.setStyle(style)


def contrast(a: QPalette.ColorRole, b: QPalette.ColorRole, palette: QPalette) -> float:
    def luminance(role: QPalette.ColorRole) -> float:
        c = palette.color(role)
        channels = [x / 255 for x in (c.red(), c.green(), c.blue())]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.usefixtures("restore_palette")
def test_a_dark_scheme_gets_a_dark_readable_window_and_light_comes_back(
        qtbot: QtBot, qapp: QApplication):
    window = MainWindow()
    qtbot.addWidget(window)
    light = qapp.palette()
    assert not is_dark(light)

    apply_scheme(qapp, Qt.ColorScheme.Dark)
    qapp.processEvents()

    palette = window.palette()
    assert is_dark(palette)
    R = QPalette.ColorRole
    for fg, bg in ((R.WindowText, R.Window), (R.Text, R.Base), (R.ButtonText, R.Button),
                   (R.HighlightedText, R.Highlight)):
        assert contrast(fg, bg, palette) >= 4.5, (fg, bg)  # WCAG AA for body text

    apply_scheme(qapp, Qt.ColorScheme.Light)
    qapp.processEvents()
    assert not is_dark(window.palette())
    assert window.palette().color(R.Window) == light.color(R.Window)
