"""The workstation in demo mode, composed as ``workstation --demo`` composes it (app.show): the
demo's sign-in, a simulated patient claimed and called, their picture and chat answer, the
banner on every window, the Demo menu's reset, and the clinical database left alone."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.exceptions import TimeoutError as WaitTimedOut
from pytestqt.qtbot import QtBot

from tests.ui.test_chart_life import ctrl_n
from workstation.app import Shown, show
from workstation.core.demo import BANNER, DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.site import SiteConfig
from workstation.demo.likeness import name_on
from workstation.storage.database import open_store

AVERY = "Avery Lindqvist (Demo)"
WAIT_MS = 20_000


def _frame(image: QImage) -> av.VideoFrame:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(
        height, image.bytesPerLine())[:, :3 * width]
    return av.VideoFrame.from_ndarray(rows.reshape(height, width, 3).copy(), format="rgb24")


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith("demo")}


@pytest.fixture
def clinical_folder(tmp_path: Path) -> Path:
    """The data folder of a workstation that also has a clinical database (made by the
    embedded hub's own code, encrypted with the keyring's key) and some other file."""
    store = open_store(f"sqlite:///{tmp_path / 'workstation.db'}")
    store.close()
    (tmp_path / "drafts.db").write_bytes(b"a clinical draft cache stands here")
    return tmp_path


@pytest.fixture
def demo(qtbot: QtBot, clinical_folder: Path, site: SiteConfig) -> Iterator[Shown]:
    shown = show(config=site, data_dir=clinical_folder, hub_url=None, demo=True,
                 scenario="sore-throat")
    yield shown
    # Closed here, not by qtbot: signed out first, so quitting asks nothing about the chart.
    live = shown.live[0]
    assert live.call is not None
    live.call.end()
    live.controller.sign_out(flush=False)
    qtbot.waitUntil(lambda: not shown.window.showing_workspace)
    shown.window.close()
    shown.window.deleteLater()
    shown.stop()


def _sign_in(qtbot: QtBot, shown: Shown) -> None:
    window, view = shown.window, shown.window.sign_in_view
    qtbot.waitUntil(lambda: view.demo_label.isVisible() and view.sign_in_button.isEnabled()
                    and view.password_edit.text() == DEMO_PASSWORD, timeout=WAIT_MS)
    assert f"<b>{DEMO_USERNAME}</b>" in view.demo_label.text()
    assert f"<b>{DEMO_PASSWORD}</b>" in view.demo_label.text()
    assert view.remember_box.isHidden()  # each start is a new day: nothing to remember
    QTest.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.showing_workspace, timeout=WAIT_MS)


def _titled_demo(widget: QWidget) -> bool:
    return widget.windowTitle().startswith(BANNER)


def test_the_demo_claims_a_simulated_patient_who_shows_on_video_and_answers(
        qtbot: QtBot, demo: Shown, clinical_folder: Path) -> None:
    before = _hashes(clinical_folder)
    window, live = demo.window, demo.live[0]
    assert live.call is not None
    call = live.call
    _sign_in(qtbot, demo)
    assert _titled_demo(window), window.windowTitle()
    assert not window.demo_banner.isHidden() and BANNER in window.demo_banner.text()

    qtbot.waitUntil(lambda: len(window.queue_view.entries()) == 1, timeout=WAIT_MS)
    ctrl_n(qtbot, window)
    pane = call.pane
    qtbot.waitUntil(lambda: pane.isVisible() and call.media_ready
                    and pane.start_button.isEnabled(), timeout=WAIT_MS)
    QTest.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
    started = time.monotonic()

    def shows_avery() -> bool:
        image = pane.remote_view.image
        return image is not None and name_on(_frame(image), [AVERY, "Someone Else (Demo)"]) \
            == AVERY

    try:
        qtbot.waitUntil(shows_avery, timeout=WAIT_MS)
    except WaitTimedOut:  # say what stood where: seen twice in 5 CI runs, never here
        image = pane.remote_view.image
        shown = "no picture" if image is None else (
            f"a {image.width()}×{image.height()} picture read as "
            f"{name_on(_frame(image), [AVERY, 'Someone Else (Demo)'])!r}")
        pytest.fail(f"No picture of Avery {WAIT_MS / 1000:.0f} s after Start: the call is "
                    f"{call.state!r}, {shown}; the pane says "
                    f"{pane.device_banner.text()!r}; the demo's line says "
                    f"{window.statusBar().currentMessage()!r}", pytrace=False)
    print(f"The simulated patient's picture was painted {time.monotonic() - started:.2f} s "
          "after Start")
    pane.chat_edit.setText("Hello Avery, when did it start?")
    QTest.keyClick(pane.chat_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any("Swallowing really hurts" in pane.chat_list.item(i).text()
                                for i in range(pane.chat_list.count())), timeout=WAIT_MS)

    # A dialog, whoever opens it, says it is the demo too.
    box = QMessageBox(QMessageBox.Icon.Information, "Any question", "Shown over the demo",
                      parent=window)
    box.show()
    qtbot.waitUntil(lambda: _titled_demo(box))
    box.close()
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            assert _titled_demo(widget), f"{type(widget).__name__}: {widget.windowTitle()!r}"

    call.end()
    qtbot.waitUntil(lambda: not call.in_call, timeout=WAIT_MS)
    assert _hashes(clinical_folder) == before  # the clinical files, byte for byte


def test_reset_brings_the_scenario_back_to_its_start(qtbot: QtBot, demo: Shown) -> None:
    window, live = demo.window, demo.live[0]
    _sign_in(qtbot, demo)
    qtbot.waitUntil(lambda: len(window.queue_view.entries()) == 1, timeout=WAIT_MS)
    first = window.queue_view.entries()[0].visit_id
    ctrl_n(qtbot, window)
    qtbot.waitUntil(lambda: not window.queue_view.entries(), timeout=WAIT_MS)  # claimed
    menu = live.demo
    assert menu is not None
    url = live.controller.hub_url

    menu.reset_action.trigger()

    qtbot.waitUntil(lambda: not window.showing_workspace, timeout=WAIT_MS)
    _sign_in(qtbot, demo)
    assert live.controller.hub_url == url  # the same address: a new day behind it
    qtbot.waitUntil(lambda: len(window.queue_view.entries()) == 1, timeout=WAIT_MS)
    again = window.queue_view.entries()[0]
    assert again.visit_id != first and again.condition == "sore_throat"
    assert "minute" in menu.status_label.text() and "Sore throat" in menu.status_label.text()
    pages = menu.patient_pages()
    assert next(label for label, _url in pages) == AVERY
    assert all(u.startswith(url or "-") for _label, u in pages)


def test_without_a_keyring_the_first_screen_offers_the_demo(
        qtbot: QtBot, tmp_path: Path, site: SiteConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.storage.keystore import DatabaseKeyUnavailable

    def no_keyring(*_args: object, **_kwargs: object) -> str:
        raise DatabaseKeyUnavailable("No keyring is running on this computer.")

    restarts: list[bool] = []
    monkeypatch.setattr("workstation.storage.database.database_key", no_keyring)
    monkeypatch.setattr("workstation.app.restart_in_demo", lambda: restarts.append(True))
    shown = show(config=site, data_dir=tmp_path, hub_url=None, demo=False)
    try:
        view = shown.window.sign_in_view
        qtbot.waitUntil(lambda: view.demo_button.isVisible(), timeout=WAIT_MS)
        assert "keyring" in view.heading.text()
        assert view.demo_button.hasFocus()
        QTest.keyClick(view.demo_button, Qt.Key.Key_Space)
        assert restarts == [True]
        assert not _titled_demo(shown.window)  # the clinical window is not marked
    finally:
        shown.window.close()
        shown.window.deleteLater()
        shown.stop()
