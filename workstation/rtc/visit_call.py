"""The provider's call of one visit: a :class:`Call` wired to the hub.

Signaling goes out through the provider socket and comes back through the client's handler for
this visit; the call's course is recorded on the hub (in call, reconnecting, back, ended) so the
visit keeps its interruptions. The desktop app and headless runs (tests, benchmarks) use this
same class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import av

from workstation.client.hub_answers import HubError
from workstation.client.hub_client import HubClient
from workstation.rtc.call import AudioSource, Call, CallState, ChatMessage, FrameSource

log = logging.getLogger(__name__)


class VisitCall:
    def __init__(
        self, client: HubClient, visit_id: str, *,
        ice_servers: Sequence[Mapping[str, Any]] = (),
        video: FrameSource | None = None, audio: AudioSource | None = None,
        on_video: Callable[[av.VideoFrame], None] = lambda _f: None,
        on_audio: Callable[[av.AudioFrame], None] = lambda _f: None,
        on_chat: Callable[[ChatMessage], None] = lambda _m: None,
        on_state: Callable[[CallState], None] = lambda _s: None,
    ) -> None:
        self.client = client
        self.visit_id = visit_id
        self._on_state = on_state
        self._was_connected = False
        self._on_chat = on_chat
        self.call = Call("offerer", self._send, ice_servers=ice_servers, video=video,
                         audio=audio, on_video=on_video, on_audio=on_audio,
                         on_chat=self._chat_received, on_state=self._state_changed)
        self._last_chat: asyncio.Task[None] | None = None
        self.unsaved_chat: list[ChatMessage] = []  # lines the hub could not take (yet)
        self._last_record: asyncio.Task[None] | None = None
        self.recorded: list[str] = []  # call events the hub has taken, in order

    async def start(self) -> None:
        """Offer the call: the patient's page answers as soon as it is open."""
        self.client.add_signal_handler(self.visit_id, self.call.handle)
        await self.call.start()

    async def end(self) -> None:
        """Hang up for both sides and move the visit on to documenting."""
        self.client.remove_signal_handler(self.visit_id)
        await self.call.close()
        await self.flush_chat()
        await self._record("ended")

    def send_chat(self, text: str) -> ChatMessage:
        """Send a chat line to the patient and keep it with the visit on the hub."""
        message = self.call.send_chat(text)
        self._keep(message)
        return message

    def _chat_received(self, message: ChatMessage) -> None:
        self._on_chat(message)
        self._keep(message)

    def _keep(self, message: ChatMessage) -> None:
        """Saved on the hub in the order written; a line the hub cannot take yet (it is away)
        is kept here and sent again with the next one. A line the hub refuses for what it
        holds (a patient's page can send anything) is dropped, so it holds back no other."""
        previous = self._last_chat
        self.unsaved_chat.append(message)

        async def save() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            for pending in list(self.unsaved_chat):
                try:
                    await self.client.save_chat(
                        self.visit_id, pending.id, pending.sender, pending.text,
                        _sent_at(pending.at))
                except HubError as exc:
                    if exc.status not in REFUSED_FOR_GOOD:
                        log.warning("A chat line is not kept on the hub yet: %s", exc.code)
                        return
                    log.warning("The hub refused a chat line (%s); it is not kept", exc.code)
                self.unsaved_chat.remove(pending)

        self._last_chat = asyncio.get_running_loop().create_task(save())

    async def flush_chat(self) -> None:
        """Wait until the chat lines sent so far are kept (or failed)."""
        if self._last_chat is not None:
            await asyncio.gather(self._last_chat, return_exceptions=True)

    async def _send(self, data: Mapping[str, Any]) -> None:
        await self.client.send_signal(self.visit_id, data)

    def _state_changed(self, state: CallState) -> None:
        self._on_state(state)
        if state == "connected":
            event = "resumed" if self._was_connected else "started"
            self._was_connected = True
        elif state in ("reconnecting", "away") and self._was_connected:
            event = "interrupted"
        else:
            return
        previous = self._last_record

        async def after_previous() -> None:  # recorded in the order they happened
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._record(event)

        self._last_record = asyncio.get_running_loop().create_task(after_previous())

    async def _record(self, event: str) -> None:
        if self._last_record is not None and event == "ended":
            await asyncio.gather(self._last_record, return_exceptions=True)
        try:
            await self.client.call_event(self.visit_id, event)
            self.recorded.append(event)
        except HubError as exc:
            log.warning("Could not record the call %s on the hub: %s", event, exc.code)


# The hub's answers that will not change on a retry: the line itself is refused.
REFUSED_FOR_GOOD = frozenset({400, 413, 422})


def _sent_at(at: float) -> datetime:
    """When the line was written, as its sender said; now, when that is no time at all (a
    patient's page may send any number)."""
    try:
        return datetime.fromtimestamp(at, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC)
