"""The background sender: posts each outbox message to the gateway until it is answered.

Every message is checked again just before it is posted (the same check as
``workstation erx validate``); a message that fails it is never sent. A timeout, a dropped
connection, an HTTP error, an answer that is not SCRIPT, or an error the network calls temporary
(600-602) leave the message in the outbox, due again after a backoff that doubles up to a cap;
an Error 900 keeps it there with the pharmacy's reason and stops. The MessageID goes with every
attempt, so the gateway recognises a repeat and the pharmacy gets the script once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp

from workstation.core import ncpdp
from workstation.core.ncpdp_check import check_message
from workstation.core.prescribing import PrescriptionRecord, RxStatus, status_after_answer
from workstation.storage.outbox import Clock, OutboxLoop, SenderSettings, backoff, utc_now
from workstation.storage.prescriptions import OutboxItem, PrescriptionStore

log = logging.getLogger(__name__)
Listener = Callable[[PrescriptionRecord], Awaitable[None]]
__all__ = ["OutboxSender", "SenderSettings", "backoff", "sender_factory"]


class OutboxSender(OutboxLoop):
    """Drains the e-prescribing outbox in the background. ``wake()`` after queueing a
    message."""

    name = "e-prescribing outbox"

    def __init__(self, store: PrescriptionStore, gateway_url: Callable[[], str], *,
                 listener: Listener | None = None, settings: SenderSettings | None = None,
                 clock: Clock = utc_now, rng: random.Random | None = None,
                 gateway_headers: Callable[[], dict[str, str]] = dict) -> None:
        super().__init__(settings=settings, clock=clock, rng=rng)
        self._store = store
        self._gateway_url = gateway_url
        self._gateway_headers = gateway_headers
        self._listener = listener

    def next_due(self) -> datetime | None:
        return self._store.next_due()

    async def send_due(self) -> int:
        """Post every message due now, claiming each just before it goes; returns how many
        were attempted."""
        lease = self.lease
        sent = 0
        while (item := await asyncio.to_thread(self._store.claim_one, self._clock(),
                                                lease)) is not None:
            sent += 1
            record = await self._send(item)
            if self._listener is not None:
                try:
                    await self._listener(record)
                except Exception:
                    log.exception("Telling the workstations about a script failed")
        return sent

    async def _send(self, item: OutboxItem) -> PrescriptionRecord:
        store, now = self._store, self._clock()
        problems = check_message(item.payload)
        if problems:
            reason = "Not sent: " + "; ".join(str(p) for p in problems)
            return await asyncio.to_thread(store.failed, item, _refused(item), reason, now)
        try:
            answer = await self._post(item)
        except (aiohttp.ClientError, TimeoutError, ncpdp.MessageError) as exc:
            return await self._later(item, _transport_reason(exc))
        now = self._clock()
        if answer.accepted or answer.kind == "CancelRxResponse":
            status, reason = status_after_answer(item.kind, answer)
            return await asyncio.to_thread(store.delivered, item, status, reason, now)
        reason = _answer_reason(answer)
        if answer.transient:
            return await self._later(item, reason)
        return await asyncio.to_thread(store.failed, item, _refused(item), reason, now)

    async def _post(self, item: OutboxItem) -> ncpdp.Answer:
        assert self._http is not None, "start() first"
        async with self._http.post(
                self._gateway_url(), data=item.payload.encode("utf-8"),
                headers={**self._gateway_headers(),
                         "Content-Type": "application/xml; charset=utf-8",
                         "Idempotency-Key": item.message_id}) as response:
            body = await response.read()
            if response.status >= 500:
                raise aiohttp.ClientResponseError(response.request_info, (),
                                                  status=response.status,
                                                  message=response.reason or "")
        answer = ncpdp.parse_answer(body)
        if answer.relates_to_message_id and answer.relates_to_message_id != item.message_id:
            raise ncpdp.MessageError("the answer is about another message")
        return answer

    async def _later(self, item: OutboxItem, reason: str) -> PrescriptionRecord:
        wait = backoff(item.attempts, self._settings, self._rng)
        now = self._clock()
        # Not the reason: a gateway's words may name the patient.
        log.info("A %s was not delivered (attempt %d); next try in %.0f s", item.kind,
                 item.attempts, wait)
        return await asyncio.to_thread(self._store.retry_later, item,
                                       f"{reason} Trying again automatically.",
                                       now + timedelta(seconds=wait), now)


def _refused(item: OutboxItem) -> RxStatus:
    return RxStatus.CANCEL_FAILED if item.kind == "CancelRx" else RxStatus.ERROR


def _answer_reason(answer: ncpdp.Answer) -> str:
    said = answer.description or "no reason given"
    return f"The pharmacy network answered error {answer.code}: {said}."


def _transport_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "The pharmacy network did not answer in time."
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"The pharmacy network answered HTTP {exc.status}."
    if isinstance(exc, ncpdp.MessageError):
        return f"The pharmacy network's answer could not be read ({exc})."
    return "The pharmacy network could not be reached."


def sender_factory(settings: SenderSettings | None = None,
                   ) -> Callable[[PrescriptionStore, Callable[[], str], Listener,
                                  Callable[[], dict[str, str]]], OutboxSender]:
    """What the hub is given to start its sender with (``start_hub(outbox=...)``)."""
    def make(store: PrescriptionStore, gateway_url: Callable[[], str], listener: Listener,
             gateway_headers: Callable[[], dict[str, str]]) -> OutboxSender:
        return OutboxSender(store, gateway_url, listener=listener, settings=settings,
                            gateway_headers=gateway_headers)
    return make
