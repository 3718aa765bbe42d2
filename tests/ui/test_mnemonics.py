"""No Alt+letter is bound twice where both can be on screen at once: in the main window with
every part built (sign-in, work lists, chart with its call pane and every tab, lock), and in
each dialog. Two widgets can be on screen together unless they sit on different pages of the
same stack (a tab widget's pages, the window's sign-in / workspace / lock pages)."""

from __future__ import annotations

import re
from collections import defaultdict

from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QStackedWidget,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from workstation.devices import SYNTHETIC
from workstation.ui.call.call_pane import CallPane
from workstation.ui.call.device_check import DeviceCheck
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.widgets.bridge import AsyncBridge

Mnemonic = tuple[str, str, QWidget]  # letter, text, the widget that owns it


def letter(text: str) -> str | None:
    found = re.search(r"&(\w)", text.replace("&&", ""))
    return found.group(1).casefold() if found else None


def mnemonics(root: QWidget) -> list[Mnemonic]:
    found: list[Mnemonic] = []

    def add(text: str, owner: QWidget) -> None:
        key = letter(text)
        if key:
            found.append((key, text, owner))

    for widget in [root, *root.findChildren(QWidget)]:
        if isinstance(widget, QAbstractButton) or (
                isinstance(widget, QLabel) and widget.buddy() is not None):
            add(widget.text(), widget)
        elif isinstance(widget, QGroupBox):
            add(widget.title(), widget)
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                add(widget.tabText(index), widget)
    menu_bar = getattr(root, "menuBar", None)
    if callable(menu_bar):
        for action in menu_bar().actions():
            add(action.text(), menu_bar())
    return found


def ancestors(widget: QWidget) -> list[QWidget]:
    chain = [widget]
    while (parent := chain[-1].parentWidget()) is not None:
        chain.append(parent)
    return chain


def apart(a: QWidget, b: QWidget) -> bool:
    """On different pages of one stack: never on screen together."""
    chain_b = ancestors(b)
    chain_a = ancestors(a)
    common = next(w for w in chain_a if w in chain_b)
    return isinstance(common, QStackedWidget) and a is not common and b is not common


def clashes(root: QWidget) -> list[str]:
    by_letter: dict[str, list[tuple[str, QWidget]]] = defaultdict(list)
    for key, text, owner in mnemonics(root):
        by_letter[key].append((text, owner))
    found = []
    for key, owners in sorted(by_letter.items()):
        for i, (text_a, a) in enumerate(owners):
            for text_b, b in owners[i + 1:]:
                if not apart(a, b):
                    found.append(f"Alt+{key.upper()}: {text_a!r} and {text_b!r}")
    return found


def test_the_main_window_binds_no_letter_twice(qtbot: QtBot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_call_pane(CallPane())  # the chart, its tabs and the call pane built

    assert clashes(window) == []


def test_the_device_check_binds_no_letter_twice(qtbot: QtBot, bridge: AsyncBridge):
    dialog = DeviceCheck(bridge, hub_url="http://127.0.0.1:9",
                         cameras=[("Test pattern", SYNTHETIC)],
                         microphones=[("Test tone", SYNTHETIC)],
                         speakers=[("No speaker", SYNTHETIC)])
    qtbot.addWidget(dialog)

    assert mnemonics(dialog)  # it has some, to check
    assert clashes(dialog) == []


def test_the_check_finds_a_clash(qtbot: QtBot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.chart_view.close_button.setText("&File away")  # beside the File menu

    assert any("Alt+F" in clash for clash in clashes(window))
