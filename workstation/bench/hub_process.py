"""The hub (or a bare WebSocket echo server, the baseline) in a process of its own.

``python -m workstation.bench.hub_process hub PROVIDERS`` or ``... echo``; prints its URL on
the first line of stdout and runs until stdin closes. The hub serves the provider test page
(the browser-to-browser baseline of the call measurements).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

import keyring
from aiohttp import WSMsgType, web

from workstation.core.site import OpeningHours, SiteConfig
from workstation.storage.keystore import ProcessKeyring

PASSWORD = "bench password 1"


def always_open() -> SiteConfig:
    return SiteConfig(hours=OpeningHours({d: (time(0, 0), time.max) for d in range(7)}))


async def _wait_for_stdin_close() -> None:
    await asyncio.to_thread(sys.stdin.read)


async def run_hub(providers: int) -> None:
    from workstation.core.people import Provider
    from workstation.hub.auth import hash_password
    from workstation.hub.server import start_hub
    from workstation.resource_files import load_resources
    from workstation.storage.database import open_store
    from workstation.storage.store import new_id

    keyring.set_keyring(ProcessKeyring())
    folder = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    store = open_store(f"sqlite:///{folder / 'bench.db'}")
    password_hash = hash_password(PASSWORD)
    now = datetime.now(UTC)
    for i in range(providers):
        store.add_provider(Provider(new_id(), f"bench{i}", f"Dr. Bench {i}",
                                    ("urgent_care",)), password_hash, now)
    try:
        hub = await start_hub(store, always_open(), load_resources(), provider_test_page=True)
        print(hub.url, flush=True)
        await _wait_for_stdin_close()
        await hub.close()
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


async def run_echo() -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port}", flush=True)
    await _wait_for_stdin_close()
    await runner.cleanup()


if __name__ == "__main__":
    # As `workstation hub` logs: to stderr, floods cut to a burst and a count.
    from workstation.hub.guard import raise_open_file_limit
    from workstation.log_limits import limit_log_floods

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    limit_log_floods()
    raise_open_file_limit()
    if sys.argv[1] == "hub":
        asyncio.run(run_hub(int(sys.argv[2])))
    else:
        asyncio.run(run_echo())
