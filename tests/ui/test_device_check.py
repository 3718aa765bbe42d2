"""The device check: preview, level meter, test tone, connection checks, and the choice kept
for the next calls; opened before the first call on this computer."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import Clock
from tests.ui.conftest import run
from tests.ui.test_call_pane import call_window, check_in_with_token
from tests.ui.test_chart_hub import claim_first
from workstation.hub.server import RunningHub
from workstation.rtc.media import SYNTHETIC
from workstation.ui.call.device_check import SETTINGS_DONE, DeviceCheck, remembered_devices
from workstation.ui.widgets.bridge import AsyncBridge

CAMERAS = [("Camera 63 (missing)", 63), ("Test pattern (no camera)", SYNTHETIC)]
MICROPHONES = [("Microphone 999 (missing)", 999), ("Test tone (no microphone)", SYNTHETIC)]
SPEAKERS = [("Speaker 999 (missing)", 999), ("No speaker (chat only)", SYNTHETIC)]


def test_the_check_shows_the_camera_hears_the_microphone_and_reaches_the_hub(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock]) -> None:
    running, _clock = hub
    dialog = DeviceCheck(bridge, hub_url=running.url, cameras=CAMERAS,
                         microphones=MICROPHONES, speakers=SPEAKERS,
                         chosen=(SYNTHETIC, SYNTHETIC, SYNTHETIC))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.preview.frames_shown > 3, timeout=5_000)
    qtbot.waitUntil(lambda: dialog.level_bar.value() > 20, timeout=5_000)  # the tone is heard
    qtbot.waitUntil(lambda: dialog.hub_status.text().startswith("Reachable"), timeout=10_000)
    qtbot.waitUntil(lambda: "No STUN or TURN server" in dialog.ice_status.text(),
                    timeout=10_000)

    # Devices that are not there: said in words, nothing crashes.
    dialog.camera_combo.setCurrentIndex(0)
    assert "No camera at index 63" in dialog.camera_status.text()
    dialog.microphone_combo.setCurrentIndex(0)
    assert "microphone" in dialog.microphone_status.text().lower()
    assert dialog.level_bar.value() == 0
    dialog.speaker_combo.setCurrentIndex(0)
    dialog.tone_button.click()
    qtbot.waitUntil(dialog.tone_button.isEnabled, timeout=10_000)
    assert "speaker" in dialog.speaker_status.text().lower()
    dialog.reject()


def test_an_unreachable_hub_says_what_to_do(qtbot: QtBot, bridge: AsyncBridge) -> None:
    dialog = DeviceCheck(bridge, hub_url="http://127.0.0.1:9", cameras=CAMERAS,
                         microphones=MICROPHONES, speakers=SPEAKERS,
                         chosen=(SYNTHETIC, SYNTHETIC, SYNTHETIC))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.hub_status.text().startswith("Not reachable"),
                    timeout=10_000)
    assert "ask IT" in dialog.hub_status.text()
    dialog.reject()


def test_the_first_call_opens_the_check_and_remembers_the_choice(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setDefaultFormat(QSettings.Format.NativeFormat)
    QSettings().remove(SETTINGS_DONE)
    running, clock = hub
    window, _controller, _chart, pane, call = call_window(qtbot, bridge, running, clock, site,
                                                          check_first=True)
    run(bridge, qtbot, check_in_with_token(running.url))
    claim_first(qtbot, window)
    qtbot.waitUntil(pane.isVisible, timeout=10_000)

    pane.start_button.click()
    qtbot.waitUntil(lambda: call.device_check is not None, timeout=5_000)
    dialog = call.device_check
    assert call.state == "idle"  # nothing starts before the check is done
    dialog.camera_combo.setCurrentIndex(dialog.camera_combo.findData(SYNTHETIC))
    dialog.done(QDialog.DialogCode.Accepted)

    qtbot.waitUntil(lambda: call.state == "connecting", timeout=5_000)
    assert pane.camera_combo.currentData() == SYNTHETIC
    assert remembered_devices(QSettings())[0] == SYNTHETIC  # type: ignore[index]
    call.end()
    qtbot.waitUntil(lambda: call.state == "ended", timeout=5_000)
