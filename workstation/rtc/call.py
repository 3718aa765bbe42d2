"""One side of a visit's video call: an aiortc peer connection, signaled through the hub.

The provider's workstation is the offerer, the patient's browser the answerer (``Call`` can play
either, so two workstations' worth of code can talk on loopback in tests). Signaling messages
are plain dicts relayed by the hub for that visit only:

- ``{"kind": "hello"}``: the answerer is on the video page with no working connection; the
  offerer answers with a fresh offer. Sent on arrival and every ``RETRY_S`` until an offer
  comes, and again while interrupted.
- ``{"kind": "offer" | "answer", "sdp": ..., "session": n}``: a new peer connection. aiortc
  has no ICE restart, so every (re)connection is a new session; an answer for an older session
  is ignored.
- ``{"kind": "bye"}``: the other side hung up. The provider ending it ends the call; the
  patient leaving (or reloading the page) leaves the offerer ``away``, ready to offer again
  when the patient says hello.

Nothing is recorded: remote frames go to the callbacks and nowhere else. DTLS-SRTP is always on
(aiortc cannot turn it off); the DTLS fingerprint travels inside the SDP, which only ever goes
over the authenticated hub sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import av
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from workstation.rtc.capture_clock import date_reports_at_capture
from workstation.rtc.tracks import AudioTrack, VideoTrack

FrameSource = Callable[[], av.VideoFrame | None]
AudioSource = Callable[[], av.AudioFrame | None]

log = logging.getLogger(__name__)

RETRY_S = 2.0  # between hellos, and between checks of an attempt, while interrupted
ATTEMPT_S = 4.0  # an offer still connecting is given this long before a new one replaces it
STALL_S = 3.0  # no media for this long on a "connected" call: treat it as dropped
WATCH_S = 0.5

Role = Literal["offerer", "answerer"]
CallState = Literal["idle", "connecting", "connected", "reconnecting", "away", "ended"]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class ChatMessage:
    id: str
    sender: str  # "provider" or "patient"
    text: str
    at: float  # seconds since the epoch

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "from": self.sender, "text": self.text,
                           "at": self.at})


MAX_CHAT = 2000


def parse_chat(raw: object) -> ChatMessage | None:
    """A chat message from the data channel, or None for anything malformed."""
    if not isinstance(raw, str) or len(raw) > 4 * MAX_CHAT:
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    text, sender = data.get("text"), data.get("from")
    if not isinstance(text, str) or not text.strip() or sender not in ("provider", "patient"):
        return None
    at = data.get("at")
    return ChatMessage(str(data.get("id") or uuid.uuid4()), sender, text[:MAX_CHAT],
                       float(at) if isinstance(at, int | float) else time.time())


def ice_configuration(servers: Sequence[Mapping[str, Any]]) -> RTCConfiguration:
    """The site's STUN/TURN servers, passed even when empty: given no list, aiortc would
    reach for a public STUN server by itself."""
    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=s["urls"], username=s.get("username"),
                     credential=s.get("credential")) for s in servers])


class Call:
    """A call, across as many peer connections as reconnecting takes.

    Callbacks run on the asyncio thread: ``on_video(frame)``, ``on_audio(frame)``,
    ``on_chat(message)``, ``on_state(state)``. Keep them short (hand the newest frame over).
    """

    def __init__(
        self, role: Role, send: Send, *, ice_servers: Sequence[Mapping[str, Any]] = (),
        video: FrameSource | None = None, audio: AudioSource | None = None, fps: int = 30,
        on_video: Callable[[av.VideoFrame], None] = lambda _f: None,
        on_audio: Callable[[av.AudioFrame], None] = lambda _f: None,
        on_chat: Callable[[ChatMessage], None] = lambda _m: None,
        on_state: Callable[[CallState], None] = lambda _s: None,
    ) -> None:
        self.role = role
        self._send = send
        self._ice = list(ice_servers)
        # Sources outlive peer connections; each connection gets tracks of its own (aiortc
        # stops a sender's track with its connection).
        self._video_source = video
        self._audio_source = audio
        self._fps = fps
        self._tracks: dict[str, VideoTrack | AudioTrack] = {}
        self.muted = False
        self.camera_on = True
        self._limits: tuple[int | None, int] = (None, fps)
        self._on_video = on_video
        self._on_audio = on_audio
        self._on_chat = on_chat
        self._on_state = on_state
        self.state: CallState = "idle"
        self._pc: RTCPeerConnection | None = None
        self._channel: RTCDataChannel | None = None
        self._session = 0
        self._readers: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._last_media = 0.0
        self._offered_at = 0.0
        self._lock = asyncio.Lock()
        self.interruptions = 0
        self.chat: list[ChatMessage] = []

    # -- the caller's side ----------------------------------------------------------------

    async def start(self) -> None:
        """Offerer: make the first offer. Answerer: say hello and wait for one. A call ended
        before it got to start stays ended."""
        if self.state != "idle":
            return
        self._set_state("connecting")
        self._watch = asyncio.create_task(self._watchdog())
        if self.role == "offerer":
            await self._offer()
        else:  # hello now, and again until an offer comes (one sent before we were here
            # is lost; the offerer answers a later hello once its unanswered offer is stale)
            self._retry = asyncio.create_task(self._keep_trying())

    async def handle(self, data: Mapping[str, Any]) -> None:
        """A signaling message from the other side, as relayed by the hub."""
        if self.state == "ended":
            return
        kind = data.get("kind")
        if kind == "bye" and self.role == "offerer":
            async with self._lock:
                await self._drop_pc()
            self._cancel_retry()
            self._set_state("away")
        elif kind == "bye":
            await self.close(notify=False)
        elif kind == "hello" and self.role == "offerer":
            if not self._attempt_pending():
                await self._offer()
        elif kind == "offer" and self.role == "answerer":
            await self._answer(data)
        elif kind == "answer" and self.role == "offerer":
            await self._accept(data)
        else:
            log.info("Ignored a %r signal in the %s role", str(kind)[:20], self.role)

    def send_chat(self, text: str) -> ChatMessage:
        """Send a chat line over the data channel; raises RuntimeError when not connected."""
        text = text.strip()[:MAX_CHAT]
        if not text:
            raise ValueError("An empty message is not sent.")
        channel = self._channel
        if channel is None or channel.readyState != "open":
            raise RuntimeError("Chat is not connected yet.")
        message = ChatMessage(str(uuid.uuid4()),
                              "provider" if self.role == "offerer" else "patient",
                              text, time.time())
        channel.send(message.to_json())
        self.chat.append(message)
        return message

    def set_muted(self, muted: bool) -> None:
        """Muted: the other side gets silence (the call and its audio stream stay up)."""
        self.muted = muted
        track = self._tracks.get("audio")
        if isinstance(track, AudioTrack):
            track.muted = muted

    def set_video_limits(self, max_height: int | None, fps: int) -> None:
        """Lower (or restore) what is sent: resolution and frame rate, not a frozen picture."""
        self._limits = (max_height, fps)
        track = self._tracks.get("video")
        if isinstance(track, VideoTrack):
            track.set_limits(max_height, fps)

    def set_camera(self, on: bool) -> None:
        """Camera off: no video frames at all until it is back on."""
        self.camera_on = on
        track = self._tracks.get("video")
        if isinstance(track, VideoTrack):
            track.set_enabled(on)

    async def replace_video(self, source: FrameSource | None) -> None:
        """Switch cameras mid-call: the sender's track is replaced, no renegotiation, where
        the connection already sends video; otherwise (no camera before) a new offer."""
        self._video_source = source
        await self._replace("video")

    async def replace_audio(self, source: AudioSource | None) -> None:
        self._audio_source = source
        await self._replace("audio")

    async def stats(self) -> dict[str, Any]:
        """The current peer connection's statistics, flattened to ``{type: [stats...]}``."""
        pc = self._pc
        if pc is None:
            return {}
        report = await pc.getStats()
        flat: dict[str, Any] = {}
        for item in report.values():
            flat.setdefault(item.type, []).append(vars(item))
        return flat

    async def lose_network(self) -> None:
        """Drop the current connection without a word to the other side, as a failing network
        does (the demo's simulated patients play a drop so). The call goes on trying, as after
        any interruption, until a new connection holds."""
        async with self._lock:
            await self._drop_pc()
        self._interrupted()

    async def close(self, *, notify: bool = True) -> None:
        """End the call for good; with ``notify``, tell the other side."""
        if self.state == "ended":
            return
        self._set_state("ended")
        for task in (self._watch, self._retry):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if notify:
            with contextlib.suppress(Exception):
                await self._say({"kind": "bye"})
        async with self._lock:  # an offer or answer being made finishes first, then goes
            await self._drop_pc()

    # -- connections ----------------------------------------------------------------------

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(ice_configuration(self._ice))
        session = self._session

        @pc.on("connectionstatechange")
        async def _changed() -> None:
            if pc is not self._pc or session != self._session:
                return
            log.info("Call connection %s", pc.connectionState)
            if pc.connectionState == "connected":
                self._last_media = time.monotonic()
                self._set_state("connected")
            elif pc.connectionState in ("failed", "disconnected") and self.state == "connected":
                self._interrupted()

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self._readers.append(asyncio.create_task(self._read(track)))

        @pc.on("datachannel")
        def _channel(channel: RTCDataChannel) -> None:
            self._use_channel(channel)

        return pc

    def _use_channel(self, channel: RTCDataChannel) -> None:
        self._channel = channel

        @channel.on("message")
        def _message(raw: object) -> None:
            message = parse_chat(raw)
            if message is not None:
                self.chat.append(message)
                self._on_chat(message)

    async def _offer(self) -> None:
        async with self._lock:
            if self.state == "ended":
                return
            await self._drop_pc()
            self._session += 1
            pc = self._pc = self._new_pc()
            for kind in ("audio", "video"):
                track = self._track(kind)
                if track is not None:
                    pc.addTransceiver(track, direction="sendrecv")
                else:  # no device: receive only, the call goes on with what is left
                    pc.addTransceiver(kind, direction="recvonly")
            for transceiver in pc.getTransceivers():
                date_reports_at_capture(transceiver.sender)
            self._use_channel(pc.createDataChannel("chat"))
            await pc.setLocalDescription(await pc.createOffer())
            self._offered_at = 0.0
            await self._say({"kind": "offer", "sdp": pc.localDescription.sdp,
                             "session": self._session})
            self._offered_at = time.monotonic()  # sent: give it time to connect

    def _attempt_pending(self) -> bool:
        """An offer is still connecting and young: a new one would only cut it off (hellos
        keep coming while the other side waits for it)."""
        pc = self._pc
        return (pc is not None and pc.connectionState in ("new", "connecting")
                and time.monotonic() - self._offered_at < ATTEMPT_S)

    async def _answer(self, data: Mapping[str, Any]) -> None:
        sdp, session = data.get("sdp"), data.get("session")
        if not isinstance(sdp, str) or not isinstance(session, int):
            return
        async with self._lock:
            await self._drop_pc()
            self._session = session
            pc = self._pc = self._new_pc()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                track = self._track(transceiver.kind)
                if track is not None:
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendrecv"
                else:
                    transceiver.direction = "recvonly"
                date_reports_at_capture(transceiver.sender)
            await pc.setLocalDescription(await pc.createAnswer())
            await self._say({"kind": "answer", "sdp": pc.localDescription.sdp,
                             "session": session})
            self._cancel_retry()

    async def _accept(self, data: Mapping[str, Any]) -> None:
        sdp = data.get("sdp")
        if data.get("session") != self._session or not isinstance(sdp, str) or self._pc is None:
            return  # an answer to an offer already replaced
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self._cancel_retry()

    async def _drop_pc(self) -> None:
        pc, self._pc = self._pc, None
        self._channel = None
        self._tracks = {}
        readers, self._readers = self._readers, []
        for task in readers:
            task.cancel()
        if pc is not None:
            await pc.close()

    def _track(self, kind: str) -> VideoTrack | AudioTrack | None:
        """A new track of ``kind`` for the current connection, or None without a source."""
        track: VideoTrack | AudioTrack | None = None
        if kind == "video" and self._video_source is not None:
            track = VideoTrack(self._video_source, self._fps)
            track.set_enabled(self.camera_on)
            track.set_limits(*self._limits)
        elif kind == "audio" and self._audio_source is not None:
            track = AudioTrack(self._audio_source)
            track.muted = self.muted
        if track is not None:
            self._tracks[kind] = track
        return track

    async def _replace(self, kind: str) -> None:
        pc = self._pc
        if pc is None:
            return
        for transceiver in pc.getTransceivers():
            if transceiver.kind != kind:
                continue
            if transceiver.direction != "sendrecv":
                if self.role == "offerer":
                    await self._offer()  # nothing was sent before: negotiate sending now
                return
            old = self._tracks.pop(kind, None)
            transceiver.sender.replaceTrack(self._track(kind))
            if old is not None:
                old.stop()

    # -- media in -------------------------------------------------------------------------

    async def _read(self, track: MediaStreamTrack) -> None:
        deliver: Callable[[Any], None] = (self._on_video if track.kind == "video"
                                          else self._on_audio)
        try:
            while True:
                frame = await track.recv()
                self._last_media = time.monotonic()
                deliver(frame)
        except MediaStreamError:
            pass

    # -- staying connected ----------------------------------------------------------------

    async def _watchdog(self) -> None:
        """A connected call with no media for STALL_S has stalled (aiortc may never notice)."""
        while self.state != "ended":
            await asyncio.sleep(WATCH_S)
            if (self.state == "connected" and self._readers
                    and time.monotonic() - self._last_media > STALL_S):
                log.info("No media for %.0f s: reconnecting the call", STALL_S)
                self._interrupted()

    def _interrupted(self) -> None:
        if self.state != "connected":
            return
        self.interruptions += 1
        self._set_state("reconnecting")
        self._retry = asyncio.create_task(self._keep_trying())

    async def _keep_trying(self) -> None:
        while self.state == "reconnecting" or (self.role == "answerer"
                                               and self.state == "connecting"):
            try:
                if self.role == "offerer":
                    if not self._attempt_pending():
                        await self._offer()
                else:
                    await self._say({"kind": "hello"})
            except Exception as exc:
                log.info("Reconnect attempt failed: %s", type(exc).__name__)
            await asyncio.sleep(RETRY_S)

    def _cancel_retry(self) -> None:
        if self._retry is not None and self._retry is not asyncio.current_task():
            self._retry.cancel()
        self._retry = None

    async def _say(self, data: Mapping[str, Any]) -> None:
        await self._send(data)

    def _set_state(self, state: CallState) -> None:
        if state != self.state:
            self.state = state
            self._on_state(state)
