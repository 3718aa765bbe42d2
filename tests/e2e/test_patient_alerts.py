"""What the patient's browser does when the provider is ready, and the device test."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page, expect

from tests.factories import checkin_body
from tests.hub_fixtures import HubContext

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]

# Record what the page asks of the browser, and make the tab look like one in the background.
SPY = """
window.__notes = [];
window.__tones = 0;
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__notes.push(title); }
};
Object.defineProperty(window.Notification, "permission", { get: () => "granted" });
const realOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1;
  return realOscillator.call(this); };
Object.defineProperty(document, "hidden", { get: () => true });
document.hasFocus = () => false;
"""


async def eventually(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Poll a page expression (the pages' CSP forbids Playwright's eval-based waiting)."""
    async with asyncio.timeout(timeout):
        while not await page.evaluate(expression):
            await asyncio.sleep(0.05)


async def test_a_waiting_patient_in_another_tab_is_called_by_sound_notice_and_title(
        hub_ctx: HubContext, browser: Browser):
    await hub_ctx.add_provider("house")
    token = await hub_ctx.sign_in("house")
    _, visit = await hub_ctx.post("/api/checkins", checkin_body())
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    await context.grant_permissions(["notifications"], origin=hub_ctx.url)
    await context.add_init_script(SPY)
    page = await context.new_page()
    await page.goto(f"{hub_ctx.url}/v/{visit['visit_token']}")
    await expect(page.locator("#position")).to_have_text("#1")
    assert await page.evaluate("window.__notes.length") == 0

    await hub_ctx.post(f"/api/visits/{visit['visit_id']}/claim", token=token)

    await expect(page.locator("#ready_banner")).to_be_visible()
    await eventually(page, "window.__notes.length === 1")
    assert await page.evaluate("window.__notes") == ["Your provider is ready"]
    assert await page.evaluate("window.__tones") >= 3  # the chime's notes
    await eventually(page, "document.title.startsWith('🔔')", timeout=3)
    await context.close()


async def test_device_test_shows_the_camera_and_the_microphone_level(
        hub_ctx: HubContext, browser: Browser):
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    await context.grant_permissions(["camera", "microphone"], origin=hub_ctx.url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{hub_ctx.url}/device-test")

    await page.click("#start_test")

    await eventually(page, "document.querySelector('#camera_preview').videoWidth > 0")
    await expect(page.locator("#camera_select option")).not_to_have_count(0)
    # Chromium's fake microphone beeps: the meter must move above silence.
    await eventually(page, "document.querySelector('#mic_meter').value > 5")
    await page.click("#stop_test")
    await expect(page.locator("#start_test")).to_be_visible()
    assert errors == []
    await context.close()
