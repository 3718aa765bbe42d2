"""How good a call is, from its measured figures: a level and words for the provider.

The level is never shown by colour alone: the label says it, and names what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["good", "fair", "poor", "unknown"]


@dataclass(frozen=True)
class CallFigures:
    """What the peer connection's statistics gave over the last interval (None: not known)."""

    rtt_ms: float | None = None
    loss_pct: float | None = None
    jitter_ms: float | None = None
    bitrate_kbps: float | None = None
    fps: float | None = None


@dataclass(frozen=True)
class CallQuality:
    level: Level
    label: str
    figures: CallFigures


# (fair from, poor from) for each figure that makes a call worse as it grows.
RTT_MS = (200.0, 400.0)
LOSS_PCT = (2.0, 8.0)
JITTER_MS = (30.0, 100.0)
# Frames a second received: below the first is fair, below the second poor.
FPS = (24.0, 10.0)


def assess(figures: CallFigures) -> CallQuality:
    problems_fair: list[str] = []
    problems_poor: list[str] = []

    def grows(value: float | None, limits: tuple[float, float], what: str) -> None:
        if value is None:
            return
        if value >= limits[1]:
            problems_poor.append(what)
        elif value >= limits[0]:
            problems_fair.append(what)

    grows(figures.rtt_ms, RTT_MS, "delay")
    grows(figures.loss_pct, LOSS_PCT, "lost packets")
    grows(figures.jitter_ms, JITTER_MS, "jitter")
    if figures.fps is not None:
        if figures.fps < FPS[1]:
            problems_poor.append("low frame rate")
        elif figures.fps < FPS[0]:
            problems_fair.append("low frame rate")
    known = [v for v in (figures.rtt_ms, figures.loss_pct, figures.jitter_ms, figures.fps)
             if v is not None]
    if not known:
        return CallQuality("unknown", "Call quality: measuring…", figures)
    if problems_poor:
        return CallQuality("poor", "Call quality: poor (" + ", ".join(
            problems_poor + problems_fair) + ")", figures)
    if problems_fair:
        return CallQuality("fair", "Call quality: fair (" + ", ".join(problems_fair) + ")",
                           figures)
    return CallQuality("good", "Call quality: good", figures)
