"""RTCP sender reports dated at capture, so the far side's lip sync adds no needless delay.

A receiver lines up a sender's audio and video through each stream's sender reports: an RTP
timestamp and the wall-clock time that timestamp stands for. WebRTC means the time the media was
*captured* (RFC 3550 §6.4.1, and Chromium's sender does so). aiortc reports the time the last
packet *left*, so video, which spends its encode time between capture and sending, looks that
much younger than its audio, and the patient's browser holds every video frame back by as much to
"sync" it with sound that was in fact already in step.

``date_reports_at_capture`` keeps aiortc's sender and its reports, and takes each report's time
back by the age of the frame being sent: the track's ``captured_at`` (loop clock) for the frame
it handed out last. aiortc's send loop encodes and sends one frame at a time, so the frame going
out is always that one.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCRtpSender

NTP_UNIT = 2**32  # an NTP timestamp's fraction: 32 bits a second
MAX_AGE_S = 1.0  # older than this, the "last frame" is not the one going out: leave the time

# aiortc's private fields (RTCRtpSender.__ntp_timestamp / __rtp_timestamp), as Python names them.
_NTP = "_RTCRtpSender__ntp_timestamp"
_RTP = "_RTCRtpSender__rtp_timestamp"


def _ntp(sender: RTCRtpSender) -> int:
    return int(sender.__dict__.get(_NTP, 0))


def _set_ntp(sender: RTCRtpSender, value: int) -> None:
    sender.__dict__[_NTP] = value


def _rtp(sender: RTCRtpSender) -> int:
    return int(sender.__dict__.get(_RTP, 0))


def _set_rtp(sender: RTCRtpSender, value: int) -> None:
    """aiortc sets the report's NTP time (now) and then this, after each packet it sends."""
    sender.__dict__[_RTP] = value
    captured = getattr(sender.track, "captured_at", None)
    if captured is None:
        return
    age = asyncio.get_running_loop().time() - captured
    if 0 <= age < MAX_AGE_S:
        sender.__dict__[_NTP] = _ntp(sender) - round(age * NTP_UNIT)


class CaptureDatedSender(RTCRtpSender):
    """aiortc's sender whose reports give the capture time of their RTP timestamp."""

    _RTCRtpSender__ntp_timestamp = property(_ntp, _set_ntp)
    _RTCRtpSender__rtp_timestamp = property(_rtp, _set_rtp)


def date_reports_at_capture(sender: RTCRtpSender) -> None:
    """Make ``sender`` (made by aiortc for a transceiver) report capture times from now on."""
    if type(sender) is RTCRtpSender:
        sender.__class__ = CaptureDatedSender
