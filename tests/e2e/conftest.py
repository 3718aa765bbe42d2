"""Debian's Chromium, driven by Playwright, as the patient."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from workstation.bench.chromium import CHROMIUM
from workstation.bench.chromium import CHROMIUM_ARGS as ARGS


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: 'make test' installs Debian's chromium package.")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        await browser.close()
