"""The demo's patient pages in Chromium: every one says it is the demo, in its title too
(after the page's own script has retitled it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_patient_alerts import eventually
from workstation.core.demo import BANNER
from workstation.core.site import SiteConfig
from workstation.demo import scenario as scenarios
from workstation.demo.session import DemoSession
from workstation.resource_files import Resources

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]


async def test_every_patient_page_of_the_demo_carries_the_banner(
        browser: Browser, tmp_path: Path, site: SiteConfig, resources: Resources) -> None:
    scenario = scenarios.load(scenarios.find("sore-throat"), resources)
    session = DemoSession(tmp_path / "demo.db", site, resources, scenario)
    hub = await session.start()
    try:
        day = session.day
        assert day is not None
        avery = day.arrivals["Avery Lindqvist (Demo)"]
        async with asyncio.timeout(20):
            while not avery.token:
                await asyncio.sleep(0.05)
        context = await browser.new_context()
        page = await context.new_page()
        for path, retitled in (("/checkin", "Check in for a video visit"),
                               (f"/v/{avery.token}", None),
                               (f"/v/{avery.token}/video", None),
                               ("/v/0000000000000000000000000000000000000000000", None)):
            await page.goto(f"{hub.url}{path}")
            banner = page.locator(".demo-banner")
            await expect(banner).to_be_visible()
            await expect(banner).to_contain_text(BANNER)
            if retitled:  # the page's script set its title: the mark stays in front
                await eventually(page, f"document.title.includes({retitled!r})")
            assert (await page.title()).startswith(BANNER), path
        # The simulated patient is on the video page too: the hub still sees them waiting.
        assert hub.service.store.queue(["urgent_care"], datetime.now(UTC))
        await context.close()
    finally:
        await session.close()
