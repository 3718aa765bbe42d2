"""Slow clients: how a hub under 1,000 half-sent requests answers everyone else.

The hub runs in a process of its own, logging as ``workstation hub`` does. An attacker holds
``attackers`` connections from 100 loopback addresses, each having sent a request line and one
header and nothing more, and opens a new one whenever the hub closes one. Meanwhile a patient's
browser (another address) asks for ``/api/site`` again and again; the baseline is the same
request with no attack, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from workstation.bench.hub_fanout import ServerProcess
from workstation.bench.stats import Figure
from workstation.hub.guard import raise_open_file_limit

ADDRESSES = 100


@dataclass
class SlowClientResult:
    latency: Figure
    log_bytes: Figure
    notes: str


async def _site_latencies(url: str, count: int) -> list[float]:
    samples = []
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(count):
            start = time.perf_counter()
            try:
                async with asyncio.timeout(30), http.get(f"{url}/api/site") as r:
                    await r.read()
                    ok = r.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            samples.append((time.perf_counter() - start) * 1000 if ok else 30_000.0)
            await asyncio.sleep(0.01)
    return samples


async def _hold_half_sent(url: str, source: str, stop: asyncio.Event,
                          opened: list[int]) -> None:
    target = URL(url)
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(
                target.host, target.port, local_addr=(source, 0))
        except OSError:
            await asyncio.sleep(0.1)
            continue
        opened[0] += 1
        try:
            writer.write(b"GET /api/site HTTP/1.1\r\nHost: hub\r\n")
            stop_wait = asyncio.ensure_future(stop.wait())
            closed = asyncio.ensure_future(reader.read())
            await asyncio.wait({stop_wait, closed}, return_when=asyncio.FIRST_COMPLETED)
            for task in (stop_wait, closed):
                task.cancel()
        except OSError:
            pass
        finally:
            writer.close()


async def _under_attack(url: str, attackers: int, requests: int) -> tuple[list[float], int]:
    stop = asyncio.Event()
    opened = [0]
    holders = [asyncio.create_task(_hold_half_sent(
        url, f"127.0.3.{1 + i % ADDRESSES}", stop, opened)) for i in range(attackers)]
    while opened[0] < attackers:  # every connection is in place before measuring
        await asyncio.sleep(0.05)
    samples = await _site_latencies(url, requests)
    stop.set()
    await asyncio.gather(*holders, return_exceptions=True)
    return samples, opened[0]


def measure(attackers: int = 1000, requests: int = 300) -> SlowClientResult:
    raise_open_file_limit()
    log_path = Path(tempfile.mkstemp(prefix="ws-bench-hub-", suffix=".log")[1])
    try:
        with log_path.open("w") as log_file:
            hub = ServerProcess("hub", "0", stderr=log_file)
            try:
                baseline = asyncio.run(_site_latencies(hub.url, requests))
                before = os.path.getsize(log_path)
                started = time.perf_counter()
                samples, opened = asyncio.run(_under_attack(hub.url, attackers, requests))
                seconds = time.perf_counter() - started
                logged = os.path.getsize(log_path) - before
            finally:
                hub.stop()
    finally:
        with contextlib.suppress(OSError):
            log_path.unlink()
    return SlowClientResult(
        latency=Figure(f"GET /api/site during {attackers} half-sent requests", "ms", samples,
                       "GET /api/site, no attack", baseline, goal="p99 < 100 ms",
                       notes=f"{attackers} held from {ADDRESSES} addresses, reopened when "
                             f"closed ({opened} opened in {seconds:.0f} s)",
                       compare="p95"),
        log_bytes=Figure(f"hub log written during {attackers} half-sent requests", "bytes",
                         [float(logged)], goal="bounded (rate-limited)"),
        notes=f"{opened} half-sent connections opened in {seconds:.0f} s",
    )
