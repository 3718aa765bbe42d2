"""Call quality: figures from aiortc's statistics, and the level and words shown."""

from __future__ import annotations

from workstation.core.call_quality import CallFigures, assess
from workstation.rtc.quality import figures


def test_a_clean_call_is_good_and_says_so() -> None:
    quality = assess(CallFigures(rtt_ms=20, loss_pct=0, jitter_ms=3, fps=30))
    assert (quality.level, quality.label) == ("good", "Call quality: good")


def test_each_problem_is_named_in_words() -> None:
    fair = assess(CallFigures(rtt_ms=250, loss_pct=0.5, jitter_ms=5, fps=30))
    assert fair.level == "fair" and "delay" in fair.label
    poor = assess(CallFigures(rtt_ms=50, loss_pct=12, jitter_ms=40, fps=8))
    assert poor.level == "poor"
    assert all(w in poor.label for w in ("lost packets", "low frame rate", "jitter"))


def test_nothing_measured_yet_is_not_called_good() -> None:
    assert assess(CallFigures()).level == "unknown"


def test_figures_over_an_interval_from_aiortc_statistics() -> None:
    before = {"inbound-rtp": [{"kind": "audio", "packetsReceived": 100, "packetsLost": 0,
                               "jitter": 96}, {"kind": "video", "packetsReceived": 300,
                                               "packetsLost": 0, "jitter": 900}],
              "transport": [{"bytesReceived": 1_000_000}]}
    now = {"inbound-rtp": [{"kind": "audio", "packetsReceived": 200, "packetsLost": 5,
                            "jitter": 480}, {"kind": "video", "packetsReceived": 590,
                                             "packetsLost": 5, "jitter": 900}],
           "remote-inbound-rtp": [{"kind": "video", "roundTripTime": 0.120},
                                  {"kind": "audio", "roundTripTime": 0.080}],
           "transport": [{"bytesReceived": 1_250_000}]}
    got = figures(before, now, 2.0, frames_received=58)
    assert got.rtt_ms == 120.0  # the worse of the two
    assert got.jitter_ms == 10.0  # 480 units of a 48 kHz clock
    assert got.loss_pct is not None and abs(got.loss_pct - 10 / 400 * 100) < 1e-9
    assert got.bitrate_kbps == 1000.0  # 250 kB in 2 s
    assert got.fps == 29.0
