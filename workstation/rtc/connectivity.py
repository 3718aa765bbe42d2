"""Can calls get through from here? The hub's answer time, and what the site's STUN/TURN
servers give (a public address through STUN, a relay through TURN), for the device check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection

from workstation.rtc.call import ice_configuration

GATHER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class IceCheck:
    server: str
    ok: bool
    message: str


def _urls(server: Mapping[str, Any]) -> list[str]:
    urls = server.get("urls", [])
    return [urls] if isinstance(urls, str) else [str(u) for u in urls]


async def check_ice_servers(servers: Sequence[Mapping[str, Any]]) -> list[IceCheck]:
    """One line per configured server: reachable (and what it gave) or not."""
    if not servers:
        return [IceCheck("", True, "No STUN or TURN server is set for this site: video "
                                   "calls work on this network only (no NAT traversal).")]
    checks = []
    for server in servers:
        for url in _urls(server):
            one = {**server, "urls": [url]}
            kind = "relay" if url.startswith(("turn:", "turns:")) else "srflx"
            started = time.monotonic()
            found = await _gather(one, kind)
            took = (time.monotonic() - started) * 1000
            what = "a relay" if kind == "relay" else "this network's public address"
            checks.append(IceCheck(url, found, f"{url}: gave {what} in {took:.0f} ms" if found
                                   else f"{url}: no answer ({what} not obtained). Check the "
                                        "address, the credentials and the firewall."))
    return checks


async def _gather(server: Mapping[str, Any], kind: str) -> bool:
    pc = RTCPeerConnection(ice_configuration([server]))
    try:
        pc.createDataChannel("check")
        await asyncio.wait_for(pc.setLocalDescription(await pc.createOffer()),
                               GATHER_TIMEOUT_S)
        return f"typ {kind}" in pc.localDescription.sdp
    except TimeoutError:
        return False
    finally:
        await pc.close()
