"""Call figures from aiortc's statistics, taken at intervals (see ``Call.stats``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workstation.core.call_quality import CallFigures

AUDIO_CLOCK = 48_000


def _inbound(stats: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for item in stats.get("inbound-rtp", ()):
        if item.get("kind") == kind:
            return item  # type: ignore[no-any-return]
    return None


def figures(before: Mapping[str, Any], now: Mapping[str, Any], seconds: float,
            frames_received: int) -> CallFigures:
    """The figures over the interval between two statistics snapshots ``seconds`` apart, in
    which ``frames_received`` video frames were decoded."""
    rtts = [item.get("roundTripTime") for item in now.get("remote-inbound-rtp", ())
            if item.get("roundTripTime") is not None]
    rtt_ms = max(rtts) * 1000 if rtts else None
    loss_pct = jitter_ms = bitrate = None
    received = lost = 0
    have_inbound = False
    for kind in ("audio", "video"):
        new, old = _inbound(now, kind), _inbound(before, kind)
        if new is None:
            continue
        have_inbound = True
        received += new.get("packetsReceived", 0) - (old or {}).get("packetsReceived", 0)
        lost += new.get("packetsLost", 0) - (old or {}).get("packetsLost", 0)
        if kind == "audio" and new.get("jitter") is not None:
            # aiortc gives jitter in RTP clock units (Opus: 48 kHz), not in seconds.
            jitter_ms = float(new["jitter"]) / AUDIO_CLOCK * 1000
    if seconds > 0 and now.get("transport"):
        got = sum(t.get("bytesReceived", 0) for t in now["transport"]) - sum(
            t.get("bytesReceived", 0) for t in before.get("transport", ()))
        bitrate = max(0, got) * 8 / 1000 / seconds
    if have_inbound and received + lost > 0:
        loss_pct = max(0.0, lost) / (received + max(0, lost)) * 100
    fps = frames_received / seconds if seconds > 0 and _inbound(now, "video") else None
    return CallFigures(rtt_ms=rtt_ms, loss_pct=loss_pct, jitter_ms=jitter_ms,
                       bitrate_kbps=bitrate, fps=fps)
