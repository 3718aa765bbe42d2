"""The call pane in the chart: the patient large, the provider small, the call's controls, its
state, timer and quality in words, device menus, and the in-call chat. The video can float in a
window of its own, always on top, while the provider charts."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.call.video_view import VideoView
from workstation.ui.widgets.card import plain

STATE_TEXTS = {
    "idle": str(QT_TRANSLATE_NOOP("CallPane", "The video visit has not started.")),
    "connecting": str(QT_TRANSLATE_NOOP("CallPane", "Calling the patient…")),
    "connected": str(QT_TRANSLATE_NOOP("CallPane", "In the video visit")),
    "reconnecting": str(QT_TRANSLATE_NOOP("CallPane", "Reconnecting… (the chart is not affected)")),
    "away": str(QT_TRANSLATE_NOOP(
        "CallPane", "The patient left the video. They can rejoin from their page.")),
    "ended": str(QT_TRANSLATE_NOOP("CallPane", "The video visit has ended.")),
}


class _VideoArea(QWidget):
    """The patient's picture, with the provider's own small in its lower right corner."""

    def __init__(self, remote: VideoView, self_view: VideoView) -> None:
        super().__init__()
        self.remote = remote
        self.self_view = self_view
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(remote)
        self_view.setParent(self)
        self.setMinimumSize(320, 180)

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        width = max(96, self.width() // 4)
        height = width * 9 // 16
        self.self_view.setGeometry(self.width() - width - 8, self.height() - height - 8,
                                   width, height)
        self.self_view.raise_()


class _FloatingVideo(QWidget):
    """The video in a window of its own; closing it puts the video back in the chart."""

    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle(self.tr("Video visit"))
        self.setAccessibleName(self.tr("Floating video of the visit"))
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.resize(480, 300)

    def event(self, event: QEvent) -> bool:  # Qt override
        if event.type() is QEvent.Type.Close:
            self.closed.emit()
        return super().event(event)


class CallPane(QWidget):
    """Signals:
        start_requested(), end_requested(): the provider starts or ends the video visit.
        mute_toggled(bool), camera_toggled(bool): microphone muted, camera off (True).
        volume_changed(int): the speaker volume, 0-100.
        devices_changed(): another camera, microphone or speaker was chosen.
        chat_submitted(str): a chat line to send.
        room_wanted(): the call's pictures appeared; the chart gives the pane more height.
        room_released(): the pictures went (the call is over); the chart takes its height back.
    """

    start_requested = Signal()
    end_requested = Signal()
    mute_toggled = Signal(bool)
    camera_toggled = Signal(bool)
    volume_changed = Signal(int)
    devices_changed = Signal()
    chat_submitted = Signal(str)
    room_wanted = Signal()  # the pictures appeared: the chart may give the pane more height
    room_released = Signal()  # back to two lines: the chart may take the height back

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.remote_view = VideoView(self.tr("The patient's video appears here."))
        self.remote_view.setAccessibleName(self.tr("The patient's video"))
        self.self_view = VideoView(self.tr("Your camera"), mirrored=True)
        self.self_view.setAccessibleName(self.tr("Your own camera"))
        self.video_area = _VideoArea(self.remote_view, self.self_view)

        self.state_label = QLabel(self.tr(STATE_TEXTS["idle"]))
        self.state_label.setAccessibleName(self.tr("Video visit status"))
        self.timer_label = QLabel("00:00")
        self.timer_label.setAccessibleName(self.tr("Call time"))
        self.quality_label = QLabel("")
        self.quality_label.setAccessibleName(self.tr("Call quality"))
        self.device_banner = plain()
        self.device_banner.setStyleSheet(
            "QLabel { background: #fff4ce; color: #4a3b00; padding: 4px; }")
        self.device_banner.setAccessibleName(self.tr("Device problem"))
        self.device_banner.hide()

        self.start_button = QPushButton(self.tr("Start vide&o visit"))
        self.start_button.setShortcut(QKeySequence("Ctrl+Shift+V"))
        self.start_button.setToolTip(self.tr("Start the video visit (Ctrl+Shift+V)"))
        self.end_button = QPushButton(self.tr("En&d video visit"))
        self.end_button.setEnabled(False)
        self.mute_button = QPushButton(self.tr("&Mute"))
        self.mute_button.setCheckable(True)
        self.mute_button.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.mute_button.setAccessibleName(self.tr("Mute my microphone"))
        self.camera_button = QPushButton(self.tr("&Camera off"))
        self.camera_button.setCheckable(True)
        self.camera_button.setAccessibleName(self.tr("Turn my camera off"))
        self.float_button = QPushButton(self.tr("F&loat video"))
        self.float_button.setCheckable(True)
        self.float_button.setAccessibleName(self.tr("Show the video in a window on top"))
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(80)
        self.volume_slider.setAccessibleName(self.tr("Speaker volume"))

        self.camera_combo = QComboBox()
        self.camera_combo.setAccessibleName(self.tr("Camera"))
        self.microphone_combo = QComboBox()
        self.microphone_combo.setAccessibleName(self.tr("Microphone"))
        self.speaker_combo = QComboBox()
        self.speaker_combo.setAccessibleName(self.tr("Speaker"))

        self.chat_list = QListWidget()
        self.chat_list.setAccessibleName(self.tr("Chat with the patient"))
        self.chat_list.setWordWrap(True)
        self.chat_edit = QLineEdit()
        self.chat_edit.setMaxLength(2000)
        self.chat_edit.setPlaceholderText(self.tr("Message to the patient (spell a drug name)"))
        self.chat_edit.setAccessibleName(self.tr("Message to the patient"))
        self.chat_send = QPushButton(self.tr("Send"))
        self.chat_send.setAccessibleName(self.tr("Send the message"))
        self.set_chat_enabled(False)

        status = QHBoxLayout()
        status.addWidget(self.state_label, 1)
        status.addWidget(self.quality_label)
        status.addWidget(self.timer_label)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.end_button, self.mute_button,
                       self.camera_button, self.float_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        devices = QFormLayout()
        devices.addRow(self.tr("Camera"), self.camera_combo)
        devices.addRow(self.tr("Microphone"), self.microphone_combo)
        devices.addRow(self.tr("Speaker"), self.speaker_combo)
        devices.addRow(self.tr("Volume"), self.volume_slider)
        chat_row = QHBoxLayout()
        chat_row.addWidget(self.chat_edit, 1)
        chat_row.addWidget(self.chat_send)
        side = QVBoxLayout()
        side.addLayout(devices)
        side.addWidget(QLabel(self.tr("Chat (kept with the visit)")))
        side.addWidget(self.chat_list, 1)
        side.addLayout(chat_row)

        self._video_holder = QVBoxLayout()
        self._video_holder.addWidget(self.video_area, 1)
        # The pictures and the chat take room only while there is a call: before it, the
        # pane is two lines (status, buttons) and the chart keeps its height.
        self.call_body = QWidget()
        body = QHBoxLayout(self.call_body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(self._video_holder, 3)
        body.addLayout(side, 2)
        self.call_body.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(status)
        layout.addWidget(self.device_banner)
        layout.addWidget(self.call_body, 1)
        layout.addLayout(buttons)

        self._floating: _FloatingVideo | None = None
        self.shown_state = "idle"  # the call's state as shown (and the Start button's words)
        self.start_button.clicked.connect(self.start_requested)
        self.end_button.clicked.connect(self.end_requested)
        self.mute_button.toggled.connect(self.mute_toggled)
        self.camera_button.toggled.connect(self.camera_toggled)
        self.volume_slider.valueChanged.connect(self.volume_changed)
        self.float_button.toggled.connect(self.set_floating)
        for combo in (self.camera_combo, self.microphone_combo, self.speaker_combo):
            combo.activated.connect(lambda _i: self.devices_changed.emit())
        self.chat_send.clicked.connect(self._submit_chat)
        self.chat_edit.returnPressed.connect(self._submit_chat)

    # -- what the presenter calls -----------------------------------------------------------

    def show_state(self, state: str) -> None:
        self.shown_state = state
        self.state_label.setText(self.tr(STATE_TEXTS.get(state, STATE_TEXTS["idle"])))
        active = state in ("connecting", "connected", "reconnecting", "away")
        self.start_button.setEnabled(not active)
        self.start_button.setText(self.tr("Call &again") if state == "ended"
                                  else self.tr("Start vide&o visit"))
        self.end_button.setEnabled(active)
        self.set_chat_enabled(state == "connected")
        showing = active or self.chat_list.count() > 0
        if showing and not self.call_body.isVisible():
            self.call_body.setVisible(True)
            self.room_wanted.emit()
        elif not showing and not self.call_body.isHidden():
            self.call_body.setVisible(False)
            self.room_released.emit()
        if state in ("idle", "ended"):
            self.remote_view.clear()
            self.self_view.clear()
            self.quality_label.setText("")

    def show_time(self, seconds: int) -> None:
        self.timer_label.setText(f"{seconds // 60:02d}:{seconds % 60:02d}")

    def show_quality(self, label: str, level: str) -> None:
        self.quality_label.setText(label)
        self.quality_label.setProperty("level", level)
        self.quality_label.setStyleSheet(
            "QLabel { color: #b3261e; font-weight: bold; }" if level == "poor" else "")

    def show_device_problems(self, problems: Sequence[str]) -> None:
        self.device_banner.setText("\n".join(problems))
        self.device_banner.setVisible(bool(problems))

    def set_devices(self, cameras: Sequence[tuple[str, object]],
                    microphones: Sequence[tuple[str, object]],
                    speakers: Sequence[tuple[str, object]]) -> None:
        """Each a list of (name shown, value the presenter understands)."""
        for combo, items in ((self.camera_combo, cameras),
                             (self.microphone_combo, microphones),
                             (self.speaker_combo, speakers)):
            chosen = combo.currentData()
            combo.clear()
            for name, value in items:
                combo.addItem(name, value)
            index = combo.findData(chosen)
            combo.setCurrentIndex(max(0, index))

    def chosen(self) -> tuple[object, object, object]:
        return (self.camera_combo.currentData(), self.microphone_combo.currentData(),
                self.speaker_combo.currentData())

    def add_chat(self, who: str, text: str) -> None:
        self.chat_list.addItem(f"{who}: {text}")
        self.chat_list.scrollToBottom()

    def clear_chat(self) -> None:
        self.chat_list.clear()

    def set_chat_enabled(self, on: bool) -> None:
        self.chat_edit.setEnabled(on)
        self.chat_send.setEnabled(on)

    def set_floating(self, on: bool) -> None:
        """The video in an always-on-top window of its own, or back in the chart."""
        if on and self._floating is None:
            window = _FloatingVideo(self)
            window.closed.connect(lambda: self.float_button.setChecked(False))
            layout = window.layout()
            assert layout is not None
            layout.addWidget(self.video_area)
            self._floating = window
            window.show()
        elif not on and self._floating is not None:
            window, self._floating = self._floating, None
            self._video_holder.addWidget(self.video_area, 1)
            window.closed.disconnect()
            window.close()
            window.deleteLater()
        if self.float_button.isChecked() != on:
            self.float_button.setChecked(on)

    @property
    def floating(self) -> bool:
        return self._floating is not None

    def _submit_chat(self) -> None:
        text = self.chat_edit.text().strip()
        if text and self.chat_edit.isEnabled():
            self.chat_submitted.emit(text)
            self.chat_edit.clear()
