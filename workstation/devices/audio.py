"""Microphone and speaker through sounddevice (PortAudio), 48 kHz mono, 20 ms blocks.

PortAudio calls back on its own thread; frames are handed over with ``deliver`` (thread-safe,
such as ``loop.call_soon_threadsafe``). Without PortAudio, or with no sound device, opening
raises AudioUnavailable with a message for the provider.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from workstation.devices.synthetic import AUDIO_RATE, AUDIO_SAMPLES, silence_like


class AudioUnavailable(Exception):
    """No microphone or speaker, or no PortAudio library; the message says which."""


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    inputs: int
    outputs: int


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # libportaudio2 missing
        raise AudioUnavailable(
            "Sound is not available: the PortAudio library is missing "
            "(on Debian: apt-get install libportaudio2).") from exc
    return sounddevice


def list_audio_devices() -> list[AudioDevice]:
    """Microphones and speakers the system shows; empty when there are none."""
    try:
        sd = _sounddevice()
        found = sd.query_devices()
    except (AudioUnavailable, Exception):
        return []
    return [AudioDevice(i, str(d["name"]), int(d["max_input_channels"]),
                        int(d["max_output_channels"])) for i, d in enumerate(found)]


class _Stream:
    """A PortAudio stream of 20 ms s16 mono blocks at 48 kHz on one device."""

    def __init__(self, device: int | None) -> None:
        self._sd = _sounddevice()
        self._device = device
        self._stream: Any = None

    def _open(self, stream_type: str, callback: Callable[..., None], what: str) -> None:
        try:
            self._stream = getattr(self._sd, stream_type)(
                samplerate=AUDIO_RATE, blocksize=AUDIO_SAMPLES, channels=1, dtype="int16",
                device=self._device, callback=callback)
            self._stream.start()
        except Exception as exc:
            raise AudioUnavailable(f"No {what} could be opened: {exc}") from exc

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class Microphone(_Stream):
    """Captures 20 ms s16 mono frames; ``deliver`` gets each as an ``av.AudioFrame``."""

    def __init__(self, device: int | None = None) -> None:  # the system default when None
        super().__init__(device)

    def start(self, deliver: Callable[[av.AudioFrame], None]) -> None:
        def callback(data: np.ndarray, _frames: int, _time: Any, _status: Any) -> None:
            deliver(silence_like(data[:, 0].copy()))

        self._open("InputStream", callback, "microphone")


class Speaker(_Stream):
    """Plays s16 mono 48 kHz samples handed to ``play``; keeps at most ``max_ms`` queued, so
    a late speaker drops old sound rather than drifting behind the call."""

    def __init__(self, device: int | None = None, max_ms: int = 200) -> None:
        super().__init__(device)
        self._buffer: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(1, max_ms * AUDIO_RATE // 1000 // AUDIO_SAMPLES))
        self._lock = threading.Lock()
        self.volume = 1.0

    def play(self, samples: np.ndarray) -> None:
        with self._lock:
            self._buffer.append(samples.astype(np.int16))

    def start(self) -> None:
        def callback(out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
            with self._lock:
                block = self._buffer.popleft() if self._buffer else None
            out.fill(0)
            if block is not None:
                n = min(frames, block.size)
                out[:n, 0] = (block[:n] * self.volume).astype(np.int16)

        self._open("OutputStream", callback, "speaker")
