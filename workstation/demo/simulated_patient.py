"""A simulated patient on the video page: the demo's stand-in for a patient's browser.

It opens the visit's socket (``/ws/patient/<token>``) as the video page does and answers the
provider's call with the workstation's own :class:`Call` in the answerer role, so everything
between the two goes through the hub's signaling exactly as with a real patient. It sends a
drawn figure with the patient's name and a clock and a speech-like voice, answers the
provider's chat with the scenario's lines in order, and plays the scenario's call behaviour:

- ``joins``: answers and stays until the provider hangs up;
- ``drops``: a few seconds into the call its network fails (no goodbye), and comes back a few
  seconds later, as a patient's Wi-Fi does;
- ``no_show``: never opens the video page;
- ``poor``: a weak connection, sending a small picture at a few frames a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from workstation.core.visit import TERMINAL_STATES, VisitState
from workstation.demo.likeness import Likeness, Voice
from workstation.demo.scenario import ScenarioPatient
from workstation.rtc.call import Call, CallState, ChatMessage

log = logging.getLogger(__name__)

DROP_AFTER_S = 4.0  # "drops": connected this long, then the network fails
OUTAGE_S = 5.0  # ... and comes back after this long
REPLY_AFTER_S = 0.8  # the patient "types" this long before a chat answer
POOR = (180, 6)  # "poor": the picture's height and frame rate
NOT_STARTED = {VisitState.CHECKING_IN.value, VisitState.WAITING.value}
ENDED = {s.value for s in TERMINAL_STATES}


class SimulatedPatient:
    """Plays one patient's side of the video visit until the visit ends or :meth:`stop`.

    ``on_event(name, what)`` reports what happened, for the trainer's log and ``demo run``:
    ``joined``, ``connected``, ``dropped``, ``reconnected``, ``answered``, ``left``.
    """

    def __init__(self, url: str, token: str, patient: ScenarioPatient,
                 session: aiohttp.ClientSession, *,
                 on_event: Callable[[str, str], None] = lambda _n, _w: None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.patient = patient
        self._session = session
        self._on_event = on_event
        seed = zlib.crc32(patient.name.encode("utf-8"))
        self.likeness = Likeness(patient.name)
        self.voice = Voice(pitch=200.0 if patient.sex.value == "female" else 120.0, seed=seed,
                           likeness=self.likeness)
        self._lines = list(patient.chat)
        self.events: list[str] = []
        self.call: Call | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ice: list[Mapping[str, Any]] = []
        self._offline = False
        self._dropped = False
        self._connected_once = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in (*self._tasks, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._hang_up()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def _event(self, what: str) -> None:
        self.events.append(what)
        self._on_event(self.patient.name, what)

    # -- the socket -----------------------------------------------------------------------

    async def _run(self) -> None:
        if self.patient.call == "no_show":
            self._event("no_show")
            return
        try:
            async with self._session.ws_connect(
                    f"{self.url}/ws/patient/{self.token}", heartbeat=20) as ws:
                self._ws = ws
                self._event("joined")
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    if not await self._received(json.loads(message.data)):
                        break
        except (aiohttp.ClientError, ConnectionError) as exc:
            log.info("A simulated patient's socket failed: %s", type(exc).__name__)
        finally:
            self._ws = None
            await self._hang_up()
            self._event("left")

    async def _received(self, message: Mapping[str, Any]) -> bool:
        """Handle one message from the hub; False once the visit is over."""
        kind = message.get("type")
        if kind == "rtc":
            self._ice = [dict(s) for s in message.get("ice_servers") or ()]
        elif kind == "status":
            state = str(message.get("state"))
            if state in ENDED:
                return False
            if state not in NOT_STARTED:
                await self._ready()
        elif kind == "signal" and isinstance(message.get("data"), dict):
            if self._offline:
                return True  # the network is down: nothing arrives
            await self._ready()
            assert self.call is not None
            await self.call.handle(message["data"])
        return True

    async def _send(self, data: Mapping[str, Any]) -> None:
        if self._offline:
            return
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("The visit's socket is closed.")
        await ws.send_json({"type": "signal", "data": dict(data)})

    # -- the call -------------------------------------------------------------------------

    async def _ready(self) -> None:
        """A call waiting for the provider's offer (a new one after the provider hung up)."""
        if self.call is not None and self.call.state != "ended":
            return
        self.call = Call("answerer", self._send, ice_servers=self._ice,
                         video=self.likeness.frame, audio=self.voice.frame, fps=30,
                         on_chat=self._chat, on_state=self._state)
        await self.call.start()

    def _state(self, state: CallState) -> None:
        if state != "connected":
            return
        if self._dropped and not self._offline:
            self._dropped = False
            self._event("reconnected")
            return
        if self._connected_once:
            return
        self._connected_once = True
        self._event("connected")
        if self.patient.call == "poor" and self.call is not None:
            self.call.set_video_limits(*POOR)
        elif self.patient.call == "drops":
            self._later(self._drop())

    async def _drop(self) -> None:
        await asyncio.sleep(DROP_AFTER_S)
        call = self.call
        if call is None or call.state != "connected":
            return
        self._offline = self._dropped = True
        self._event("dropped")
        await call.lose_network()  # it keeps saying hello; none gets out while offline
        await asyncio.sleep(OUTAGE_S)
        self._offline = False

    def _chat(self, message: ChatMessage) -> None:
        if message.sender == "provider" and self._lines:
            self._later(self._answer(self._lines.pop(0)))

    async def _answer(self, line: str) -> None:
        await asyncio.sleep(REPLY_AFTER_S)
        call = self.call
        if call is None:
            return
        with contextlib.suppress(RuntimeError):  # the call went away meanwhile
            call.send_chat(line)
            self._event("answered")

    def _later(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hang_up(self) -> None:
        call, self.call = self.call, None
        if call is not None:
            await call.close(notify=False)
