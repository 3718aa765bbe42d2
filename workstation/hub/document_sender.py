"""The sender of documents for other clinicians: a signed visit's summary (a FHIR document
Bundle) to the patient's primary care provider.

Each message is posted as ``application/fhir+json`` to the site's endpoint (``pcp_endpoint_url``;
on the embedded hub, its own receiving simulator), with its MessageID as ``Idempotency-Key`` and
as the Bundle's identifier, so a repeat after a crash is kept once. A 2xx answer delivers it; a
timeout, a dropped connection or a 5xx (or 429) keeps it queued with a backoff that doubles up
to a cap; any other 4xx is a refusal, kept with its reason and not tried again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from workstation.storage.documents import DELIVERED, FAILED, QUEUED, Document, DocumentStore
from workstation.storage.outbox import Clock, OutboxLoop, SenderSettings, backoff, utc_now

log = logging.getLogger(__name__)


class DocumentSender(OutboxLoop):
    name = "document outbox"

    def __init__(self, store: DocumentStore, endpoint: Callable[[], str], *,
                 settings: SenderSettings | None = None, clock: Clock = utc_now,
                 rng: random.Random | None = None,
                 headers: Callable[[], dict[str, str]] = dict) -> None:
        super().__init__(settings=settings, clock=clock, rng=rng)
        self._store = store
        self._endpoint = endpoint
        self._headers = headers

    def next_due(self) -> datetime | None:
        return self._store.next_due()

    async def send_due(self) -> int:
        if not self._endpoint():  # the hub is not listening yet, or there is nowhere to send
            return 0
        sent = 0
        while (document := await asyncio.to_thread(self._store.claim_one, self._clock(),
                                                    self.lease)) is not None:
            sent += 1
            await self._send(document)
        return sent

    async def _send(self, document: Document) -> None:
        assert self._http is not None, "start() first"
        try:
            async with self._http.post(
                    self._endpoint(), data=document.payload.encode("utf-8"),
                    headers={**self._headers(),
                             "Content-Type": "application/fhir+json; charset=utf-8",
                             "Idempotency-Key": document.message_id}) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = ("The receiver did not answer in time." if isinstance(exc, TimeoutError)
                      else "The receiver could not be reached.")
            await self._later(document, reason)
            return
        now = self._clock()
        if 200 <= status < 300:
            await asyncio.to_thread(self._store.finish, document, state=DELIVERED, error="",
                                    now=now)
        elif status >= 500 or status == 429:
            await self._later(document, f"The receiver answered HTTP {status}.")
        else:
            log.warning("A visit summary was refused by its receiver: HTTP %s", status)
            await asyncio.to_thread(self._store.finish, document, state=FAILED,
                                    error=f"Refused by the receiver (HTTP {status}).", now=now)

    async def _later(self, document: Document, reason: str) -> None:
        wait = backoff(document.attempts, self._settings, self._rng)
        now = self._clock()
        log.info("A visit summary was not delivered (attempt %d); next try in %.0f s",
                 document.attempts, wait)
        await asyncio.to_thread(self._store.finish, document, state=QUEUED,
                                error=f"{reason} Trying again automatically.", now=now,
                                retry_at=now + timedelta(seconds=wait))
