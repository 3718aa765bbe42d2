"""WebSockets: queue push to providers, status push to patients, signaling between the two.

Close codes: 4400 a malformed or unknown message (not JSON, nested more than
``MAX_JSON_DEPTH`` deep, holding NUL), 4401 not signed in (also when the session
ends while the socket is open: at once on sign-out, within ``session_recheck_seconds`` when it
expires, is signed out on another hub, or the account is switched off), 4403 a message about a
visit or queue the sender does not belong to, 4404 an unknown or expired visit link.
Nothing is changed by a message that closes the socket. A provider's signal about their own
visit once it is over is answered with ``signal.dropped`` and the socket stays open.

A provider signs the socket in with ``Authorization: Bearer <token>``; a browser, which cannot
set that header on a WebSocket, offers the subprotocols ``workstation`` and
``workstation.bearer.<token>`` instead (the hub answers with ``workstation``). Either way the
token stays out of the URL, so out of any log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import WSMsgType, web

from workstation.core.visit import TERMINAL_STATES
from workstation.core.visit_link import looks_like_token, token_digest
from workstation.hub.auth import bearer_token
from workstation.hub.broker import ProviderSocket
from workstation.hub.errors import ApiError, UnreadableJson, load_json
from workstation.hub.patient_api import PATIENTS, SERVICE
from workstation.hub.visit_service import VisitService, entry_json

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_MESSAGE = 64 * 1024
HEARTBEAT = 20.0

BAD_MESSAGE = 4400
NOT_SIGNED_IN = 4401
NOT_YOURS = 4403
LINK_GONE = 4404


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Text no message may carry: NUL (PostgreSQL cannot compare or store it) and half of a
# surrogate pair (not text; it cannot be encoded to look a visit up).
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")


def _unusable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNUSABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unusable(k) or _unusable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unusable(v) for v in value)
    return False


def _parse(data: str) -> dict[str, Any]:
    try:
        message = load_json(data)  # nested at most MAX_JSON_DEPTH deep, so walked safely
    except UnreadableJson as exc:
        raise Refused(BAD_MESSAGE, "nested too deeply" if exc.code == "too_deep"
                      else "not JSON") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Refused(BAD_MESSAGE, "a message needs a type")
    if _unusable(message):
        raise Refused(BAD_MESSAGE, "NUL or a broken character in the message")
    return message


async def _messages(ws: web.WebSocketResponse):  # type: ignore[no-untyped-def]
    """Each text message as a dict with a type, answering pings on the way."""
    async for msg in ws:
        if msg.type is not WSMsgType.TEXT:
            raise Refused(BAD_MESSAGE, "text messages only")
        message = _parse(msg.data)
        if message["type"] == "ping":
            await ws.send_json({"type": "pong"})
            continue
        yield message


PROTOCOL = "workstation"
BEARER_PROTOCOL = "workstation.bearer."


def _socket_token(request: web.Request) -> str | None:
    token = bearer_token(request.headers.get("Authorization"))
    if token is not None:
        return token
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    for item in offered.split(","):
        item = item.strip()
        if item.startswith(BEARER_PROTOCOL) and len(item) > len(BEARER_PROTOCOL):
            return item[len(BEARER_PROTOCOL):]
    return None


def _signal_data(message: dict[str, Any]) -> dict[str, Any]:
    data = message.get("data")
    if not isinstance(data, dict):
        raise Refused(BAD_MESSAGE, "signal needs a data object")
    return data


async def _prepared(ws: web.WebSocketResponse, request: web.Request) -> bool:
    """Finish the handshake; False when the client went away during it (a workstation
    closing as it starts, a phone losing its signal): nothing to log as an error."""
    try:
        await ws.prepare(request)
    except ConnectionResetError:
        log.info("A client left during the WebSocket handshake")
        return False
    return True


async def _close(ws: web.WebSocketResponse, code: int, reason: str) -> None:
    await ws.close(code=code, message=reason.encode()[:120])


@routes.get("/ws/provider", name="ws_provider")
async def provider_socket(request: web.Request) -> web.WebSocketResponse:
    service: VisitService = request.app[SERVICE]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE,
                               protocols=(PROTOCOL,))
    try:
        provider = await service.authenticate(_socket_token(request))
    except ApiError:
        if await _prepared(ws, request):
            await _close(ws, NOT_SIGNED_IN, "sign in first")
        return ws
    if not await _prepared(ws, request):
        return ws
    token = _socket_token(request)
    assert token is not None  # authenticated above
    sock = ProviderSocket(ws, provider.id, set(provider.service_lines), token_digest(token))
    broker = service.broker
    # Register before the snapshot so no event can fall between the two.
    broker.add_provider(sock)
    # The session is checked again while the socket is open: signed out on another hub,
    # expired, or the account switched off, the socket closes (4401) instead of hearing on.
    watch = asyncio.get_running_loop().create_task(_watch_session(service, ws, token))
    try:
        entries = await service.queue(tuple(sock.service_lines))
        await ws.send_json({"type": "queue.snapshot", "entries": [entry_json(e) for e in entries]})
        async for message in _messages(ws):
            kind = message["type"]
            if kind == "subscribe":
                lines = message.get("service_lines")
                if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                    raise Refused(BAD_MESSAGE, "service_lines must be a list of codes")
                if not set(lines) <= set(provider.service_lines):
                    raise Refused(NOT_YOURS, "not one of your service lines")
                sock.service_lines = set(lines)
                entries = await service.queue(tuple(sock.service_lines))
                await ws.send_json({"type": "queue.snapshot",
                                    "entries": [entry_json(e) for e in entries]})
            elif kind == "signal":
                visit_id = message.get("visit_id")
                data = _signal_data(message)
                allowed = await service.may_signal(provider, visit_id) \
                    if isinstance(visit_id, str) else False
                if allowed is False:
                    raise Refused(NOT_YOURS, "not your visit")
                if allowed is None:  # the visit ended meanwhile (a late "bye"): dropped
                    await ws.send_json({"type": "signal.dropped", "visit_id": visit_id,
                                        "message": "This visit is over; no call is possible."})
                    continue
                assert isinstance(visit_id, str)
                await broker.to_patient(visit_id, {"type": "signal", "data": data})
            else:
                raise Refused(BAD_MESSAGE, f"unknown message type {kind[:40]!r}")
    except Refused as exc:
        await _close(ws, exc.code, exc.reason)
    except ConnectionError:  # gone while being answered (a pong, an event): nothing to log
        log.info("A provider's socket went away while being written to")
    finally:
        watch.cancel()
        broker.remove_provider(sock)
    return ws


async def _watch_session(service: VisitService, ws: web.WebSocketResponse, token: str) -> None:
    while not ws.closed:
        await asyncio.sleep(service.session_recheck_seconds)
        try:
            await service.authenticate(token)
        except ApiError:
            await _close(ws, NOT_SIGNED_IN, "session ended")
            return
        except Exception:  # the database is away for a moment: asked again next time
            log.warning("Could not check a provider socket's session; trying again")


async def close_session_sockets(service: VisitService, token: str) -> int:
    """Close this process's provider sockets of a session that just ended (sign-out); other
    processes' sockets close at their next check. Returns how many were closed."""
    sockets = service.broker.sockets_of_session(token_digest(token))
    for sock in sockets:
        await _close(sock.ws, NOT_SIGNED_IN, "signed out")
    return len(sockets)


@routes.get("/ws/patient/{token}", name="ws_patient")
async def patient_socket(request: web.Request) -> web.WebSocketResponse:
    service: VisitService = request.app[SERVICE]
    token = request.match_info["token"]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE)
    if not await _prepared(ws, request):
        return ws
    desk = request.app[PATIENTS]
    detail = await desk.store_detail(token) if looks_like_token(token) else None
    if detail is None:
        await _close(ws, LINK_GONE, "link expired")
        return ws
    visit_id = detail.visit.id
    service.broker.add_patient(visit_id, ws)
    try:
        await ws.send_json({"type": "status", **await desk.status(detail)})
        # The video page needs the site's STUN/TURN servers; sent even when there are none.
        await ws.send_json({"type": "rtc",
                            "ice_servers": [dict(s) for s in service.config.ice_servers]})
        async for message in _messages(ws):
            kind = message["type"]
            if kind == "signal":
                data = _signal_data(message)
                current = await desk.store_detail(token)
                if current is None:
                    raise Refused(LINK_GONE, "link expired")
                provider_id = current.visit.provider_id
                if current.visit.state in TERMINAL_STATES:  # a summary to read, no call
                    await ws.send_json({"type": "error", "message": "This visit is over."})
                    continue
                if provider_id is None:
                    await ws.send_json({"type": "error",
                                        "message": "No provider has joined this visit yet."})
                    continue
                await service.broker.to_provider(provider_id, {
                    "type": "signal", "visit_id": visit_id, "data": data})
            else:
                raise Refused(BAD_MESSAGE, f"unknown message type {kind[:40]!r}")
    except Refused as exc:
        await _close(ws, exc.code, exc.reason)
    except ConnectionError:  # gone while being answered (a pong, a status): nothing to log
        log.info("A patient's socket went away while being written to")
    finally:
        service.broker.remove_patient(visit_id, ws)
    return ws
