"""The call pane in the chart against the real hub, with an aiortc patient on the other end:
remote and self frames rendered, chat both ways, mute, ending the visit; and the video view
keeping only the newest frame."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiohttp
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import Clock
from tests.ui.conftest import run
from tests.ui.test_chart_hub import claim_first, signed_in_window
from workstation.devices.synthetic import TestPattern, Tone, rms
from workstation.hub.server import RunningHub
from workstation.rtc.call import Call, ChatMessage
from workstation.rtc.media import SYNTHETIC
from workstation.ui.call.call_pane import CallPane
from workstation.ui.call.call_presenter import CallController
from workstation.ui.call.video_view import VideoView
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.shell.wiring import wire_call, wire_call_to_window
from workstation.ui.widgets.bridge import AsyncBridge


class Patient:
    """The patient's side, as the video page does it, in Python: the visit socket and an
    answering call with a test pattern and a tone."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.frames = 0
        self.loudness: list[float] = []
        self.chat: list[ChatMessage] = []
        self.call: Call | None = None
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def join(self) -> None:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(f"{self.url}/ws/patient/{self.token}")
        ws = self.ws

        async def send(data: Any) -> None:
            await ws.send_json({"type": "signal", "data": dict(data)})

        self.call = Call("answerer", send, video=TestPattern(640, 480).frame,
                         audio=Tone(330.0).frame,
                         on_video=lambda _f: setattr(self, "frames", self.frames + 1),
                         on_audio=lambda f: self.loudness.append(rms(f)),
                         on_chat=self.chat.append)
        call = self.call

        async def listen() -> None:
            async for msg in ws:
                message = msg.json()
                if message.get("type") == "signal":
                    await call.handle(message["data"])

        self._listening = asyncio.create_task(listen())
        await call.start()

    async def leave(self) -> None:
        if self.call is not None:
            await self.call.close(notify=False)
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()


async def check_in_with_token(url: str) -> str:
    async with aiohttp.ClientSession() as http, \
            http.post(f"{url}/api/checkins", json=checkin_body()) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["visit_token"])


def call_window(qtbot: QtBot, bridge: AsyncBridge, running: RunningHub, clock: Clock,
                site, *, check_first: bool = False,  # type: ignore[no-untyped-def]
                ) -> tuple[MainWindow, ProviderController, ChartController, CallPane,
                           CallController]:
    """A signed-in window whose chart has the call pane, wired as the app wires it (test
    pattern and tone unless ``check_first`` leaves the choice to the device check)."""
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, site)
    pane = CallPane()
    window.set_call_pane(pane)
    call = CallController(bridge, pane, check_first=check_first,
                          default_devices=None if check_first else (SYNTHETIC,) * 3)
    wire_call(call, chart, controller)
    return window, controller, chart, pane, call


def test_the_call_pane_shows_both_pictures_chats_and_ends_the_visit(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller, chart, pane, call = call_window(qtbot, bridge, running, clock, site)
    token = run(bridge, qtbot, check_in_with_token(running.url))
    assert not call.media_ready
    claim_first(qtbot, window)
    qtbot.waitUntil(pane.isVisible, timeout=10_000)
    # Opening a video visit's chart loads the media stack: "Start" will not wait on it.
    qtbot.waitUntil(lambda: call.media_ready, timeout=10_000)
    assert pane.state_label.text() == "The video visit has not started."

    patient = Patient(running.url, token)
    run(bridge, qtbot, patient.join())
    qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: call.state == "connected", timeout=15_000)
    qtbot.waitUntil(lambda: pane.remote_view.frames_shown > 20
                    and pane.self_view.frames_shown > 20, timeout=15_000)
    assert pane.state_label.text() == "In the video visit"
    assert not pane.start_button.isEnabled() and pane.end_button.isEnabled()
    assert patient.frames > 20
    qtbot.waitUntil(lambda: pane.timer_label.text() != "00:00", timeout=5_000)
    qtbot.waitUntil(lambda: pane.quality_label.text().startswith("Call quality"),
                    timeout=10_000)
    grabbed = pane.remote_view.grab().toImage()
    centre = grabbed.pixelColor(grabbed.width() // 2, grabbed.height() // 2)
    assert centre.name() != "#111111"  # a picture, not the empty background

    # Chat: typed here, read there, and back.
    qtbot.waitUntil(pane.chat_edit.isEnabled, timeout=5_000)
    qtbot.keyClicks(pane.chat_edit, "Amoxicillin 500 mg")
    qtbot.keyClick(pane.chat_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [m.text for m in patient.chat] == ["Amoxicillin 500 mg"],
                    timeout=5_000)
    assert patient.call is not None
    patient_call = patient.call

    async def reply() -> None:
        patient_call.send_chat("Thanks")

    run(bridge, qtbot, reply())
    qtbot.waitUntil(lambda: pane.chat_list.count() == 2, timeout=5_000)
    assert [pane.chat_list.item(i).text() for i in range(2)] == [
        "You: Amoxicillin 500 mg", "Patient: Thanks"]
    client = controller.client
    assert client is not None
    visit_id = chart._visit_id or ""

    def kept() -> list[tuple[str, str]]:
        chat = run(bridge, qtbot, client.open_chart(visit_id))["chat"]  # type: ignore[attr-defined]
        return [(line["sender"], line["text"]) for line in chat]

    qtbot.waitUntil(lambda: kept() == [("provider", "Amoxicillin 500 mg"),
                                       ("patient", "Thanks")], timeout=5_000)

    # Mute: the patient hears silence.
    qtbot.mouseClick(pane.mute_button, Qt.MouseButton.LeftButton)
    qtbot.wait(700)
    heard = len(patient.loudness)
    qtbot.wait(800)
    assert heard < len(patient.loudness) and max(patient.loudness[heard:]) < 0.002

    # End: both sides close and the visit moves on to documenting.
    qtbot.mouseClick(pane.end_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: patient_call.state == "ended", timeout=10_000)
    assert call.state == "ended" and pane.start_button.text() == "Call &again"
    qtbot.waitUntil(lambda: running.service.store.visit(
        chart._visit_id or "").state.value == "documenting", timeout=10_000)  # type: ignore[arg-type]
    run(bridge, qtbot, patient.leave())


def test_a_busy_view_keeps_only_the_newest_frame(qtbot: QtBot) -> None:
    view = VideoView("nothing yet")
    qtbot.addWidget(view)
    pattern = TestPattern(640, 480)
    frames = [pattern.frame(i * 1000) for i in range(5)]

    def offer_all() -> None:  # from another thread, as the asyncio thread does
        for frame in frames:
            view.offer(frame)

    worker = threading.Thread(target=offer_all)
    worker.start()
    worker.join()
    assert view.frames_offered == 5 and view.frames_shown == 0  # nothing painted yet
    qtbot.waitUntil(lambda: view.frame_size == (640, 480))
    qtbot.wait(100)
    assert 1 <= view.frames_shown < 5  # stale frames were dropped, not queued
    shown = view._pixels
    assert shown is not None
    assert shown == frames[-1].to_ndarray(format="rgb24").tobytes()  # and it is the newest


def test_a_view_converts_frames_to_the_size_it_shows_them(qtbot: QtBot) -> None:
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    ratio = view.devicePixelRatioF()
    view.offer(TestPattern(1280, 720).frame(0))
    qtbot.waitUntil(lambda: view.image is not None)
    image = view.image
    assert image is not None
    assert view.frame_size == (1280, 720)
    assert image.width() == round(320 * ratio) and image.height() == round(180 * ratio)
    view.offer(TestPattern(640, 480).frame(0))  # smaller than the view: never enlarged
    qtbot.waitUntil(lambda: view.frame_size == (640, 480))
    small = view.image
    assert small is not None and small.height() <= round(240 * ratio)


def test_during_a_call_alerts_hold_back_and_the_lock_hides_the_floating_video(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    from workstation.ui.shell.session_lock import SessionLock

    running, clock = hub
    window, controller, chart, pane, call = call_window(qtbot, bridge, running, clock, site)
    lock = SessionLock(bridge, window, controller, chart, lock_minutes=10)
    wire_call_to_window(call, controller, lock)
    alert = controller._alert
    token = run(bridge, qtbot, check_in_with_token(running.url))
    claim_first(qtbot, window)
    patient = Patient(running.url, token)
    run(bridge, qtbot, patient.join())
    pane.start_button.click()
    qtbot.waitUntil(lambda: call.state == "connected", timeout=15_000)

    # A new patient during the call: counted, but no sound or tray message.
    given = alert.given
    run(bridge, qtbot, check_in_with_token(running.url))
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 1, timeout=10_000)
    assert alert.given == given

    # Floating video, then the lock: the float goes, the call and its media go on.
    pane.float_button.click()
    assert pane.floating
    floating = [w for w in window.findChildren(QWidget) if w.isWindow() and w.isVisible()
                and w is not window]
    assert floating and floating[0].testAttribute(Qt.WidgetAttribute.WA_WState_Visible)
    assert floating[0].windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    lock.lock()
    assert not pane.floating and not pane.isVisible()  # behind the lock screen
    offered = pane.remote_view.frames_offered
    qtbot.waitUntil(lambda: pane.remote_view.frames_offered > offered + 15, timeout=5_000)
    assert call.state == "connected"
    heard = len(patient.loudness)
    qtbot.waitUntil(lambda: len(patient.loudness) > heard + 20, timeout=5_000)

    # After the call, alerts come back.
    pane.end_button.click()
    qtbot.waitUntil(lambda: not call.in_call, timeout=5_000)
    run(bridge, qtbot, check_in_with_token(running.url))
    qtbot.waitUntil(lambda: alert.given == given + 1, timeout=10_000)
    run(bridge, qtbot, patient.leave())
