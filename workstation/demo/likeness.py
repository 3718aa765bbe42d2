"""What a simulated patient sends: a drawn figure with their name and a clock, and a voice.

The picture is an animated figure (head, shoulders, a mouth that moves with the voice) on a
coloured backdrop, the patient's name in large letters underneath, "DEMO" top left and the
time of day top right (clear of the provider's own picture, which covers the bottom right), so
a trainer sees at a glance who is on the call and that the video is live. The voice is
speech-like sound (a buzzing vocal pitch through changing vowel resonances, in syllables and
pauses), not words: it shows the audio path and the level meter.
"""

from __future__ import annotations

import colorsys
import functools
import math
import time
import unicodedata
import zlib
from collections.abc import Sequence

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from workstation.devices.synthetic import AUDIO_RATE, AUDIO_SAMPLES, silence_like

WIDTH, HEIGHT = 640, 480
NAME_BAND = (380, 440)  # rows of the name, read back by :func:`name_on`
BAND_BACKGROUND = 30  # the band's grey behind the letters


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own scalable font (in the library, the same on every computer)."""
    return ImageFont.load_default(size=size)


def _colour(name: str) -> tuple[int, int, int]:
    """A backdrop colour of the patient's own (the same name, the same colour), RGB."""
    hue = zlib.crc32(name.encode("utf-8")) % 180 / 180
    r, g, b = colorsys.hsv_to_rgb(hue, 90 / 255, 150 / 255)
    return round(r * 255), round(g * 255), round(b * 255)


@functools.cache
def _name_layer(name: str) -> np.ndarray:
    """The name as drawn on the figure (white on black, the band's size): the painter draws
    it, and :func:`name_on` compares received frames with it."""
    band = Image.new("L", (WIDTH, NAME_BAND[1] - NAME_BAND[0]), 0)
    # The font has the ASCII letters only: "Tomás" is drawn "Tomas".
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = text if len(text) <= 26 else text[:25] + "."
    size = 40
    while size > 16 and _font(size).getlength(text) > WIDTH - 20:
        size -= 2
    ImageDraw.Draw(band).text((WIDTH // 2, band.height // 2), text, fill=255, font=_font(size),
                              anchor="mm")
    layer = np.asarray(band, dtype=np.uint8)
    layer.setflags(write=False)
    return layer


class Likeness:
    """Frames of a simulated patient, ``WIDTH``×``HEIGHT``; ``mouth`` (0–1) opens the mouth
    (the voice sets it as it speaks)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mouth = 0.0
        self._started = time.monotonic()
        backdrop = Image.new("RGB", (WIDTH, HEIGHT), _colour(name))
        ImageDraw.Draw(backdrop).text((14, 14), "DEMO - simulated patient", fill="white",
                                      font=_font(20))
        pixels = np.array(backdrop, dtype=np.uint8)
        band = _name_layer(name)[..., None]
        pixels[NAME_BAND[0]:NAME_BAND[1]] = np.where(band > 0, band, BAND_BACKGROUND)
        self._backdrop = Image.fromarray(pixels)

    def frame(self) -> av.VideoFrame:
        t = time.monotonic() - self._started
        image = self._backdrop.copy()
        draw = ImageDraw.Draw(image)
        sway = int(12 * math.sin(t * 1.3))
        cx, cy = WIDTH // 2 + sway, 190 + int(4 * math.sin(t * 2.1))
        draw.pieslice((cx - 150, 290, cx + 150, 430), 180, 360, fill=(110, 70, 70))  # shoulders
        draw.ellipse((cx - 78, cy - 78, cx + 78, cy + 78), fill=(225, 185, 150))  # face
        blink = (t % 4.0) < 0.15
        for dx in (-28, 28):
            if blink:
                draw.line((cx + dx - 9, cy - 15, cx + dx + 9, cy - 15), fill=(40, 40, 40), width=3)
            else:
                draw.ellipse((cx + dx - 9, cy - 24, cx + dx + 9, cy - 6), fill=(40, 40, 40))
        half = max(2, int(22 * self.mouth)) // 2 + 2
        draw.ellipse((cx - 26, cy + 32 - half, cx + 26, cy + 32 + half), fill=(140, 50, 60))
        # Top right: the provider's self-view covers the bottom right.
        draw.text((WIDTH - 150, 14), time.strftime("%H:%M:%S"), fill="white", font=_font(24))
        return av.VideoFrame.from_ndarray(np.asarray(image, dtype=np.uint8), format="rgb24")


def name_on(frame: av.VideoFrame, candidates: Sequence[str]) -> str | None:
    """Which of ``candidates`` is the name painted on this figure, or None when none fits
    (another picture, or too damaged to tell): the received band is compared with each name
    drawn afresh, and the closest one wins if it is clearly closest."""
    if not candidates:
        return None
    if (frame.width, frame.height) != (WIDTH, HEIGHT):  # scaled on the way: back to size
        frame = frame.reformat(width=WIDTH, height=HEIGHT, interpolation="AREA")
    image = np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
    band = image[NAME_BAND[0]:NAME_BAND[1]].astype(np.float32)
    scores = []
    for name in candidates:
        drawn = _name_layer(name).astype(np.float32)
        drawn = np.where(drawn > 0, drawn, float(BAND_BACKGROUND))
        scores.append(float(np.mean(np.abs(band - drawn))))
    best = min(range(len(candidates)), key=scores.__getitem__)
    ordered = sorted(scores)
    clear = len(ordered) == 1 or ordered[1] - ordered[0] > 3.0
    return candidates[best] if scores[best] < 25.0 and clear else None


class Voice:
    """Speech-like sound in 20 ms mono frames at 48 kHz (s16): a pitch around ``pitch`` Hz
    with three vowel resonances that change each syllable, syllables of 120–260 ms, and a
    pause every few words. ``level`` is the loudest it gets, of full scale."""

    FORMANTS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
                (570, 840, 2410))

    def __init__(self, pitch: float = 180.0, level: float = 0.25, seed: int = 0,
                 likeness: Likeness | None = None) -> None:
        self.pitch = pitch
        self.level = level
        self.likeness = likeness
        self._rng = np.random.default_rng(seed)
        self._phase = 0.0
        self._syllable_left = 0
        self._syllable_length = 1
        self._vowel = self.FORMANTS[0]
        self._silent = False

    def _next_syllable(self) -> None:
        self._silent = self._rng.random() < 0.18
        self._syllable_length = int(self._rng.integers(6, 14))  # frames of 20 ms
        self._syllable_left = self._syllable_length
        self._vowel = self.FORMANTS[int(self._rng.integers(0, len(self.FORMANTS)))]

    def frame(self) -> av.AudioFrame:
        if self._syllable_left <= 0:
            self._next_syllable()
        self._syllable_left -= 1
        if self._silent:
            if self.likeness is not None:
                self.likeness.mouth = 0.0
            return silence_like()
        done = 1 - self._syllable_left / self._syllable_length
        envelope = math.sin(math.pi * min(max(done, 0.0), 1.0)) ** 0.7
        n = np.arange(AUDIO_SAMPLES)
        pitch = self.pitch * (1 + 0.06 * math.sin(self._phase / AUDIO_RATE * 3))
        t = (self._phase + n) / AUDIO_RATE
        wave = np.zeros(AUDIO_SAMPLES)
        for harmonic in range(1, 18):  # a buzzing source, shaped by the vowel's resonances
            frequency = pitch * harmonic
            gain = sum(1 / (1 + ((frequency - f) / 90) ** 2) for f in self._vowel) / harmonic
            wave += gain * np.sin(2 * math.pi * frequency * t)
        self._phase += AUDIO_SAMPLES
        peak = float(np.max(np.abs(wave))) or 1.0
        samples = wave / peak * envelope * self.level * 32767
        if self.likeness is not None:
            self.likeness.mouth = envelope
        return silence_like(samples.astype(np.int16))
