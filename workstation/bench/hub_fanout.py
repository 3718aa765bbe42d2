"""Hub fan-out: check-in posted -> every provider socket has the new patient.

Providers and waiting patients connect from this process; the hub runs in a process of its
own. The baseline is a bare WebSocket echo round trip on the same loopback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import IO, Any

import aiohttp

from workstation.bench.hub_process import PASSWORD
from workstation.bench.stats import Figure
from workstation.core.eligibility import RED_FLAGS


@dataclass
class FanoutResult:
    latency: Figure
    checkins_per_second: Figure
    hub_rss_mb: Figure


def checkin_body(n: int) -> dict[str, Any]:
    return {
        "patient": {"given_name": f"Bench{n}", "family_name": "Patient",
                    "date_of_birth": "1980-01-01", "sex": "unknown", "phone": "512-555-0100",
                    "email": "", "address": {"line1": "1 Test St", "line2": "", "city": "Austin",
                                             "state": "TX", "postal_code": "78701"}},
        "condition": "cough", "mode": "video", "symptoms": "cough", "onset": "today",
        "allergies": "", "medications": "", "red_flags": {f.code: False for f in RED_FLAGS},
        "consent_telehealth": True, "callback_phone": "512-555-0100", "pharmacy_id": "4410011",
        "location_state": "TX",
        "payment": {"method": "card", "number": "4111111111111111", "expiry_month": 12,
                    "expiry_year": 2099, "holder": "Bench"},
    }


class ServerProcess:
    def __init__(self, *args: str, stderr: IO[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workstation.bench.hub_process", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("The benchmark server did not start.")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _echo_baseline(url: str, rounds: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/echo") as ws:
        payload = json.dumps({"type": "queue.added", "entry": {"visit_id": str(uuid.uuid4())}})
        for _ in range(rounds):
            start = time.perf_counter()
            await ws.send_str(payload)
            await ws.receive()
            samples.append((time.perf_counter() - start) * 1000)
    return samples


async def _fanout(url: str, providers: int, waiting: int, measured: int,
                  rate_per_s: float) -> tuple[list[float], float]:
    received: dict[str, list[float]] = defaultdict(list)
    sent_at: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets = []
        for i in range(providers):
            async with http.post(f"{url}/api/auth/sign-in",
                                 json={"username": f"bench{i}", "password": PASSWORD}) as r:
                token = (await r.json())["token"]
            ws = await http.ws_connect(f"{url}/ws/provider",
                                       headers={"Authorization": f"Bearer {token}"})
            await ws.receive()  # snapshot
            sockets.append(ws)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                now = time.perf_counter()
                data = json.loads(msg.data)
                if data["type"] == "queue.added":
                    received[data["entry"]["visit_id"]].append(now)

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        patient_sockets = []
        for n in range(waiting):
            async with http.post(f"{url}/api/checkins", json=checkin_body(n)) as r:
                token = (await r.json())["visit_token"]
            patient_sockets.append(await http.ws_connect(f"{url}/ws/patient/{token}"))
        await asyncio.sleep(1.0)  # let the set-up traffic drain

        for n in range(measured):
            start = time.perf_counter()
            async with http.post(f"{url}/api/checkins", json=checkin_body(10_000 + n)) as r:
                visit_id = (await r.json())["visit_id"]
            sent_at[visit_id] = start
            await asyncio.sleep(max(0.0, 1 / rate_per_s - (time.perf_counter() - start)))

        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(
                len(received[v]) < providers for v in sent_at):
            await asyncio.sleep(0.05)

        # Throughput: check-ins as fast as 8 concurrent patients can post them.
        count = 0

        async def post_many(k: int) -> None:
            nonlocal count
            for j in range(k):
                async with http.post(f"{url}/api/checkins",
                                     json=checkin_body(50_000 + j)) as r:
                    if r.status == 201:
                        count += 1

        start = time.perf_counter()
        await asyncio.gather(*(post_many(max(5, measured // 4)) for _ in range(8)))
        rate = count / (time.perf_counter() - start)

        for task in readers:
            task.cancel()
        for ws in sockets + patient_sockets:
            await ws.close()

    latencies = [(t - sent_at[v]) * 1000 for v in sent_at for t in received[v]]
    missing = providers * len(sent_at) - len(latencies)
    if missing:
        raise RuntimeError(f"{missing} queue events never reached a provider socket.")
    return latencies, rate


def measure(providers: int = 20, waiting: int = 200, measured: int = 100,
            rate_per_s: float = 10.0) -> FanoutResult:
    echo = ServerProcess("echo")
    hub = ServerProcess("hub", str(providers))
    try:
        baseline = asyncio.run(_echo_baseline(echo.url, 200))
        latencies, rate = asyncio.run(_fanout(hub.url, providers, waiting, measured,
                                              rate_per_s))
        rss = hub.rss_mb()
    finally:
        hub.stop()
        echo.stop()
    label = f"{waiting} waiting / {providers} providers"
    return FanoutResult(
        latency=Figure(f"hub push check-in->provider ({label})", "ms", latencies,
                       "bare WebSocket echo RTT", baseline, goal="p99 < 50 ms",
                       notes=f"{measured} check-ins at {rate_per_s}/s, each to {providers} "
                             "sockets"),
        checkins_per_second=Figure(f"hub check-ins per second ({label})", "/s", [rate]),
        hub_rss_mb=Figure(f"hub memory after load ({label})", "MB", [rss]),
    )
