"""Synthetic camera and microphone: a moving test pattern carrying a time code, and a tone.

Tests, benchmarks and the demo use these where a clinic PC has a camera and a headset (these
machines have neither). The time code is a row of black and white blocks in the top-left corner:
32 bits of the sender's wall clock in milliseconds (mod 2**32) and an 8-bit check, big enough
(16×16 pixels a bit) to survive VP8 compression, so the receiver can read how old a frame is.
"""

from __future__ import annotations

import math
import time

import av
import numpy as np

AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms a frame, as WebRTC sends it
BLOCK = 16
DATA_BITS = 32
CHECK_BITS = 8
CODE_BITS = DATA_BITS + CHECK_BITS
WHITE, BLACK = 235, 16  # studio-range luma


def wall_ms() -> int:
    """The clock the time code carries (sender and receiver on one machine share it)."""
    return int(time.time_ns() // 1_000_000 % 2**DATA_BITS)


def _check(value: int) -> int:
    return sum(value.to_bytes(4, "big")) % 256 ^ 0xA5


def _bits(value: int) -> list[int]:
    word = (value << CHECK_BITS) | _check(value)
    return [(word >> (CODE_BITS - 1 - i)) & 1 for i in range(CODE_BITS)]


class TestPattern:
    """Frames of ``width``×``height`` (yuv420p): grey ramps, a bar sweeping across once every
    two seconds, and the time code. Built straight in YUV so no colour conversion is paid."""

    __test__ = False  # not a pytest class

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        if width < CODE_BITS * BLOCK or height < 4 * BLOCK or width % 2 or height % 2:
            raise ValueError(f"A test pattern needs an even size of at least "
                             f"{CODE_BITS * BLOCK}×{4 * BLOCK}")
        self.width = width
        self.height = height
        ramp = np.linspace(40, 200, width, dtype=np.uint8)
        self._luma = np.tile(ramp, (height, 1))
        self._chroma = np.full((height // 2, width), 128, dtype=np.uint8)
        self._chroma[: height // 4, : width // 2] = 90  # a tinted quarter, so colour shows

    def frame(self, at_ms: int | None = None) -> av.VideoFrame:
        stamp = wall_ms() if at_ms is None else at_ms % 2**DATA_BITS
        luma = self._luma.copy()
        bar = int((stamp % 2000) / 2000 * (self.width - 40))
        luma[4 * BLOCK:, bar:bar + 40] = WHITE
        for i, bit in enumerate(_bits(stamp)):
            luma[BLOCK:2 * BLOCK, i * BLOCK:(i + 1) * BLOCK] = WHITE if bit else BLACK
        return av.VideoFrame.from_ndarray(np.concatenate((luma, self._chroma)),
                                          format="yuv420p")


def read_time_code(frame: av.VideoFrame, sent_width: int | None = None) -> int | None:
    """The sender's clock (ms mod 2**32) drawn by TestPattern, or None if it cannot be read
    (another source, or a check that fails). ``sent_width``: the width the pattern was drawn
    at, for a frame the sender's encoder scaled down (the blocks scale with it)."""
    scale = frame.width / sent_width if sent_width else 1.0
    block = BLOCK * scale
    if frame.width < CODE_BITS * block - 1 or frame.height < 2 * block:
        return None
    luma = frame.to_ndarray(format="gray") if frame.format.name != "yuv420p" else \
        frame.to_ndarray()[: frame.height]
    row = luma[int(block * 1.25): max(int(block * 1.75), int(block * 1.25) + 1)]
    return code_from_levels([
        float(row[:, int((i + 0.25) * block): max(int((i + 0.75) * block),
                                                   int((i + 0.25) * block) + 1)].mean())
        for i in range(CODE_BITS)], (WHITE + BLACK) / 2)


def code_from_levels(levels: list[float], threshold: float) -> int | None:
    """The time code from the brightness of its CODE_BITS blocks, left to right; None when
    the check fails (the same layout is read in the browser by the benchmark)."""
    word = 0
    for level in levels:
        word = (word << 1) | int(level > threshold)
    value, check = word >> CHECK_BITS, word & 0xFF
    return value if _check(value) == check else None


def age_ms(code: int, now_ms: int | None = None) -> int:
    """How old a frame stamped ``code`` is, on the same machine's clock."""
    now = wall_ms() if now_ms is None else now_ms
    return int((now - code) % 2**DATA_BITS)


class Tone:
    """A sine tone in 20 ms mono frames at 48 kHz (s16), at ``level`` of full scale."""

    def __init__(self, frequency: float = 440.0, level: float = 0.1) -> None:
        self.frequency = frequency
        self.level = level
        self._phase = 0

    def frame(self) -> av.AudioFrame:
        n = np.arange(self._phase, self._phase + AUDIO_SAMPLES)
        self._phase += AUDIO_SAMPLES
        wave = np.sin(2 * math.pi * self.frequency * n / AUDIO_RATE) * self.level * 32767
        return silence_like(wave.astype(np.int16))


def silence_like(samples: np.ndarray | None = None) -> av.AudioFrame:
    """A mono s16 48 kHz frame of ``samples`` (silence when None)."""
    data = np.zeros(AUDIO_SAMPLES, dtype=np.int16) if samples is None else samples
    frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = AUDIO_RATE
    return frame


def rms(frame: av.AudioFrame) -> float:
    """Loudness of a frame, 0 (silence) to 1 (full scale), whatever its sample format."""
    data = frame.to_ndarray().astype(np.float64)
    if frame.format.name.startswith("s16"):
        data /= 32768
    return float(np.sqrt(np.mean(data * data))) if data.size else 0.0
