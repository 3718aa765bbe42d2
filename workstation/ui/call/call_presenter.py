"""Runs the video call of the open chart: the call pane's buttons in, the call's state, timer,
quality, chat and frames out. The call itself (aiortc, devices) lives on the asyncio thread;
nothing here waits on it."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QDialog

from workstation.ui.call.call_pane import CallPane
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.heap import keep_loaded

if TYPE_CHECKING:  # the media stack loads on a worker thread after start-up
    from workstation.client.hub_client import HubClient
    from workstation.devices.audio import Speaker
    from workstation.rtc.call import ChatMessage
    from workstation.rtc.media import Sources
    from workstation.rtc.visit_call import VisitCall

log = logging.getLogger(__name__)

# The call's media stack: loaded off the GUI thread after start-up (or when a video visit's
# chart or the device check opens first), so "Call" does not wait on it.
MEDIA_MODULES = ("workstation.rtc.media", "workstation.rtc.visit_call",
                 "workstation.rtc.quality", "workstation.ui.call.device_check")
QUALITY_EVERY_MS = 2000
POOR_CHECKS_BEFORE_LOWERING = 2
GOOD_CHECKS_BEFORE_RESTORING = 5
LOWERED = (360, 15)  # lines and frames a second sent while the call struggles


class CallController(QObject):
    """Signals:
        state_changed(str): the call's state (for the window: the lock and alerts hold off).
        _state(str), _chat(object), _problem(str): internal, from the asyncio thread.
    """

    state_changed = Signal(str)
    _state = Signal(str)
    _chat = Signal(object)
    _problem = Signal(str)

    def __init__(self, bridge: AsyncBridge, pane: CallPane, *,
                 ice_servers: tuple[dict[str, Any], ...] = (),
                 default_devices: tuple[object, object, object] | None = None,
                 check_first: bool = False) -> None:
        """``check_first``: the device check opens before the first call on this computer
        (the app; tests choose devices themselves)."""
        super().__init__(pane)
        self._check_first = check_first
        self._devices: tuple[list[tuple[str, object]], ...] = ([], [], [])
        self._bridge = bridge
        self._pane = pane
        self._ice = ice_servers
        self._client: HubClient | None = None
        self._visit_id: str | None = None
        self._call: VisitCall | None = None
        self._sources: Sources | None = None
        self._speaker: Speaker | None = None
        self._connected_at: float | None = None
        self._stats_before: dict[str, Any] | None = None
        self._frames_before = 0
        self._stats_at = 0.0
        self._poor = 0
        self._good = 0
        self._lowered = False
        self.state = "idle"
        self.synthetic_size = (1280, 720)  # the test pattern's, when it is the camera
        self.device_check: Any = None  # the open device check dialog, if any
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._quality_timer = QTimer(self)
        self._quality_timer.setInterval(QUALITY_EVERY_MS)
        self._quality_timer.timeout.connect(self._measure)
        self._state.connect(self._on_state)
        self._chat.connect(self._on_chat)
        self._problem.connect(lambda text: self._pane.show_device_problems([text]))
        pane.start_requested.connect(self.start)
        pane.end_requested.connect(self.end)
        pane.mute_toggled.connect(self._on_mute)
        pane.camera_toggled.connect(self._on_camera)
        pane.volume_changed.connect(self._on_volume)
        pane.devices_changed.connect(self._on_devices_changed)
        pane.chat_submitted.connect(self._on_chat_submitted)
        self._defaults = default_devices
        self._scanned = False  # the system's devices, asked for with the media stack
        self._loading = False
        self._after_load: list[Callable[[], None]] = []
        self._show_devices([], [], [], default_devices)

    # -- the chart's visit ----------------------------------------------------------------

    def set_visit(self, client: HubClient | None, visit_id: str | None, *, video: bool,
                  chat: Sequence[Mapping[str, Any]] = ()) -> None:
        """The chart now shows ``visit_id`` (a video visit when ``video``), with the chat kept
        so far; any call of the previous visit ends."""
        if self._call is not None and visit_id != self._visit_id:
            self.end()
        self._client = client
        self._visit_id = visit_id
        self._pane.setVisible(bool(visit_id) and video)
        if visit_id and video:
            self.prepare()  # a call is next: be ready for it
        if self._call is None:
            self._pane.clear_chat()
            for line in chat:
                self._pane.add_chat(self._who(str(line.get("sender"))), str(line.get("text")))
            self._pane.show_state("idle")
            self._pane.show_time(0)

    def _who(self, sender: str) -> str:
        return self.tr("Patient") if sender == "patient" else self.tr("You")

    @property
    def pane(self) -> CallPane:
        return self._pane

    @property
    def in_call(self) -> bool:
        return self.state in ("connecting", "connected", "reconnecting", "away")

    # -- starting and ending ----------------------------------------------------------------

    def prepare(self) -> None:
        """Load the media stack and list the devices now, in the background (the app does it
        right after start-up: loading it holds the interpreter for tens of milliseconds at a
        time, better then than while the provider works)."""
        if not self._ready() and not self._loading:
            self._with_media(lambda: None)

    @property
    def media_ready(self) -> bool:
        """The media stack is loaded and the devices listed: a call starts without waiting."""
        return self._ready()

    def _ready(self) -> bool:
        return self._scanned and all(name in sys.modules for name in MEDIA_MODULES)

    def _with_media(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the media stack (aiortc, PyAV, NumPy, PortAudio) is loaded and
        the system's cameras and sound devices are listed: the first time, on a worker thread,
        so the window keeps answering."""
        if self._ready():
            then()
            return
        self._after_load.append(then)
        self._pane.state_label.setText(self.tr("Loading the video components…"))
        if self._loading:
            return
        self._loading = True
        import asyncio
        import importlib

        Devices = list[tuple[str, object]]

        def load() -> tuple[Devices, Devices, Devices]:
            for name in MEDIA_MODULES:
                importlib.import_module(name)
            from workstation.devices.audio import list_audio_devices
            from workstation.devices.camera import list_cameras

            sound = list_audio_devices()
            return ([(c.name, c.index) for c in list_cameras()],
                    [(d.name, d.index) for d in sound if d.inputs],
                    [(d.name, d.index) for d in sound if d.outputs])

        def loaded(devices: tuple[Devices, Devices, Devices]) -> None:
            keep_loaded()  # the media stack stays loaded for the day
            self._scanned = True
            self._loading = False
            if any(devices):
                cameras, microphones, speakers = devices
                self._show_devices(cameras, microphones, speakers, self._defaults)
            self._pane.show_state(self.state)
            waiting, self._after_load = self._after_load, []
            for action in waiting:
                action()

        def failed(error: BaseException) -> None:
            self._loading = False
            self._after_load.clear()
            self._on_start_failed(error)

        self._bridge.submit(asyncio.to_thread(load), loaded, failed)

    def start(self) -> None:
        if self._client is None or self._visit_id is None or self._call is not None:
            return
        if not self._ready():
            self._with_media(self.start)
            return
        from workstation.ui.call.device_check import SETTINGS_DONE

        if self._check_first and not QSettings().value(SETTINGS_DONE, False, bool):
            self.check_devices(then_start=True)
            return
        from workstation.rtc.media import open_sources, open_speaker
        from workstation.rtc.visit_call import VisitCall

        camera, microphone, speaker = self._pane.chosen()
        self._sources = open_sources(camera, microphone,  # type: ignore[arg-type]
                                     on_self_frame=self._pane.self_view.offer,
                                     on_lost=self._problem.emit,
                                     synthetic_size=self.synthetic_size)
        self._speaker, speaker_problem = open_speaker(speaker)  # type: ignore[arg-type]
        problems = self._sources.problems + ([speaker_problem] if speaker_problem else [])
        self._pane.show_device_problems(problems)
        if self._speaker is not None:
            self._speaker.volume = self._pane.volume_slider.value() / 100
        self._call = VisitCall(
            self._client, self._visit_id, ice_servers=self._ice,
            video=self._sources.video, audio=self._sources.audio,
            on_video=self._pane.remote_view.offer, on_audio=self._play,
            on_chat=self._chat.emit, on_state=self._state.emit)
        self._call.call.set_muted(self._pane.mute_button.isChecked())
        self._call.call.set_camera(not self._pane.camera_button.isChecked())
        self._on_state("connecting")
        self._bridge.submit(self._call.start(), None, self._on_start_failed)

    def end(self, then: Callable[[], None] | None = None) -> None:
        """Hang up for both sides; the visit moves on to documenting. ``then`` runs once the
        hub has recorded the end (or could not: it is logged), e.g. signing the note."""
        call, self._call = self._call, None
        if call is None:
            if then is not None:
                then()
            return
        sources, self._sources = self._sources, None
        speaker, self._speaker = self._speaker, None

        async def finish() -> None:
            try:
                await call.end()
            finally:
                if sources is not None:
                    sources.close()
                if speaker is not None:
                    speaker.stop()

        if then is None:
            self._bridge.finish_before_exit(finish())
        else:
            self._bridge.submit(finish(), lambda _r: then(), lambda _e: then())
        self._on_state("ended")

    def on_patient_signal(self, visit_id: str, data: Mapping[str, Any]) -> None:
        """A patient's page spoke while no call runs: on the video page (at first, or back
        after End or after leaving), it says hello; the provider is told to call, in the words
        of the button there is to press."""
        if visit_id != self._visit_id or self._call is not None or self._pane.isHidden():
            return
        if data.get("kind") != "hello":
            return
        if self._pane.shown_state == "ended":
            text = self.tr("The patient is back on the video page: choose Call again to reach "
                           "them.")
        else:
            text = self.tr("The patient is on the video page: choose Start video visit to "
                           "call them.")
        self._pane.state_label.setText(text)

    def _on_start_failed(self, error: BaseException) -> None:
        log.warning("The video visit could not start: %s", error)
        self._pane.show_device_problems([self.tr(
            "The video visit could not start: %1. Check the connection to the hub, then "
            "choose Call again.").replace("%1", str(error) or type(error).__name__)])
        call, self._call = self._call, None
        if call is not None:
            self._bridge.finish_before_exit(call.call.close(notify=False))
        if self._sources is not None:
            self._sources.close()
            self._sources = None
        self._on_state("idle")

    # -- what the call reports ----------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        self.state = state
        self._pane.show_state(state)
        if state == "connected":
            if self._connected_at is None:
                self._connected_at = time.monotonic()
            self._timer.start()
            self._quality_timer.start()
        elif state in ("idle", "ended"):
            self._timer.stop()
            self._quality_timer.stop()
            self._connected_at = None
            self._stats_before = None
        self.state_changed.emit(state)

    def _tick(self) -> None:
        if self._connected_at is not None:
            self._pane.show_time(int(time.monotonic() - self._connected_at))

    def _measure(self) -> None:
        call = self._call
        if call is None:
            return
        self._bridge.submit(call.call.stats(), self._on_stats)

    def _on_stats(self, stats: dict[str, Any]) -> None:
        from workstation.core.call_quality import assess
        from workstation.rtc.quality import figures

        now = time.monotonic()
        frames = self._pane.remote_view.frames_offered
        if self._stats_before is not None and self._call is not None:
            quality = assess(figures(self._stats_before, stats, now - self._stats_at,
                                     frames - self._frames_before))
            self._pane.show_quality(self.tr(quality.label), quality.level)
            self._adapt(quality.level)
        self._stats_before, self._stats_at, self._frames_before = stats, now, frames

    def _adapt(self, level: str) -> None:
        """Lower what is sent after repeated poor checks; restore it after a good while."""
        call = self._call
        if call is None:
            return
        self._poor = self._poor + 1 if level == "poor" else 0
        self._good = self._good + 1 if level == "good" else 0
        if not self._lowered and self._poor >= POOR_CHECKS_BEFORE_LOWERING:
            self._lowered = True
            self._bridge.submit(_later(lambda: call.call.set_video_limits(*LOWERED)))
        elif self._lowered and self._good >= GOOD_CHECKS_BEFORE_RESTORING:
            self._lowered = False
            self._bridge.submit(_later(lambda: call.call.set_video_limits(None, 30)))

    def _on_chat(self, message: ChatMessage) -> None:
        self._pane.add_chat(self._who(message.sender), message.text)

    def _play(self, frame: Any) -> None:
        """The patient's voice (aiortc decodes Opus to interleaved s16): first channel."""
        speaker = self._speaker
        if speaker is not None and frame.format.name == "s16":
            speaker.play(frame.to_ndarray().reshape(-1)[::len(frame.layout.channels)])

    # -- the provider's controls ----------------------------------------------------------------

    def _on_mute(self, muted: bool) -> None:
        call = self._call
        if call is not None:
            self._bridge.submit(_later(lambda: call.call.set_muted(muted)))

    def _on_camera(self, off: bool) -> None:
        call = self._call
        if call is not None:
            self._bridge.submit(_later(lambda: call.call.set_camera(not off)))
        if off:
            self._pane.self_view.clear()

    def _on_volume(self, value: int) -> None:
        if self._speaker is not None:
            self._speaker.volume = value / 100

    def _on_devices_changed(self) -> None:
        """Another camera or microphone mid-call: its track replaces the old one."""
        call, old = self._call, self._sources
        if call is None or old is None:
            return
        from workstation.rtc.media import open_sources

        camera, microphone, _speaker = self._pane.chosen()
        new = open_sources(camera, microphone,  # type: ignore[arg-type]
                           on_self_frame=self._pane.self_view.offer, on_lost=self._problem.emit)
        self._sources = new
        self._pane.show_device_problems(new.problems)

        async def switch() -> None:
            await call.call.replace_video(new.video)
            await call.call.replace_audio(new.audio)
            old.close()

        self._bridge.submit(switch())

    def _on_chat_submitted(self, text: str) -> None:
        call = self._call
        if call is None:
            return

        async def send() -> ChatMessage:
            return call.send_chat(text)

        self._bridge.submit(send(), self._on_chat, lambda error: self._pane.show_device_problems(
            [self.tr("The message was not sent: %1").replace("%1", str(error))]))

    def check_devices(self, *, then_start: bool = False, hub_url: str | None = None) -> None:
        if not self._ready():
            self._with_media(lambda: self.check_devices(then_start=then_start, hub_url=hub_url))
            return
        self._open_device_check(then_start, hub_url)

    def _open_device_check(self, then_start: bool, hub_url: str | None) -> None:
        """The device check (camera preview, microphone level, test tone, connection); the
        devices chosen there are used and remembered. With ``then_start``, the call starts
        once the provider is done with it."""
        from workstation.ui.call.device_check import DeviceCheck

        if hub_url is None:
            hub_url = self._client.base_url if self._client is not None else ""
        cameras, microphones, speakers = self._devices
        dialog = DeviceCheck(self._bridge, hub_url=hub_url, ice_servers=self._ice,
                             cameras=cameras, microphones=microphones, speakers=speakers,
                             chosen=self._pane.chosen(), parent=self._pane.window())
        self.device_check = dialog

        def done(result: int) -> None:
            self.device_check = None
            if result == QDialog.DialogCode.Accepted:
                dialog.remember(QSettings())
                self._choose(dialog.chosen())
                if then_start:
                    self.start()
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def _choose(self, devices: tuple[object, object, object]) -> None:
        for combo, value in zip((self._pane.camera_combo, self._pane.microphone_combo,
                                 self._pane.speaker_combo), devices, strict=True):
            index = combo.findData(value)
            if index >= 0:
                combo.setCurrentIndex(index)

    def _show_devices(self, cameras: list[tuple[str, object]],
                      microphones: list[tuple[str, object]],
                      speakers: list[tuple[str, object]],
                      defaults: tuple[object, object, object] | None) -> None:
        from workstation.devices import SYNTHETIC

        cameras = [*cameras, (self.tr("Test pattern (no camera)"), SYNTHETIC)]
        microphones = [*microphones, (self.tr("Test tone (no microphone)"), SYNTHETIC)]
        speakers = [*speakers, (self.tr("No speaker (chat only)"), SYNTHETIC)]
        self._pane.set_devices(cameras, microphones, speakers)
        self._devices = (cameras, microphones, speakers)
        remembered = None
        if self._check_first:
            from workstation.ui.call.device_check import remembered_devices

            remembered = remembered_devices(QSettings())
        for choice in (defaults, remembered):  # what this computer chose last wins
            if choice is not None:
                self._choose(choice)




async def _later(action: Any) -> None:
    """Run a quick call-side change on the asyncio thread (where the call lives)."""
    action()
