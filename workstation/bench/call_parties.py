"""The parties of a benchmark call: the hub process, a Chromium of its own for each browser,
and the workstation's call probe in its own process."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from workstation.bench import processes
from workstation.bench.chromium import CHROMIUM, CHROMIUM_ARGS
from workstation.bench.hub_fanout import ServerProcess, checkin_body
from workstation.bench.hub_process import PASSWORD
from workstation.bench.probe_env import FOLDER_ENV, TOKEN_ENV

HARNESS = Path(__file__).with_name("browser_harness.js").read_text(encoding="utf-8")
PROBE = [sys.executable, "-m", "workstation.ui.probes.call_probe"]
RESULT_LIMIT = 256 * 1024 * 1024  # a soak's RESULT line holds every sample of an hour
SETTLE_LIMIT_S = 45.0  # the senders' bandwidth estimates ramp up to the full size in this
REMOTE_SIZE = ("(() => { const v = document.getElementById('remote_video');"
               " return [v.videoWidth, v.videoHeight]; })()")
READY = "Your provider is ready"


class BenchHub:
    def __init__(self) -> None:
        self.process = ServerProcess("hub", "2")
        self.url = self.process.url
        self.http = aiohttp.ClientSession()

    async def sign_in(self, username: str) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/api/auth/sign-in", json={
                "username": username, "password": PASSWORD, "remember": True}) as r:
            if r.status != 200:
                raise RuntimeError(f"Bench sign-in failed: HTTP {r.status}")
            return dict(await r.json())

    async def check_in(self) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/api/checkins", json=checkin_body(0)) as r:
            if r.status != 201:
                raise RuntimeError(f"Bench check-in failed: HTTP {r.status}")
            return dict(await r.json())

    async def claim(self, token: str, visit_id: str) -> None:
        async with self.http.post(f"{self.url}/api/visits/{visit_id}/claim",
                                  headers={"Authorization": f"Bearer {token}"}) as r:
            if r.status != 200:
                raise RuntimeError(f"Bench claim failed: HTTP {r.status}")

    async def close(self) -> None:
        await self.http.close()
        self.process.stop()


class BenchBrowser:
    """A Chromium of its own (so its processes' CPU is its own)."""

    def __init__(self, playwright: Any) -> None:
        self._playwright = playwright
        self.browser: Any = None
        self.root = 0

    async def start(self) -> None:
        before = processes.chromium_browsers()
        self.browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for _ in range(20):
            new = processes.chromium_browsers() - before
            if new:
                # One new browser process; should another appear meanwhile, the biggest tree.
                self.root = max(new, key=lambda pid: len(processes.tree(pid)))
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("Could not tell which processes are the new Chromium's.")

    def usage(self) -> processes.Usage:
        return processes.usage(processes.tree(self.root))

    async def page(self, url: str, width: int, height: int) -> Any:
        context = await self.browser.new_context(viewport={"width": 1366, "height": 768})
        await context.add_init_script(
            f"window.__benchConfig = {json.dumps({'width': width, 'height': height, 'fps': 30})};")
        await context.add_init_script(HARNESS)
        page = await context.new_page()
        await page.goto(url)
        return page

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.close()


async def until(page: Any, script: str, timeout: float = 20.0) -> None:
    """Poll ``script`` in the page (the pages' CSP rules out Playwright's eval-based wait)."""
    deadline = time.perf_counter() + timeout
    while not await page.evaluate(script):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"Timed out in the benchmark waiting for: {script}")
        await asyncio.sleep(0.01)


async def settle(sizes: Any, width: int, height: int) -> float:
    """Seconds until both sides receive ``width``×``height`` (the senders start low and raise
    the resolution as their bandwidth estimate grows), or NaN after SETTLE_LIMIT_S."""
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_LIMIT_S:
        if all(tuple(s) == (width, height) for s in await sizes()):
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return math.nan


async def patient_ready(page: Any) -> None:
    await until(page, f"document.getElementById('call_status').textContent"
                       f".includes({json.dumps(READY)})")


class WorkstationProbe:
    """The workstation, in its own process (see ``workstation.ui.probes.call_probe``)."""

    def __init__(self, proc: asyncio.subprocess.Process, folder: str) -> None:
        self.proc = proc
        self.folder = folder

    @classmethod
    async def start(cls, hub: BenchHub, width: int, height: int) -> WorkstationProbe:
        token = (await hub.sign_in("bench0"))["refresh_token"]
        folder = tempfile.mkdtemp(prefix="ws-call-probe-")
        env = {**os.environ, TOKEN_ENV: token, FOLDER_ENV: folder,
               "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        proc = await asyncio.create_subprocess_exec(
            *PROBE, hub.url, str(width), str(height), env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            limit=RESULT_LIMIT)
        return cls(proc, folder)

    async def expect(self, prefix: str, timeout: float = 60.0) -> str:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"The call probe stopped before {prefix}.")
            text = line.decode().strip()
            if text.startswith(prefix):
                return text[len(prefix):].strip()

    async def size(self) -> tuple[int, int]:
        await self.send("SIZE")
        width, height = (await self.expect("SIZE")).split()
        return int(width), int(height)

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        try:
            await self.send("END")
            await asyncio.wait_for(self.proc.wait(), 15)
        except (TimeoutError, ConnectionError):
            self.proc.kill()
            await self.proc.wait()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def rss_mb(self) -> float:
        return processes.usage({self.proc.pid}).rss_mb
