"""The provider's client of the visit hub: sign-in, the queue, claims and the live event stream.

Runs on the asyncio thread. Every failure a person could see becomes a :class:`HubError`
carrying the hub's own message ("Another provider has already claimed this patient.").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from workstation.client.hub_answers import (
    Claim,
    HubError,
    PracticeSettings,
    ProviderSession,
    SetupStatus,
    claim_from,
    error_from,
    json_or_none,
    practice_from,
    practice_json,
    provider_from,
)
from workstation.client.hub_events import (
    ConnectionChanged,
    HubEvent,
    MalformedEvent,
    Signal,
    parse_entry,
    parse_event,
)
from workstation.core.people import Provider
from workstation.core.practice import Practice
from workstation.core.queue import QueueEntry

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 15.0
HEARTBEAT = 20.0
# Close codes of the provider socket (see workstation/hub/sockets.py).
NOT_SIGNED_IN = 4401

SESSION_ENDED = "Your session has ended. Sign in again."


def default_backoff(attempt: int) -> float:
    """Seconds to wait before reconnect number ``attempt`` (0-based): 0.5, 1, 2, ... up to 15,
    with jitter so many workstations do not all come back in the same instant."""
    base: float = min(15.0, 0.5 * 2 ** min(attempt, 10))
    return base * random.uniform(0.8, 1.2)


class HubClient:
    """Talks to one hub for one provider at a time.

    Create it anywhere; use it only on the asyncio thread (its HTTP session is made on first
    use, inside the running loop). ``ssl`` is passed to aiohttp as is: ``None`` verifies
    certificates the default way, an ``ssl.SSLContext`` trusts a clinic's own CA.
    """

    def __init__(
        self, base_url: str, *, ssl: ssl_module.SSLContext | None = None,
        reconnect_delay: Callable[[int], float] = default_backoff,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._ssl: ssl_module.SSLContext | bool = ssl if ssl is not None else True
        self._reconnect_delay = reconnect_delay
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._http: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._refresh_token: str | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        # A visit's call takes that visit's signaling messages (see add_signal_handler).
        self._signal_handlers: dict[str, Callable[[Mapping[str, Any]], Awaitable[None]]] = {}
        self._last_signal: asyncio.Task[None] | None = None

    # -- lifetime -------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    async def close(self) -> None:
        """Close the HTTP session; an open event stream ends. The client is then unusable."""
        self._closed = True
        if self._socket is not None:
            await self._socket.close()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HubError(0, "closed", "The workstation is shutting down.")
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http

    # -- first run and sign-in ------------------------------------------------------------

    async def setup_status(self) -> SetupStatus:
        body = await self._request("GET", "/api/setup", auth=False)
        practice = body.get("practice")
        return SetupStatus(bool(body["needs_first_provider"]),
                           practice_from(practice) if isinstance(practice, Mapping) else None)

    async def create_first_provider(self, username: str, display_name: str, password: str,
                                    service_lines: Sequence[str], *, npi: str = "",
                                    practice: Practice | None = None) -> Provider:
        """The embedded hub's first account; the hub wants the NPI and the practice too (it
        names what is missing)."""
        payload: dict[str, Any] = {
            "username": username, "display_name": display_name, "password": password,
            "service_lines": list(service_lines)}
        if npi:
            payload["npi"] = npi
        if practice is not None:
            payload["practice"] = practice_json(practice)
        body = await self._request("POST", "/api/setup/first-provider", auth=False,
                                   json_body=payload)
        return provider_from(body["provider"])

    # -- the practice (Settings > Practice) -------------------------------------------------

    async def practice_settings(self) -> PracticeSettings:
        """The practice details and this provider's NPI; HubError(403) for anyone but the
        embedded hub's first provider."""
        body = await self._request("GET", "/api/practice")
        return PracticeSettings(str(body.get("npi") or ""), practice_from(body))

    async def save_practice_settings(self, npi: str, practice: Practice) -> PracticeSettings:
        body = await self._request("PUT", "/api/practice",
                                   json_body={**practice_json(practice), "npi": npi})
        return PracticeSettings(str(body.get("npi") or ""), practice_from(body))

    async def sign_in(self, username: str, password: str, *, remember: bool = False,
                      code: str | None = None) -> ProviderSession:
        """``code``: the second factor, when the hub asked for one (HubError
        ``code_required``)."""
        json_body: dict[str, Any] = {"username": username, "password": password,
                                     "remember": remember}
        if code:
            json_body["code"] = code
        body = await self._request("POST", "/api/auth/sign-in", auth=False,
                                   json_body=json_body)
        return self._signed_in(body)

    async def refresh(self, refresh_token: str) -> ProviderSession:
        """Sign in with a remembered token; the answer carries the next one to remember."""
        body = await self._request("POST", "/api/auth/refresh", auth=False,
                                   json_body={"refresh_token": refresh_token})
        return self._signed_in(body)

    def adopt_session(self, body: Mapping[str, Any]) -> ProviderSession:
        """Use a session the hub issued to another part of the workstation (the quick start's
        remembered sign-in): ``body`` is the hub's sign-in answer."""
        return self._signed_in(body)

    def _signed_in(self, body: Mapping[str, Any]) -> ProviderSession:
        refresh = body.get("refresh_token")
        session = ProviderSession(token=str(body["token"]),
                                  expires_at=datetime.fromisoformat(body["expires_at"]),
                                  provider=provider_from(body["provider"]),
                                  refresh_token=str(refresh) if refresh else None)
        self._token = session.token
        self._refresh_token = session.refresh_token
        return session

    async def sign_out(self) -> None:
        """Forget the token and revoke it on the hub. Signing out locally always succeeds;
        a hub that cannot be told is logged, and its token expires on its own."""
        if self._token is None:
            return
        token, self._token = self._token, None
        refresh, self._refresh_token = self._refresh_token, None
        if self._socket is not None:
            await self._socket.close()
        try:
            await self._request("POST", "/api/auth/sign-out", token=token,
                                json_body={"refresh_token": refresh} if refresh else None)
        except HubError as exc:
            log.warning("Could not revoke the session on the hub: %s (%s)", exc.code, exc.status)

    # -- queue and claims -----------------------------------------------------------------

    async def verify_password(self, password: str) -> None:
        """Unlock: raises HubError(401) when the password is not the signed-in provider's."""
        await self._request("POST", "/api/auth/verify", json_body={"password": password})

    async def queue(self) -> list[QueueEntry]:
        body = await self._request("GET", "/api/queue")
        return [parse_entry(e) for e in body["entries"]]

    async def claim(self, visit_id: str) -> Claim:
        body = await self._request("POST", f"/api/visits/{_segment(visit_id)}/claim")
        return claim_from(body)

    async def claim_next(self, service_line: str | None = None, *,
                         e_visit: bool = False) -> Claim:
        payload: dict[str, Any] = {"service_line": service_line} if service_line else {}
        if e_visit:
            payload["e_visit"] = True
        body = await self._request("POST", "/api/queue/claim-next", json_body=payload)
        return claim_from(body)

    async def release(self, visit_id: str) -> None:
        await self._request("POST", f"/api/visits/{_segment(visit_id)}/release")

    async def schedule(self, day: date | None = None) -> list[dict[str, Any]]:
        """Today's (or ``day``'s) appointments of the provider's service lines."""
        path = "/api/schedule" + (f"?date={day.isoformat()}" if day else "")
        body = await self._request("GET", path)
        return list(body["appointments"])

    async def open_visits(self) -> list[dict[str, Any]]:
        """This provider's claimed visits whose note is not signed yet."""
        body = await self._request("GET", "/api/my-visits")
        return list(body["visits"])

    # -- the chart --------------------------------------------------------------------------

    async def open_chart(self, visit_id: str) -> dict[str, Any]:
        """Everything the chart shows (the hub audits the opening)."""
        body: dict[str, Any] = await self._request(
            "GET", f"/api/visits/{_segment(visit_id)}/chart")
        return body

    async def save_draft(self, visit_id: str, pane: str, body: Mapping[str, Any],
                         ) -> dict[str, Any]:
        saved: dict[str, Any] = await self._request(
            "PUT", f"/api/visits/{_segment(visit_id)}/drafts/{quote(pane, safe='')}",
            json_body=dict(body))
        return saved

    async def sign(self, visit_id: str, panes: Mapping[str, Mapping[str, Any]],
                   ) -> dict[str, Any]:
        note: dict[str, Any] = await self._request(
            "POST", f"/api/visits/{_segment(visit_id)}/sign",
            json_body={k: dict(v) for k, v in panes.items()})
        return note

    async def add_addendum(self, visit_id: str, text: str) -> dict[str, Any]:
        addendum: dict[str, Any] = await self._request(
            "POST", f"/api/visits/{_segment(visit_id)}/addenda", json_body={"text": text})
        return addendum

    async def export_fhir(self, visit_id: str) -> str:
        text: str = await self._request("GET", f"/api/visits/{_segment(visit_id)}/fhir",
                                        as_text=True)
        return text

    async def prescriptions(self, visit_id: str) -> list[dict[str, Any]]:
        body = await self._request("GET", f"/api/visits/{_segment(visit_id)}/prescriptions")
        return list(body["prescriptions"])

    async def check_prescription(self, visit_id: str, script: Mapping[str, Any],
                                 ) -> dict[str, Any]:
        """Findings and missing fields for a script, without sending it."""
        return dict(await self._request(
            "POST", f"/api/visits/{_segment(visit_id)}/prescriptions/check",
            json_body=dict(script)))

    async def prescribe(self, visit_id: str, script: Mapping[str, Any]) -> dict[str, Any]:
        """Queue a script for the pharmacy; a repeat of its message_id returns the first."""
        return dict(await self._request(
            "POST", f"/api/visits/{_segment(visit_id)}/prescriptions", json_body=dict(script)))

    async def cancel_prescription(self, prescription_id: str, reason: str) -> dict[str, Any]:
        return dict(await self._request(
            "POST", f"/api/prescriptions/{_segment(prescription_id)}/cancel",
            json_body={"reason": reason}))

    async def search_pharmacies(self, query: str) -> list[dict[str, Any]]:
        body = await self._request("GET", f"/api/pharmacies?q={quote(query[:100])}",
                                   auth=False)
        return list(body["pharmacies"])

    async def search_diagnoses(self, query: str, condition: str | None = None,
                               ) -> list[dict[str, Any]]:
        params = {"q": query, **({"condition": condition} if condition else {})}
        body = await self._request("GET", "/api/icd10?" + urlencode(params))
        return list(body["codes"])

    # -- the provider socket --------------------------------------------------------------

    async def events(self, service_lines: Sequence[str] | None = None,
                     ) -> AsyncIterator[HubEvent]:
        """Queue events for this provider, for as long as the provider stays signed in.

        Yields ``ConnectionChanged(True)`` once the queue snapshot arrives, and
        ``ConnectionChanged(False)`` when the socket drops (or the first connection fails);
        then reconnects with backoff, and a fresh snapshot follows the next
        ``ConnectionChanged(True)``. Ends when the provider signs out or the client closes.
        Raises HubError(401) when the hub no longer accepts the session.
        """
        connected: bool | None = None
        attempt = 0
        while not self._closed and self._token is not None:
            headers = {"Authorization": f"Bearer {self._token}"}
            try:
                async with self._session().ws_connect(
                        f"{self.base_url}/ws/provider", headers=headers, ssl=self._ssl,
                        heartbeat=HEARTBEAT) as ws:
                    self._socket = ws
                    if service_lines is not None:
                        await ws.send_json({"type": "subscribe",
                                            "service_lines": list(service_lines)})
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            break
                        event = _decode(msg.data)
                        if event is None or self._dispatch_signal(event):
                            continue
                        if not connected:
                            connected, attempt = True, 0
                            yield ConnectionChanged(True)
                        yield event
                    if ws.close_code == NOT_SIGNED_IN:
                        raise HubError(401, "unauthorized", SESSION_ENDED)
                    if ws.close_code not in (None, 1000, 1001, 1006):
                        log.warning("The hub closed the provider socket with code %s",
                                    ws.close_code)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401:
                    raise HubError(401, "unauthorized", SESSION_ENDED) from exc
                log.warning("The hub refused the provider socket: HTTP %s", exc.status)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("Provider socket dropped: %s", type(exc).__name__)
            finally:
                self._socket = None
            if self._closed or self._token is None:
                return
            if connected is not False:
                connected = False
                yield ConnectionChanged(False)
            await asyncio.sleep(self._reconnect_delay(attempt))
            attempt += 1

    def add_signal_handler(self, visit_id: str,
                           handler: Callable[[Mapping[str, Any]], Awaitable[None]]) -> None:
        """Signaling messages of ``visit_id`` go to ``handler`` (on this loop, in order of
        arrival) instead of out of ``events()``, for as long as the handler stays added."""
        self._signal_handlers[visit_id] = handler

    def remove_signal_handler(self, visit_id: str) -> None:
        self._signal_handlers.pop(visit_id, None)

    def _dispatch_signal(self, event: HubEvent) -> bool:
        if not isinstance(event, Signal) or event.visit_id not in self._signal_handlers:
            return False
        handler = self._signal_handlers[event.visit_id]
        previous = self._last_signal

        async def run() -> None:
            if previous is not None:  # one after the other: an answer never overtakes its offer
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await previous
            try:
                await handler(event.data)
            except Exception:
                log.exception("A call's signaling handler failed")

        self._last_signal = asyncio.create_task(run())
        return True

    async def save_chat(self, visit_id: str, message_id: str, sender: str, text: str,
                        sent_at: datetime) -> None:
        """Keep a line of the in-call chat with the visit (sending it twice keeps it once)."""
        await self._request("POST", f"/api/visits/{_segment(visit_id)}/chat", json_body={
            "id": message_id, "sender": sender, "text": text,
            "sent_at": sent_at.isoformat()})

    async def call_event(self, visit_id: str, event: str) -> str:
        """Record the call starting, dropping, coming back or ending; returns the visit state."""
        body = await self._request("POST", f"/api/visits/{_segment(visit_id)}/call",
                                   json_body={"event": event})
        return str(body["state"])

    async def send_signal(self, visit_id: str, data: Mapping[str, Any]) -> None:
        """Relay a signaling message to the patient of a visit this provider claimed."""
        ws = self._socket
        if ws is None or ws.closed:
            raise HubError(0, "unreachable", "Not connected to the hub; reconnecting.")
        await ws.send_json({"type": "signal", "visit_id": visit_id, "data": dict(data)})

    # -- plumbing -------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, auth: bool = True,
                       token: str | None = None, json_body: Any = None,
                       as_text: bool = False) -> Any:
        headers: dict[str, str] = {}
        if auth:
            token = token or self._token
            if token is None:
                raise HubError(401, "unauthorized", "Sign in first.")
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session().request(
                    method, f"{self.base_url}{path}", json=json_body, headers=headers,
                    ssl=self._ssl, timeout=self._timeout) as response:
                if as_text and response.status < 400:
                    return await response.text()
                body = await json_or_none(response)
                if response.status >= 400:
                    raise error_from(response.status, body)
                return body
        except TimeoutError as exc:
            raise HubError(0, "timeout", "The hub did not answer in time. Check the network "
                                         "connection and try again.") from exc
        except aiohttp.ClientError as exc:
            raise HubError(0, "unreachable", f"Cannot reach the hub at {self.base_url}. Check "
                                             "the network connection and try again.") from exc


def _decode(data: str) -> HubEvent | None:
    try:
        return parse_event(json.loads(data))
    except (json.JSONDecodeError, MalformedEvent) as exc:
        # The message itself is not logged: it may describe a patient.
        log.warning("Ignoring a message from the hub that does not follow the contract: %s",
                    type(exc).__name__)
        return None




def _segment(visit_id: str) -> str:
    """A visit id as one path segment (ids are UUIDs; this stops a stray '/' or '..')."""
    return quote(visit_id, safe="")
