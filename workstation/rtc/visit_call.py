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
from typing import Any

import av

from workstation.client.hub_client import HubClient, HubError
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
        self.call = Call("offerer", self._send, ice_servers=ice_servers, video=video,
                         audio=audio, on_video=on_video, on_audio=on_audio, on_chat=on_chat,
                         on_state=self._state_changed)
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
        await self._record("ended")

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
