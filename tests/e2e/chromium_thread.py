"""Debian's Chromium, driven by Playwright's async API on an asyncio loop of its own thread.

For tests whose own thread is Qt's (pytest-qt): the GUI thread has no asyncio loop, and it
must keep handling Qt events while a patient's page works (Playwright's sync API would block
it in every wait). Such a test hands coroutines to :meth:`ChromiumThread.submit` and waits on
the returned future while Qt runs (``qtbot.waitUntil(future.done)``). Every Playwright object
belongs to this thread's loop: use them only inside the coroutines submitted here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from playwright.async_api import Browser, Playwright, async_playwright

from workstation.bench.chromium import CHROMIUM, CHROMIUM_ARGS

T = TypeVar("T")

START_TIMEOUT_S = 60.0


class ChromiumThread:
    """One headless Chromium (fake camera and microphone) for the whole test."""

    def __init__(self) -> None:
        if shutil.which(CHROMIUM) is None:
            raise RuntimeError(f"{CHROMIUM} is missing: 'make test' installs Debian's "
                               "chromium package.")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="chromium",
                                        daemon=True)
        self._thread.start()
        self._playwright: Playwright | None = None
        try:
            self.browser: Browser = self.submit(self._launch()).result(START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    async def _launch(self) -> Browser:
        self._playwright = await async_playwright().start()
        return await self._playwright.chromium.launch(executable_path=CHROMIUM,
                                                      args=CHROMIUM_ARGS, headless=True)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the browser's loop; returns at once."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        """Close the browser and Playwright, then stop the loop and its thread."""
        async def stop() -> None:
            if getattr(self, "browser", None) is not None:
                await self.browser.close()
            if self._playwright is not None:
                await self._playwright.stop()

        if self.loop.is_running():
            try:
                self.submit(stop()).result(START_TIMEOUT_S)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(START_TIMEOUT_S)
        if not self.loop.is_running():
            self.loop.close()
