"""Two calls (the provider's offerer and an aiortc answerer) on loopback with synthetic camera
and microphone: media both ways, mute, camera off, a camera switch, chat, and reconnecting after
the network path dies."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket

from workstation.devices.synthetic import TestPattern, Tone, age_ms, read_time_code, rms
from workstation.rtc.call import Call, ChatMessage
from workstation.settings import user_data_dir

NTP_UNIX_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01


@dataclass
class Received:
    video: list[tuple[float, av.VideoFrame]] = field(default_factory=list)
    loudness: list[tuple[float, float]] = field(default_factory=list)
    chat: list[ChatMessage] = field(default_factory=list)
    states: list[str] = field(default_factory=list)

    def frames_since(self, t: float) -> list[av.VideoFrame]:
        return [f for at, f in self.video if at >= t]

    def loudness_since(self, t: float) -> list[float]:
        return [v for at, v in self.loudness if at >= t]


class Relay:
    """The hub's signaling relay between the two sides, which a test can cut and restore."""

    def __init__(self) -> None:
        self.up = True
        self.targets: dict[str, Call] = {}

    def sender(self, to: str) -> Callable[[Mapping[str, Any]], Any]:
        async def send(data: Mapping[str, Any]) -> None:
            if not self.up:
                raise ConnectionError("signaling is down")
            # Delivered as the hub would: later, on the loop, never inside the sender's call.
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.targets[to].handle(dict(data))))
        return send


def _side(role: str, relay: Relay, to: str, size: tuple[int, int], tone: float,
          ) -> tuple[Call, Received]:
    got = Received()
    pattern = TestPattern(*size)
    call = Call(role, relay.sender(to),  # type: ignore[arg-type]
                video=pattern.frame, audio=Tone(tone).frame,
                on_video=lambda f: got.video.append((time.monotonic(), f)),
                on_audio=lambda f: got.loudness.append((time.monotonic(), rms(f))),
                on_chat=got.chat.append, on_state=got.states.append)
    return call, got


async def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        await asyncio.sleep(0.05)


Pair = tuple[Call, Received, Call, Received, Relay]


@contextlib.asynccontextmanager
async def _connected(size: tuple[int, int]) -> AsyncIterator[Pair]:
    relay = Relay()
    provider, at_provider = _side("offerer", relay, "patient", size, 440.0)
    patient, at_patient = _side("answerer", relay, "provider", size, 660.0)
    relay.targets = {"provider": provider, "patient": patient}
    await patient.start()
    await provider.start()
    await _until(lambda: provider.state == "connected" and patient.state == "connected",
                 15, "both sides connected")
    try:
        yield provider, at_provider, patient, at_patient, relay
    finally:
        await provider.close()
        await patient.close()


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    async with _connected((640, 480)) as connected:
        yield connected


async def test_media_flows_both_ways_with_readable_time_codes(pair) -> None:  # type: ignore[no-untyped-def]
    provider, at_provider, patient, at_patient, _relay = pair
    await _until(lambda: len(at_provider.video) > 30 and len(at_patient.video) > 30, 10,
                 "a second of video each way")
    for got in (at_provider, at_patient):
        frame = got.video[-1][1]
        assert (frame.width, frame.height) == (640, 480)
        codes = [read_time_code(f) for _t, f in got.video[-10:]]
        assert all(c is not None for c in codes)
        assert max(age_ms(c) for c in codes if c is not None) < 2000
        assert max(got.loudness_since(0)[-20:]) > 0.02  # the tone is heard
    assert provider.interruptions == patient.interruptions == 0


async def test_mute_silences_the_audio_and_camera_off_stops_the_video(pair) -> None:  # type: ignore[no-untyped-def]
    provider, _at_provider, _patient, at_patient, _relay = pair
    await _until(lambda: len(at_patient.loudness) > 50, 10, "audio at the patient")

    provider.set_muted(True)
    await asyncio.sleep(0.5)  # what was in flight drains
    muted_at = time.monotonic()
    await asyncio.sleep(1.0)
    quiet = at_patient.loudness_since(muted_at)
    assert len(quiet) > 20 and max(quiet) < 0.002  # frames still come: silence, not a gap

    provider.set_camera(False)
    await asyncio.sleep(0.5)
    off_at = time.monotonic()
    await asyncio.sleep(1.0)
    assert at_patient.frames_since(off_at) == []

    provider.set_muted(False)
    provider.set_camera(True)
    back = time.monotonic()
    await _until(lambda: len(at_patient.frames_since(back)) > 10, 10, "video after camera on")
    await _until(lambda: max(at_patient.loudness_since(back), default=0) > 0.02, 10,
                 "sound after unmute")
    assert provider.state == "connected"  # none of this dropped the call


async def test_switching_cameras_mid_call_keeps_the_call(pair) -> None:  # type: ignore[no-untyped-def]
    provider, _at_provider, _patient, at_patient, _relay = pair
    await _until(lambda: len(at_patient.video) > 10, 10, "video at the patient")
    session = provider._session

    await provider.replace_video(TestPattern(960, 540).frame)
    switched = time.monotonic()
    await _until(lambda: any(f.width == 960 for f in at_patient.frames_since(switched)), 10,
                 "frames from the second camera")
    assert provider._session == session  # no new offer: the sender's track was replaced
    assert provider.state == "connected" and provider.interruptions == 0


async def test_chat_both_ways(pair) -> None:  # type: ignore[no-untyped-def]
    provider, at_provider, patient, at_patient, _relay = pair
    await _until(lambda: provider._channel is not None
                 and provider._channel.readyState == "open", 10, "the chat channel")
    sent = provider.send_chat("Amoxicillin: A-M-O-X-I-C-I-L-L-I-N")
    await _until(lambda: len(at_patient.chat) == 1, 5, "the chat line at the patient")
    assert at_patient.chat[0].text == sent.text and at_patient.chat[0].sender == "provider"
    patient.send_chat("Thank you <b>doctor</b>")
    await _until(lambda: len(at_provider.chat) == 1, 5, "the reply at the provider")
    assert at_provider.chat[0].text == "Thank you <b>doctor</b>"  # text as typed
    assert [m.sender for m in provider.chat] == ["provider", "patient"]
    with pytest.raises(ValueError):
        provider.send_chat("   ")


def kill_media_path(call: Call) -> None:
    """The network path dies: every UDP socket of the call's ICE connection is closed."""
    pc = call._pc
    assert pc is not None
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        for protocol in connection._protocols:
            with contextlib.suppress(Exception):
                protocol.transport.close()


async def test_the_call_comes_back_after_the_network_returns(pair) -> None:  # type: ignore[no-untyped-def]
    provider, at_provider, patient, at_patient, relay = pair
    await _until(lambda: len(at_patient.video) > 10, 10, "video at the patient")

    relay.up = False  # the patient's network goes away: signaling and media
    kill_media_path(patient)
    await _until(lambda: provider.state == "reconnecting", 10, "the provider to notice")
    await asyncio.sleep(2.0)
    relay.up = True
    back = time.monotonic()
    await _until(lambda: provider.state == "connected" and patient.state == "connected", 10,
                 "both sides connected again")
    await _until(lambda: len(at_patient.frames_since(back)) > 10
                 and len(at_provider.frames_since(back)) > 10, 10, "frames both ways again")
    first = min(t for t, _f in at_patient.video if t >= back)
    assert first - back < 5.0, "frames must flow within 5 s of the network coming back"
    assert provider.interruptions >= 1


MEDIA_SIGNATURES = (b"RIFF", b"OggS", b"\x1aE\xdf\xa3", b"fLaC", b"ID3", b"DKIF")  # wav/ogg/webm/…


def _files(*roots: Path) -> dict[Path, tuple[int, int]]:
    found: dict[Path, tuple[int, int]] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and "pytest-of-" not in str(path):
                    stat = path.stat()
                    found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


async def test_a_call_writes_no_audio_or_video_anywhere(pair) -> None:  # type: ignore[no-untyped-def]
    provider, at_provider, _patient, at_patient, _relay = pair
    roots = (Path(tempfile.gettempdir()), user_data_dir(), Path.cwd())
    before = _files(*roots)
    await _until(lambda: len(at_patient.video) > 60 and len(at_provider.video) > 60, 15,
                 "two seconds of video each way")
    await provider.close()
    after = _files(*roots)
    changed = [p for p, sig in after.items() if before.get(p) != sig]
    for path in changed:
        with contextlib.suppress(OSError), path.open("rb") as f:
            head = f.read(64)
        assert not any(sig in head for sig in MEDIA_SIGNATURES), f"media in {path}"
    # Two seconds of 640x480 video and 48 kHz audio would be megabytes: nothing of the kind.
    assert sum(after[p][0] for p in changed) < 256 * 1024, changed


async def test_lower_limits_send_smaller_and_fewer_frames_without_dropping_the_call(pair) -> None:  # type: ignore[no-untyped-def]
    provider, _at_provider, _patient, at_patient, _relay = pair
    await _until(lambda: len(at_patient.video) > 30, 10, "video at the patient")

    provider.set_video_limits(240, 15)
    lowered = time.monotonic()
    await _until(lambda: any(f.height == 240 for f in at_patient.frames_since(lowered)), 10,
                 "smaller frames")
    small_from = min(t for t, f in at_patient.video if t >= lowered and f.height == 240)
    await asyncio.sleep(2.0)
    small = [t for t, f in at_patient.video if t >= small_from and f.height == 240]
    rate = (len(small) - 1) / (small[-1] - small[0])
    assert 10 <= rate <= 20, rate  # about 15 a second, no longer 30
    assert at_patient.video[-1][1].width == 320  # aspect kept

    provider.set_video_limits(None, 30)
    restored = time.monotonic()
    await _until(lambda: any(f.height == 480 for f in at_patient.frames_since(restored)), 10,
                 "full-size frames again")
    assert provider.state == "connected" and provider.interruptions == 0


def _ntp_ms(ntp: int) -> int:
    """An NTP timestamp as the time code's clock (Unix milliseconds mod 2**32)."""
    unix_s = (ntp >> 32) - NTP_UNIX_OFFSET_S + (ntp & 0xFFFFFFFF) / 2**32
    return int(unix_s * 1000) % 2**32


async def test_sender_reports_give_the_time_each_frame_was_captured() -> None:
    """The patient's browser lines up our audio and video by the reports' times: a video
    frame reported as captured when it left (after encoding) is held back by as much."""
    async with _connected((1280, 720)) as (_provider, _at_provider, patient, at_patient, _):
        await _check_reports_against_time_codes(patient, at_patient)


async def _check_reports_against_time_codes(patient: Call, at_patient: Received) -> None:
    receiver = next(r for r in patient._pc.getReceivers() if r.track.kind == "video")
    reports: list[RtcpSenderInfo] = []
    handle = receiver._handle_rtcp_packet

    async def spy(packet: object) -> None:
        if isinstance(packet, RtcpSrPacket):
            reports.append(packet.sender_info)
        await handle(packet)

    receiver._handle_rtcp_packet = spy
    await _until(lambda: len(reports) >= 4, 15, "four sender reports for the video")
    # Frames come out of aiortc's receiver with pts counted from its first RTP timestamp.
    origin = receiver._RTCRtpReceiver__timestamp_mapper._origin
    codes = {f.pts: read_time_code(f) for _at, f in at_patient.video}
    errors = []
    for info in reports:
        code = codes.get((info.rtp_timestamp - origin) % 2**32)
        if code is not None:
            errors.append((_ntp_ms(info.ntp_timestamp) - code + 2**31) % 2**32 - 2**31)
    assert len(errors) >= 3, f"reports matched to frames: {len(errors)} of {len(reports)}"
    # The time code is stamped as the frame is drawn, a few milliseconds before the track
    # hands it out; encoding and sending a 720p frame (about 10 ms or more) must not show.
    assert all(0 <= e <= 5 for e in errors), errors
