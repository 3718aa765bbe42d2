"""PySide6 reads the source of every module imported after it (for ``__feature__``); the
workstation turns that off, so imports on worker threads do not stall the window."""

from __future__ import annotations

import importlib
import linecache
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

import workstation.ui


def test_a_module_imported_after_pyside6_is_not_read_for_features(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert workstation.ui.FEATURE_SCAN_SKIPPED
    (tmp_path / "freshly_imported.py").write_text("VALUE = 7\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    linecache.clearcache()
    try:
        module = importlib.import_module("freshly_imported")
        assert module.VALUE == 7
        assert not any(name.endswith("freshly_imported.py") for name in linecache.cache)
    finally:
        sys.modules.pop("freshly_imported", None)


def test_qt_keeps_its_usual_names(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = QLabel("Queue")
    qtbot.addWidget(label)
    label.setText("Today")  # camelCase, no snake_case feature switched on
    assert label.text() == "Today"
