"""Start-up (cold start to the live queue painted, against a bare PySide6 window) and GUI-thread
lateness during a provider's normal work. Each run is a fresh process, as a provider starts it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import aiohttp

from workstation.bench.hub_fanout import ServerProcess, checkin_body
from workstation.bench.hub_process import PASSWORD
from workstation.bench.probe_env import FOLDER_ENV, TOKEN_ENV
from workstation.bench.stats import Figure
from workstation.frozen import module_command

PROBE_MODULE = "workstation.ui.probes.startup_probe"
PROBE = [sys.executable, "-m", PROBE_MODULE]


@dataclass
class StartupResult:
    startup: Figure
    startup_lateness: Figure
    gui_lateness: Figure
    bundled: Figure | None = None  # only when pointed at an installed bundle (--app)


async def _remembered_token(url: str, patients: int) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/auth/sign-in", json={
                "username": "bench0", "password": PASSWORD, "remember": True}) as r:
            body = await r.json()
        # A code search waits until the hub has loaded ICD-10-CM (seconds of CPU after its
        # start): measure the workstation, not a hub still warming up.
        async with http.get(f"{url}/api/icd10?q=cough", headers={
                "Authorization": f"Bearer {body['token']}"}) as r:
            await r.read()
        for n in range(patients):
            async with http.post(f"{url}/api/checkins", json=checkin_body(n)) as r:
                if r.status != 201:
                    raise RuntimeError(f"Bench check-in failed: HTTP {r.status}")
    return str(body["refresh_token"])


def _run_probe(args: list[str], env: dict[str, str], timeout: float = 120.0,
               probe: list[str] = PROBE) -> tuple[float, list[float], list[float]]:
    """Seconds from spawning the process to its first ``PAINTED`` line, and any lateness
    (while starting, then during work)."""
    with tempfile.TemporaryDirectory(prefix="ws-probe-") as folder:
        return _probe_in(folder, args, env, timeout, probe)


def _probe_in(folder: str, args: list[str], env: dict[str, str], timeout: float,
              probe: list[str] = PROBE) -> tuple[float, list[float], list[float]]:
    started = time.perf_counter()
    proc = subprocess.Popen([*probe, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**env, FOLDER_ENV: folder})
    assert proc.stdout is not None
    painted = None
    lateness: list[float] = []
    starting: list[float] = []
    for line in proc.stdout:
        if line.startswith("PAINTED") and painted is None:
            painted = time.perf_counter() - started
        elif line.startswith("LATENESS "):
            lateness = [float(x) for x in json.loads(line[len("LATENESS "):])]
        elif line.startswith("STARTUP_LATENESS "):
            starting = [float(x) for x in json.loads(line[len("STARTUP_LATENESS "):])]
    proc.wait(timeout)
    if painted is None:
        raise RuntimeError(f"The start-up probe ({args[0]}) never painted.")
    return painted, starting, lateness


def measure(runs: int = 5, work_seconds: float = 6.0, app: str | None = None,
            ) -> StartupResult:
    """With ``app`` (an installed bundle's workstation), each run also starts the bundled
    workstation right after the one from this virtual environment, against the same hub."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    bundle_probe = module_command(PROBE_MODULE, executable=app) if app else None
    bundled: list[float] = []
    starting: list[float] = []
    hub = ServerProcess("hub", "1")
    bare: list[float] = []
    starts: list[float] = []
    lateness: list[float] = []
    try:
        for i in range(runs):
            # Side by side: each workstation start right after a bare window's, with the same
            # idle hub running, so the machine's drift over the runs falls on both alike.
            bare.append(_run_probe(["bare"], env)[0] * 1000)
            token = asyncio.run(_remembered_token(hub.url, 3 if i == 0 else 1))
            work = work_seconds if i == runs - 1 else 0.0
            seconds, early, late = _run_probe(["workstation", hub.url, str(work)],
                                              {**env, TOKEN_ENV: token})
            starts.append(seconds * 1000)
            starting += early
            lateness += late
            if bundle_probe is not None:
                token = asyncio.run(_remembered_token(hub.url, 1))
                bundled.append(_run_probe(["workstation", hub.url, "0"], {**env, TOKEN_ENV: token},
                                          probe=bundle_probe)[0] * 1000)
    finally:
        hub.stop()
    return StartupResult(
        bundled=Figure("bundled app: cold start to the live queue painted", "ms", bundled,
                       "the same from the virtual environment", starts,
                       goal="<= 1.2x virtual environment",
                       notes=f"{app}; each run right after the virtual environment's, same "
                             "hub") if app else None,
        startup=Figure("cold start to the live queue painted", "ms", starts,
                       "bare PySide6 window painted", bare, goal="<= 2.0x bare window",
                       notes="new process each run; remembered sign-in to a hub process"),
        startup_lateness=Figure(
            "GUI-thread lateness finishing start-up", "ms", starting,
            notes=f"{TICK_MS_NOTE}; first paint until claims open and the call's media stack "
                  "is loaded (the interpreter is held by its C extensions' set-up)"),
        gui_lateness=Figure("GUI-thread lateness during normal work", "ms", lateness,
                            goal="p99 < 16 ms, max < 50 ms",
                            notes=f"{TICK_MS_NOTE}; once started: claim, chart, typing, "
                                  "code search"),
    )


TICK_MS_NOTE = "4 ms timer, lateness per tick, offscreen platform"
