"""The device check, before the first visit and from the Tools menu: camera preview,
microphone level, a speaker test tone, and whether the hub and the site's STUN/TURN servers
answer. Nothing here blocks the window: devices run on their own threads, the checks on the
asyncio thread, and what fails says what to do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.call.video_view import VideoView
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.card import plain

SETTINGS_DONE = "devices/checked"
SETTINGS_CHOICE = "devices/{kind}"
KINDS = ("camera", "microphone", "speaker")


def remembered_devices(settings: QSettings) -> tuple[object, object, object] | None:
    """The devices chosen in the last device check, if there was one."""
    if not settings.value(SETTINGS_DONE, False, bool):
        return None
    values = [settings.value(SETTINGS_CHOICE.format(kind=k)) for k in KINDS]
    return tuple(_decoded(v) for v in values)  # type: ignore[return-value]


def _decoded(value: object) -> object:
    """QSettings gives strings back: device indexes become ints again."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


class DeviceCheck(QDialog):
    """Signals:
        _level(float), _message(str): internal, from device threads (queued).
    """

    _level = Signal(float)
    _message = Signal(str)

    def __init__(self, bridge: AsyncBridge, *, hub_url: str,
                 ice_servers: Sequence[dict[str, Any]] = (),
                 cameras: Sequence[tuple[str, object]] = (),
                 microphones: Sequence[tuple[str, object]] = (),
                 speakers: Sequence[tuple[str, object]] = (),
                 chosen: tuple[object, object, object] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Check camera, microphone and connection"))
        self._bridge = bridge
        self._hub_url = hub_url.rstrip("/")
        self._ice = list(ice_servers)
        self._stop_preview: Any = None
        self._stop_meter: Any = None
        self._network = QNetworkAccessManager(self)

        self.camera_combo = _combo(self.tr("Camera"), cameras)
        self.microphone_combo = _combo(self.tr("Microphone"), microphones)
        self.speaker_combo = _combo(self.tr("Speaker"), speakers)
        if chosen is not None:
            for combo, value in zip((self.camera_combo, self.microphone_combo,
                                     self.speaker_combo), chosen, strict=True):
                index = combo.findData(value)
                if index >= 0:
                    combo.setCurrentIndex(index)
        self.preview = VideoView(self.tr("Starting the camera…"), mirrored=True)
        self.preview.setAccessibleName(self.tr("Camera preview"))
        self.preview.setFixedSize(400, 225)
        self.camera_status = _status(self.tr("Camera status"))
        self.level_bar = QProgressBar()
        self.level_bar.setRange(0, 100)
        self.level_bar.setTextVisible(False)
        self.level_bar.setAccessibleName(self.tr("Microphone level"))
        self.microphone_status = _status(self.tr("Microphone status"))
        self.tone_button = QPushButton(self.tr("Play a &test tone"))
        self.speaker_status = _status(self.tr("Speaker status"))
        self.check_button = QPushButton(self.tr("Check the co&nnection"))
        self.hub_status = _status(self.tr("Hub connection"))
        self.ice_status = _status(self.tr("STUN and TURN servers"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("Use these devices"))

        camera_form = QFormLayout()
        camera_form.addRow(self.tr("&Camera"), self.camera_combo)
        form = QFormLayout()
        form.addRow(self.tr("&Microphone"), self.microphone_combo)
        form.addRow(self.tr("Level"), self.level_bar)
        form.addRow(self.microphone_status)
        form.addRow(self.tr("&Speaker"), self.speaker_combo)
        form.addRow(self.tone_button, self.speaker_status)
        form.addRow(self.check_button)
        form.addRow(self.tr("Hub"), self.hub_status)
        form.addRow(self.tr("STUN/TURN"), self.ice_status)
        layout = QVBoxLayout(self)
        layout.addLayout(camera_form)
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.camera_status)
        layout.addLayout(form)
        layout.addWidget(buttons)

        self._level.connect(lambda value: self.level_bar.setValue(min(100, int(value * 300))))
        self._message.connect(self.camera_status.setText)
        self.camera_combo.currentIndexChanged.connect(lambda _i: self._start_preview())
        self.microphone_combo.currentIndexChanged.connect(lambda _i: self._start_meter())
        self.tone_button.clicked.connect(self._play_tone)
        self.check_button.clicked.connect(self.check_connection)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.finished.connect(lambda _r: self._stop_devices())
        # Quitting with the dialog open: the device threads stop before the widgets go.
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._stop_devices)
        self.setMinimumWidth(560)
        # Room for two lines of each status from the start: the window does not grow under
        # the provider's pointer when a message arrives.
        for label in (self.camera_status, self.microphone_status, self.speaker_status,
                      self.hub_status, self.ice_status):
            label.setMinimumHeight(2 * label.fontMetrics().lineSpacing() + 4)
        self.resize(self.sizeHint().expandedTo(self.minimumSizeHint()))
        self._start_preview()
        self._start_meter()
        self.check_connection()

    def chosen(self) -> tuple[object, object, object]:
        return (self.camera_combo.currentData(), self.microphone_combo.currentData(),
                self.speaker_combo.currentData())

    def remember(self, settings: QSettings) -> None:
        """Keep the choice for the next calls and the next start."""
        for kind, value in zip(KINDS, self.chosen(), strict=True):
            settings.setValue(SETTINGS_CHOICE.format(kind=kind), value)
        settings.setValue(SETTINGS_DONE, True)

    # -- devices ----------------------------------------------------------------------------

    def _start_preview(self) -> None:
        from workstation.devices.camera import CameraUnavailable
        from workstation.rtc.media import start_preview

        if self._stop_preview is not None:
            self._stop_preview()
            self._stop_preview = None
        self.preview.clear()
        try:
            self._stop_preview = start_preview(self.camera_combo.currentData(),
                                               self.preview.offer, self._message.emit)
            self.camera_status.setText(self.tr("The camera works if you see its picture."))
        except CameraUnavailable as exc:
            self.preview.set_placeholder(self.tr("No picture"))
            self.camera_status.setText(str(exc))

    def _start_meter(self) -> None:
        from workstation.devices.audio import AudioUnavailable
        from workstation.rtc.media import start_level_meter

        if self._stop_meter is not None:
            self._stop_meter()
            self._stop_meter = None
        self.level_bar.setValue(0)
        try:
            self._stop_meter = start_level_meter(self.microphone_combo.currentData(),
                                                 self._level.emit)
            self.microphone_status.setText(self.tr("Speak: the bar moves when you are heard."))
        except AudioUnavailable as exc:
            self.microphone_status.setText(str(exc))

    def _play_tone(self) -> None:
        from workstation.rtc.media import play_test_tone

        self.tone_button.setEnabled(False)
        self.speaker_status.setText(self.tr("Playing…"))

        def played(_result: None) -> None:
            self.tone_button.setEnabled(True)
            self.speaker_status.setText(self.tr("Did you hear a tone? If not, choose another "
                                                "speaker or check the volume."))

        def failed(error: BaseException) -> None:
            self.tone_button.setEnabled(True)
            self.speaker_status.setText(str(error))

        self._bridge.submit(asyncio.to_thread(play_test_tone, self.speaker_combo.currentData()),
                            played, failed)

    def _stop_devices(self) -> None:
        for stop in (self._stop_preview, self._stop_meter):
            if stop is not None:
                stop()
        self._stop_preview = self._stop_meter = None

    # -- the connection ---------------------------------------------------------------------

    def check_connection(self) -> None:
        from workstation.rtc.connectivity import check_ice_servers

        self.check_button.setEnabled(False)
        self.hub_status.setText(self.tr("Checking…"))
        self.ice_status.setText(self.tr("Checking…"))
        started = time.monotonic()
        reply = self._network.get(QNetworkRequest(QUrl(f"{self._hub_url}/api/site")))
        reply.finished.connect(lambda: self._on_hub_answered(reply, started))

        def checked(results: list[Any]) -> None:
            self.ice_status.setText("\n".join(r.message for r in results))
            self.check_button.setEnabled(True)

        def failed(error: BaseException) -> None:
            self.ice_status.setText(self.tr("The check failed: %1").replace("%1", str(error)))
            self.check_button.setEnabled(True)

        self._bridge.submit(check_ice_servers(self._ice), checked, failed)

    def _on_hub_answered(self, reply: QNetworkReply, started: float) -> None:
        reply.deleteLater()
        took = (time.monotonic() - started) * 1000
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if status == 200:
            self.hub_status.setText(self.tr("Reachable (answered in %1 ms)").replace(
                "%1", f"{took:.0f}"))
        else:
            self.hub_status.setText(self.tr(
                "Not reachable: %1. Check the network, or ask IT whether the hub is running."
            ).replace("%1", reply.errorString()))


def _combo(name: str, items: Sequence[tuple[str, object]]) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _status(name: str) -> QLabel:
    label = plain()
    label.setAccessibleName(name)
    return label
