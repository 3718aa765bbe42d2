"""The video call with a real browser as the patient: Debian's Chromium (fake camera and
microphone) on the video page, the workstation's own call code (headless) on the other side,
through a real hub."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import av
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_patient_alerts import eventually
from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, HubContext
from tests.integration.test_call_loopback import kill_media_path
from workstation.client.hub_client import HubClient
from workstation.client.hub_events import ConnectionChanged
from workstation.devices.synthetic import TestPattern, Tone, rms
from workstation.rtc.call import ChatMessage
from workstation.rtc.visit_call import VisitCall

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]

# Keep the page's peer connections where the test can read their statistics.
SPY = """
window.__pcs = [];
const RealPC = window.RTCPeerConnection;
window.RTCPeerConnection = class extends RealPC {
  constructor(...args) { super(...args); window.__pcs.push(this); }
};
"""

INBOUND = """async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const out = { video: 0, audio: 0, level: 0, width: 0, state: pc.connectionState };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      out.video = s.framesDecoded || 0; out.width = s.frameWidth || 0;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.audio = s.totalSamplesReceived || 0; out.level = s.audioLevel || 0;
    }
  });
  return out;
}"""


@dataclass
class AtProvider:
    video: list[av.VideoFrame] = field(default_factory=list)
    loudness: list[float] = field(default_factory=list)
    chat: list[ChatMessage] = field(default_factory=list)
    states: list[str] = field(default_factory=list)


@dataclass
class Workstation:
    client: HubClient
    visit_id: str
    token: str
    call: VisitCall
    got: AtProvider


@pytest.fixture
async def workstation(hub_ctx: HubContext) -> AsyncIterator[Workstation]:
    """A provider signed in with the workstation's client, who has claimed a checked-in
    patient, and the call of that visit (not started yet)."""
    await hub_ctx.add_provider("house")
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    client = HubClient(hub_ctx.url)
    await client.sign_in("house", PASSWORD)
    connected = asyncio.Event()

    async def follow() -> None:
        async for event in client.events():
            if isinstance(event, ConnectionChanged) and event.connected:
                connected.set()

    events = asyncio.create_task(follow())
    await asyncio.wait_for(connected.wait(), 10)
    await client.claim(visit["visit_id"])
    got = AtProvider()
    call = VisitCall(client, visit["visit_id"], video=TestPattern(640, 480).frame,
                     audio=Tone(440.0).frame, on_video=got.video.append,
                     on_audio=lambda f: got.loudness.append(rms(f)), on_chat=got.chat.append,
                     on_state=got.states.append)
    yield Workstation(client, visit["visit_id"], visit["visit_token"], call, got)
    await call.call.close(notify=False)
    events.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await events
    await client.close()


async def _until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _call_the_patient(browser: Browser, hub_ctx: HubContext, ws: Workstation) -> Page:
    """The patient on the video page (the provider is ready), then the workstation calls."""
    page = await _open_video_page(browser, f"{hub_ctx.url}/v/{ws.token}/video")
    await expect(page.locator("#call_status")).to_contain_text("Your provider is ready")
    await ws.call.start()
    return page


async def _open_video_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(SPY)
    page = await context.new_page()
    await page.goto(url)
    return page


async def test_browser_patient_and_workstation_see_and_hear_each_other_then_the_link_expires(
        hub_ctx: HubContext, browser: Browser, workstation: Workstation):
    ws = workstation
    page = await _open_video_page(browser, f"{hub_ctx.url}/v/{ws.token}/video")
    await expect(page.locator("#call_status")).to_contain_text("Your provider is ready")

    await ws.call.start()

    # Frames and sound both ways, decoded on each side.
    await _until(lambda: len(ws.got.video) > 30 and len(ws.got.loudness) > 50, 15,
                 "the patient's camera and microphone at the workstation")
    assert max(ws.got.loudness[-50:]) > 0.001  # Chromium's fake microphone beeps
    frame = ws.got.video[-1]
    assert frame.width > 0 and frame.height > 0
    await eventually(page, "(async () => { const s = await (" + INBOUND + ")();"
                     " return s && s.video > 30 && s.width === 640 && s.audio > 48000"
                     " && s.level > 0.01; })()",  # the workstation's tone is heard
                     timeout=15)
    await expect(page.locator("#call_status")).to_have_text("Connected to your provider.")
    await expect(page.locator("#remote_placeholder")).to_be_hidden()
    assert ws.call.call.state == "connected"
    await _until(lambda: ws.call.recorded == ["started"], 5, "the call recorded as started")
    assert hub_ctx.hub.service.store.visit(ws.visit_id).state.value == "in_call"

    # Chat both ways, shown as text.
    await _until(lambda: ws.call.call._channel is not None
                 and ws.call.call._channel.readyState == "open", 10, "the chat channel")
    ws.call.send_chat("Take <b>ibuprofen</b> 400 mg")
    await expect(page.locator("#chat_log li")).to_have_text(
        ["Provider:Take <b>ibuprofen</b> 400 mg"])
    await page.fill("#chat_input", "How often?")
    await page.keyboard.press("Enter")
    await _until(lambda: len(ws.got.chat) == 1, 5, "the patient's message")
    assert (ws.got.chat[0].sender, ws.got.chat[0].text) == ("patient", "How often?")
    await ws.call.flush_chat()
    kept = (await ws.client.open_chart(ws.visit_id))["chat"]
    assert [(c["sender"], c["text"]) for c in kept] == [
        ("provider", "Take <b>ibuprofen</b> 400 mg"), ("patient", "How often?")]

    # The provider ends the call: both sides close; while the visit is open the page offers
    # Rejoin (the provider may call again), and the camera is off.
    await ws.call.end()
    await expect(page.locator("#ended_panel")).to_be_visible()
    await expect(page.locator("#room")).to_be_hidden()
    await expect(page.locator("#rejoin_button")).to_be_visible()
    assert ws.call.recorded == ["started", "ended"]
    assert hub_ctx.hub.service.store.visit(ws.visit_id).state.value == "documenting"
    response = await page.goto(f"{hub_ctx.url}/v/{ws.token}/video")
    assert response is not None and response.status == 200
    await page.context.close()


async def test_muting_and_camera_off_in_the_browser_reach_the_workstation(
        hub_ctx: HubContext, browser: Browser, workstation: Workstation):
    ws = workstation
    page = await _call_the_patient(browser, hub_ctx, ws)
    await _until(lambda: len(ws.got.loudness) > 100, 15, "sound at the workstation")

    await page.click("#mute_button")
    await expect(page.locator("#mute_button")).to_have_attribute("aria-pressed", "true")
    await asyncio.sleep(0.5)
    heard = len(ws.got.loudness)
    await asyncio.sleep(1.0)
    assert max(ws.got.loudness[heard:]) < 0.0005  # silence, and the call stays up
    assert ws.call.call.state == "connected"

    await page.click("#leave_button")  # the patient leaves: the provider may call back
    await expect(page.locator("#ended_panel")).to_be_visible()
    await _until(lambda: ws.call.call.state == "away", 5, "the workstation to see it")
    await page.context.close()


async def test_the_browser_call_comes_back_after_the_media_path_dies(
        hub_ctx: HubContext, browser: Browser, workstation: Workstation):
    ws = workstation
    page = await _call_the_patient(browser, hub_ctx, ws)
    await _until(lambda: len(ws.got.video) > 10, 15, "video at the workstation")

    kill_media_path(ws.call.call)
    dropped = time.monotonic()
    await _until(lambda: "reconnecting" in ws.got.states, 10, "the stall to be noticed")
    seen = len(ws.got.video)
    await _until(lambda: ws.call.call.state == "connected" and len(ws.got.video) > seen + 30,
                 10, "video again after reconnecting")
    assert time.monotonic() - dropped < 10
    await eventually(page, "window.__pcs.length >= 2")  # the page answered a new session
    await eventually(page, "(async () => { const s = await (" + INBOUND + ")();"
                     " return s && s.video > 30; })()", timeout=10)
    await _until(lambda: ws.call.recorded[:3] == ["started", "interrupted", "resumed"], 5,
                 "the interruption on record")
    await page.context.close()
