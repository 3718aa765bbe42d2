"""Outgoing media tracks: paced frames from a camera, microphone or synthetic source.

Muting keeps the audio track sending silence (the far side hears nothing, the call stays up);
turning the camera off stops video frames until it is turned back on. A capture device hands
frames in with ``offer`` from its own thread's callback; the track sends only the newest one.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from workstation.devices.synthetic import AUDIO_RATE, AUDIO_SAMPLES, silence_like

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)


class _Paced(MediaStreamTrack):
    """Hands out one frame per ``period`` seconds, on the loop's clock."""

    def __init__(self, period: float) -> None:
        super().__init__()
        self._period = period
        self._start: float | None = None
        self._count = 0
        self.captured_at: float | None = None  # loop time of the last frame handed out

    async def _tick(self) -> int:
        """Wait for the next frame's time; returns the frame's number since the start."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._count += 1
            delay = self._start + self._count * self._period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.5:  # fell far behind (the loop was busy): skip ahead, no burst
                self._count = int((loop.time() - self._start) / self._period)
        return self._count

    def _capture_time(self, count: int) -> float | None:
        """The loop time frame ``count`` of the current timeline stands for."""
        return None if self._start is None else self._start + count * self._period


class VideoTrack(_Paced):
    """Video at ``fps`` from ``produce`` (a new frame, or None to repeat nothing this tick)."""

    kind = "video"

    def __init__(self, produce: Callable[[], av.VideoFrame | None], fps: int = 30) -> None:
        super().__init__(1 / fps)
        self._produce = produce
        self._on = asyncio.Event()
        self._on.set()
        self._origin: float | None = None  # timestamps run on from here whatever the rate
        self.max_height: int | None = None

    def set_limits(self, max_height: int | None, fps: int) -> None:
        """Send at most ``max_height`` lines (scaled, aspect kept) and ``fps`` frames a second:
        when the network or the CPU falls short, smaller and fewer frames beat frozen ones."""
        self.max_height = max_height
        if abs(self._period - 1 / fps) > 1e-9:
            self._period = 1 / fps
            self._start = None  # a fresh pacing timeline at the new rate
            self._count = 0

    @property
    def enabled(self) -> bool:
        return self._on.is_set()

    def set_enabled(self, on: bool) -> None:
        """Camera on or off: off sends no frames at all until it is turned on again."""
        if on:
            self._on.set()
        else:
            self._on.clear()

    async def recv(self) -> av.VideoFrame:
        while True:
            if not self._on.is_set():
                await self._on.wait()
                self._start = None  # a fresh timeline: no burst of catch-up frames
            await self._tick()
            frame = self._produce() if self._on.is_set() else None
            if frame is not None:
                if self.max_height is not None and frame.height > self.max_height:
                    width = int(frame.width * self.max_height / frame.height) // 2 * 2
                    frame = frame.reformat(width=width, height=self.max_height)
                now = asyncio.get_running_loop().time()
                if self._origin is None:
                    self._origin = now
                frame.pts = int((now - self._origin) * VIDEO_CLOCK)
                frame.time_base = VIDEO_TIME_BASE
                self.captured_at = now
                return frame


class LatestFrame:
    """The newest frame a capture thread handed over; older ones are dropped, never queued."""

    def __init__(self) -> None:
        self._frame: av.VideoFrame | None = None

    def offer(self, frame: av.VideoFrame) -> None:
        self._frame = frame

    def take(self) -> av.VideoFrame | None:
        frame, self._frame = self._frame, None
        return frame


class AudioTrack(_Paced):
    """20 ms audio frames from ``produce`` (None: silence this tick), handed to aiortc already
    Opus-encoded; muted sends silence.

    aiortc would encode each frame on its thread pool (a hop to a worker thread and back onto
    the loop every 20 ms, which makes the packets leave less evenly) and upmix it to 96 kb/s
    stereo. A microphone is mono, and encoding 20 ms of it takes a fraction of a millisecond,
    so it is encoded here, on the loop, as each frame is due: aiortc sends the packet as is.
    """

    kind = "audio"

    def __init__(self, produce: Callable[[], av.AudioFrame | None]) -> None:
        super().__init__(AUDIO_SAMPLES / AUDIO_RATE)
        self._produce = produce
        self.muted = False
        self._encoder = _opus_encoder()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]  # no stream: sent, not muxed
        while True:
            count = await self._tick()
            produced = self._produce()
            if produced is not None and produced.samples != AUDIO_SAMPLES:
                produced = None  # the encoder takes 20 ms exactly (PortAudio's fixed block)
            frame = produced if produced is not None and not self.muted else silence_like()
            frame.pts = count * AUDIO_SAMPLES
            frame.time_base = AUDIO_TIME_BASE
            frame.sample_rate = AUDIO_RATE
            packets = self._encoder.encode(frame)
            if not packets:  # not expected (20 ms in, 20 ms out), but never send a gap's pts
                continue
            packet = packets[-1]
            packet.pts = frame.pts  # the frame's own time; libopus shifts it by its look-ahead
            packet.time_base = AUDIO_TIME_BASE
            self.captured_at = self._capture_time(count)
            return packet


OPUS_BIT_RATE = 48_000  # mono speech at full bandwidth with room to spare


def _opus_encoder() -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate = OPUS_BIT_RATE
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = AUDIO_RATE
    codec.time_base = AUDIO_TIME_BASE
    codec.options = {"application": "voip",
                     "frame_duration": str(AUDIO_SAMPLES * 1000 // AUDIO_RATE)}
    return codec
