"""What a simulated patient sends: a drawn figure with their name and a clock, and a voice.

The picture is an animated figure (head, shoulders, a mouth that moves with the voice) on a
coloured backdrop, the patient's name in large letters underneath, "DEMO" top left and the
time of day top right (clear of the provider's own picture, which covers the bottom right), so
a trainer sees at a glance who is on the call and that the video is live. The voice is
speech-like sound (a buzzing vocal pitch through changing vowel resonances, in syllables and
pauses), not words: it shows the audio path and the level meter.
"""

from __future__ import annotations

import math
import time
import unicodedata
import zlib
from collections.abc import Sequence

import av
import cv2
import numpy as np

from workstation.devices.synthetic import AUDIO_RATE, AUDIO_SAMPLES, silence_like

WIDTH, HEIGHT = 640, 480
NAME_BAND = (380, 440)  # rows of the name, read back by :func:`name_on`
FONT = cv2.FONT_HERSHEY_DUPLEX


def _colour(name: str) -> tuple[int, int, int]:
    """A backdrop colour of the patient's own (the same name, the same colour)."""
    hue = zlib.crc32(name.encode("utf-8")) % 180
    hsv = np.array([[[hue, 90, 150]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _name_layer(name: str) -> np.ndarray:
    """The name as drawn on the figure (white on black, the band's size): the painter draws
    it, and :func:`name_on` compares received frames with it."""
    band = np.zeros((NAME_BAND[1] - NAME_BAND[0], WIDTH), dtype=np.uint8)
    # The drawing font has ASCII letters only: "Tomás" is drawn "Tomas".
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = text if len(text) <= 26 else text[:25] + "."
    scale = 1.3
    (width, height), _ = cv2.getTextSize(text, FONT, scale, 2)
    while width > WIDTH - 20 and scale > 0.5:
        scale -= 0.1
        (width, height), _ = cv2.getTextSize(text, FONT, scale, 2)
    origin = ((WIDTH - width) // 2, (band.shape[0] + height) // 2)
    cv2.putText(band, text, origin, FONT, scale, 255, 2, cv2.LINE_AA)
    return band


class Likeness:
    """Frames of a simulated patient, ``WIDTH``×``HEIGHT``; ``mouth`` (0–1) opens the mouth
    (the voice sets it as it speaks)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mouth = 0.0
        self._started = time.monotonic()
        backdrop = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
        backdrop[:] = _colour(name)
        cv2.putText(backdrop, "DEMO - simulated patient", (14, 30), FONT, 0.7, (255, 255, 255),
                    1, cv2.LINE_AA)
        band = _name_layer(name)[..., None]
        backdrop[NAME_BAND[0]:NAME_BAND[1]] = np.where(band > 0, band, 30)
        self._backdrop = backdrop

    def frame(self) -> av.VideoFrame:
        t = time.monotonic() - self._started
        image = self._backdrop.copy()
        sway = int(12 * math.sin(t * 1.3))
        cx, cy = WIDTH // 2 + sway, 190 + int(4 * math.sin(t * 2.1))
        cv2.ellipse(image, (cx, 360), (150, 70), 0, 180, 360, (70, 70, 110), -1)  # shoulders
        cv2.circle(image, (cx, cy), 78, (150, 185, 225), -1, cv2.LINE_AA)  # face
        blink = (t % 4.0) < 0.15
        for dx in (-28, 28):
            if blink:
                cv2.line(image, (cx + dx - 9, cy - 15), (cx + dx + 9, cy - 15), (40, 40, 40), 3)
            else:
                cv2.circle(image, (cx + dx, cy - 15), 9, (40, 40, 40), -1, cv2.LINE_AA)
        opening = max(2, int(22 * self.mouth))
        cv2.ellipse(image, (cx, cy + 32), (26, opening // 2 + 2), 0, 0, 360, (60, 50, 140), -1,
                    cv2.LINE_AA)
        clock = time.strftime("%H:%M:%S")
        cv2.putText(image, clock, (WIDTH - 150, 32), FONT, 0.8, (255, 255, 255), 1,
                    cv2.LINE_AA)  # top right: the provider's self-view covers the bottom
        return av.VideoFrame.from_ndarray(image, format="bgr24")


def name_on(frame: av.VideoFrame, candidates: Sequence[str]) -> str | None:
    """Which of ``candidates`` is the name painted on this figure, or None when none fits
    (another picture, or too damaged to tell): the received band is compared with each name
    drawn afresh, and the closest one wins if it is clearly closest."""
    if not candidates:
        return None
    image = np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
    if image.shape != (HEIGHT, WIDTH):  # scaled down on the way: back to the drawn size
        image = np.asarray(cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA),
                           dtype=np.uint8)
    band = image[NAME_BAND[0]:NAME_BAND[1]].astype(np.float32)
    scores = []
    for name in candidates:
        drawn = _name_layer(name).astype(np.float32)
        drawn = np.where(drawn > 0, drawn, 30.0)
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
