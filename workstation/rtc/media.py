"""The devices a call sends from and plays to, chosen by the provider, with what is missing
said in words: a call goes on with what is left (audio only, video only, receive only)."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import av

from workstation.devices import SYNTHETIC
from workstation.devices.audio import AudioUnavailable, Microphone, Speaker
from workstation.devices.camera import Camera, CameraUnavailable
from workstation.devices.synthetic import TestPattern, Tone
from workstation.rtc.call import AudioSource, FrameSource
from workstation.rtc.tracks import LatestFrame

log = logging.getLogger(__name__)

__all__ = ["SYNTHETIC", "Sources", "open_sources", "open_speaker", "play_test_tone",
           "start_level_meter", "start_preview"]

Choice = int | str | None  # a device index, SYNTHETIC, or None for none/system default


@dataclass
class Sources:
    video: FrameSource | None
    audio: AudioSource | None
    problems: list[str] = field(default_factory=list)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release the camera and microphone (at the end of the call, or on a switch)."""
        for stop in self._stops:
            try:
                stop()
            except Exception:
                log.info("A device did not close cleanly", exc_info=True)
        self._stops.clear()


def open_video(camera: Choice, on_lost: Callable[[str], None] = lambda _m: None,
               synthetic_size: tuple[int, int] = (1280, 720),
               ) -> tuple[FrameSource | None, list[str], list[Callable[[], None]]]:
    if camera == SYNTHETIC:
        return TestPattern(*synthetic_size).frame, [], []
    if camera is None:
        return None, ["No camera chosen: the patient hears you but does not see you."], []
    try:
        device = Camera(int(camera))
    except (CameraUnavailable, ValueError) as exc:
        return None, [f"{exc} The patient hears you but does not see you."], []
    latest = LatestFrame()
    device.start(latest.offer, on_lost)
    return latest.take, [], [device.stop]


def open_audio(microphone: Choice,
               ) -> tuple[AudioSource | None, list[str], list[Callable[[], None]]]:
    if microphone == SYNTHETIC:
        return Tone().frame, [], []
    try:
        device = Microphone(None if microphone is None else int(microphone))
        frames: collections.deque[av.AudioFrame] = collections.deque(maxlen=10)
        device.start(frames.append)
    except (AudioUnavailable, ValueError) as exc:
        return None, [f"{exc} The patient sees you but does not hear you: use the chat."], []

    def take() -> av.AudioFrame | None:
        return frames.popleft() if frames else None

    return take, [], [device.stop]


def open_sources(camera: Choice, microphone: Choice,
                 on_self_frame: Callable[[av.VideoFrame], None] | None = None,
                 on_lost: Callable[[str], None] = lambda _m: None,
                 synthetic_size: tuple[int, int] = (1280, 720)) -> Sources:
    """Open what the provider chose; what cannot be opened is left out and explained.
    ``synthetic_size``: the test pattern's size, when that is the camera."""
    video, video_problems, video_stops = open_video(camera, on_lost, synthetic_size)
    audio, audio_problems, audio_stops = open_audio(microphone)
    if video is not None and on_self_frame is not None:
        video = _tapped(video, on_self_frame)
    return Sources(video, audio, video_problems + audio_problems, video_stops + audio_stops)


def _tapped(source: FrameSource, tap: Callable[[av.VideoFrame], None]) -> FrameSource:
    """The same frames, also shown in the self view."""

    def produce() -> av.VideoFrame | None:
        frame = source()
        if frame is not None:
            tap(frame)
        return frame

    return produce


def open_speaker(speaker: Choice) -> tuple[Speaker | None, str | None]:
    """The speaker (or headset) for the patient's voice; None and why when there is none."""
    if speaker == SYNTHETIC:
        return None, None  # demo and tests: the sound is received and dropped
    try:
        device = Speaker(None if speaker is None else int(speaker))
        device.start()
    except (AudioUnavailable, ValueError) as exc:
        return None, f"{exc} Use the chat, or choose another speaker."
    return device, None


def start_preview(camera: Choice, deliver: Callable[[av.VideoFrame], None],
                  on_lost: Callable[[str], None] = lambda _m: None,
                  fps: int = 15) -> Callable[[], None]:
    """Frames of the chosen camera for a preview (the device check), on a thread of their
    own; returns how to stop. Raises CameraUnavailable when the camera cannot be opened."""
    if camera == SYNTHETIC:
        return _ticker(lambda: deliver(TestPattern(640, 360).frame()), 1 / fps)
    if camera is None:
        raise CameraUnavailable("No camera chosen.")
    device = Camera(int(camera))
    device.start(deliver, on_lost)
    return device.stop


def start_level_meter(microphone: Choice, level: Callable[[float], None]) -> Callable[[], None]:
    """How loud the chosen microphone hears, 0-1, about 50 times a second; returns how to
    stop. Raises AudioUnavailable when there is no microphone to open."""
    from workstation.devices.synthetic import rms

    if microphone == SYNTHETIC:
        tone = Tone(level=0.3)
        return _ticker(lambda: level(rms(tone.frame())), 0.02)
    device = Microphone(None if microphone is None else int(microphone))
    device.start(lambda frame: level(rms(frame)))
    return device.stop


def play_test_tone(speaker: Choice, seconds: float = 1.0) -> None:
    """A short tone through the chosen speaker (blocking for ``seconds``: call it off the GUI
    thread). Raises AudioUnavailable when there is no speaker to open."""
    import time

    if speaker == SYNTHETIC:
        raise AudioUnavailable("No speaker chosen.")
    device = Speaker(None if speaker is None else int(speaker), max_ms=int(seconds * 1000))
    tone = Tone(frequency=660.0, level=0.2)
    for _ in range(int(seconds * 50)):
        device.play(tone.frame().to_ndarray().reshape(-1))
    device.start()
    try:
        time.sleep(seconds + 0.1)
    finally:
        device.stop()


def _ticker(action: Callable[[], None], period: float) -> Callable[[], None]:
    import threading

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(period):
            try:
                action()
            except RuntimeError:  # the view it fed is gone
                return

    threading.Thread(target=run, name="device-preview", daemon=True).start()
    return stop.set
