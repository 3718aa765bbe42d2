"""Building and running the hub: embedded in the workstation, or standalone for a clinic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiohttp import web

from workstation.core.payment import PaymentProcessor, RecordingProcessor
from workstation.core.prescribing import PrescriptionRecord
from workstation.core.site import SiteConfig
from workstation.hub import (
    chart_api,
    codes,
    openapi,
    pages,
    patient_api,
    pharmacy_network,
    prescription_api,
    primary_care,
    provider_api,
    sockets,
)
from workstation.hub.broker import Broker, FanoutBroker
from workstation.hub.chart_service import ChartService
from workstation.hub.errors import json_errors
from workstation.hub.guard import GUARD, ClientLimits, ConnectionGuard
from workstation.hub.patient_api import PATIENTS, SERVICE
from workstation.hub.patient_desk import PatientDesk
from workstation.hub.prescription_service import Outbox, PrescriptionService
from workstation.hub.provider_accounts import Clock, utc_now
from workstation.hub.visit_service import VisitService
from workstation.resource_files import Resources
from workstation.storage.notify import event_channel_for
from workstation.storage.prescriptions import PrescriptionStore
from workstation.storage.store import VisitStore

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
EXPIRY_INTERVAL = 60.0


class RunningOutbox(Outbox, Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


# Builds the e-prescribing sender (``workstation.erx``) for this hub: given the outbox's store,
# the gateway URL (asked at each send), what to call when a script's status changes and the
# headers each post carries (the simulator's key).
OutboxFactory = Callable[
    [PrescriptionStore, Callable[[], str], Callable[[PrescriptionRecord], Awaitable[None]],
     Callable[[], dict[str, str]]],
    RunningOutbox]


async def _openapi(_request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


def create_app(
    store: VisitStore, config: SiteConfig, resources: Resources, *, embedded: bool = False,
    clock: Clock = utc_now, processor: PaymentProcessor | None = None,
    provider_test_page: bool = False, outbox: OutboxFactory | None = None,
    limits: ClientLimits | None = None, demo: bool = False,
) -> web.Application:
    """The hub's application. Without ``outbox`` scripts are queued but nothing sends them
    (tests of other parts); the workstation and ``workstation hub`` pass the erx sender."""
    guard = ConnectionGuard(limits or ClientLimits())
    app = web.Application(client_max_size=MAX_BODY,
                          middlewares=[pages.security_headers, json_errors, guard.middleware])
    app[GUARD] = guard
    app[pages.PAGE_POLICY] = pages.content_security_policy(config)
    app[pages.DEMO] = demo
    channel = event_channel_for(store)
    broker = FanoutBroker(channel) if channel is not None else Broker()
    service = VisitService(store, config, resources, broker,
                           processor or RecordingProcessor(), clock=clock, embedded=embedded,
                           demo=demo)
    app[SERVICE] = service
    app[PATIENTS] = PatientDesk(service)
    documents = primary_care.PrimaryCareService(
        service, simulator=embedded or config.erx_simulator)
    app[primary_care.PRIMARY_CARE] = documents
    app[chart_api.CHARTS] = ChartService(service, primary_care=documents)
    prescriptions = PrescriptionService(service, simulator=embedded or config.erx_simulator)
    app[prescription_api.PRESCRIPTIONS] = prescriptions
    app.router.add_routes(patient_api.routes)
    app.router.add_routes(provider_api.routes)
    app.router.add_routes(chart_api.routes)
    app.router.add_routes(prescription_api.routes)
    app.router.add_routes(pharmacy_network.routes)
    app.router.add_routes(primary_care.routes)
    app.router.add_routes(sockets.routes)
    app.router.add_routes(pages.routes)
    app.router.add_get("/api/openapi.json", _openapi, name="openapi")
    if provider_test_page:
        app.router.add_get("/provider-test", pages.provider_test_page, name="provider_test")
    app.router.add_static("/static/", pages.WEB / "static", name="static")
    app.cleanup_ctx.append(_broker)
    app.cleanup_ctx.append(_expiry_loop)
    app.cleanup_ctx.append(_warm_diagnosis_codes)
    if outbox is not None:
        app.cleanup_ctx.append(_outbox_context(outbox))
    app.cleanup_ctx.append(_document_sender)
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_close_prescriptions)
    return app


async def _close_prescriptions(app: web.Application) -> None:
    await app[prescription_api.PRESCRIPTIONS].close()


def _outbox_context(factory: OutboxFactory):  # type: ignore[no-untyped-def]
    async def context(app: web.Application):  # type: ignore[no-untyped-def]
        prescriptions = app[prescription_api.PRESCRIPTIONS]
        sender = factory(prescriptions.store, prescriptions.gateway_url, prescriptions.changed,
                         prescriptions.gateway_headers)
        prescriptions.outbox = sender
        await sender.start()
        yield
        await sender.stop()
    return context


async def _document_sender(app: web.Application):  # type: ignore[no-untyped-def]
    """Summaries for patients' own doctors go out in the background."""
    from workstation.hub.document_sender import DocumentSender

    documents = app[primary_care.PRIMARY_CARE]
    sender = DocumentSender(documents.store, documents.endpoint, headers=documents.headers)
    documents.sender = sender
    await sender.start()
    yield
    documents.sender = None
    await sender.stop()


async def _broker(app: web.Application):  # type: ignore[no-untyped-def]
    broker = app[SERVICE].broker
    await broker.start()  # with several hub processes: listening before the first request
    yield
    await broker.stop()


async def _warm_diagnosis_codes(_app: web.Application):  # type: ignore[no-untyped-def]
    # Load the ICD-10-CM list in the background so the first search does not wait on it.
    task = asyncio.get_running_loop().run_in_executor(None, codes.load_codes)
    yield
    with contextlib.suppress(Exception):
        await task


async def _expiry_loop(app: web.Application):  # type: ignore[no-untyped-def]
    service, desk = app[SERVICE], app[PATIENTS]

    async def run() -> None:
        while True:
            try:
                await service.expire_stale()
            except Exception:
                log.exception("Expiring stale visits failed; will try again")
            try:
                await desk.settle_payments()
            except Exception:
                log.exception("Settling payments failed; will try again")
            await asyncio.sleep(EXPIRY_INTERVAL)

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_sockets(app: web.Application) -> None:
    await app[SERVICE].broker.close_all()


@dataclass
class RunningHub:
    url: str
    runner: web.AppRunner
    app: web.Application

    @property
    def service(self) -> VisitService:
        return self.app[SERVICE]

    async def close(self) -> None:
        await self.runner.cleanup()


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    mode = key.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        log.warning("The TLS key %s can be read by other accounts (mode %03o): anyone who can "
                    "read it can pose as this hub. Run: chmod 600 %s", key, mode & 0o777, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def start_hub(
    store: VisitStore, config: SiteConfig, resources: Resources, *, host: str = "127.0.0.1",
    port: int = 0, embedded: bool = False, ssl_context: ssl.SSLContext | None = None,
    clock: Clock = utc_now, processor: PaymentProcessor | None = None,
    provider_test_page: bool = False, outbox: OutboxFactory | None = None,
    limits: ClientLimits | None = None, demo: bool = False,
) -> RunningHub:
    """Start serving; ``port=0`` picks a free port. Call inside the running event loop."""
    app = create_app(store, config, resources, embedded=embedded, clock=clock,
                     processor=processor, provider_test_page=provider_test_page,
                     outbox=outbox, limits=limits, demo=demo)
    guard = app[GUARD]
    # No access log: its lines would carry visit tokens. The keep-alive timer also runs from
    # the moment a connection is made: it is the time a request head has to arrive.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0,
                           keepalive_timeout=guard.limits.head_seconds,
                           lingering_time=guard.limits.linger_seconds)
    await runner.setup()
    assert runner.server is not None
    guard.install(runner.server)
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    scheme = "https" if ssl_context else "http"
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"{scheme}://{shown_host}:{bound_port}"
    app[prescription_api.PRESCRIPTIONS].self_url = lambda: url  # the simulator's address
    app[primary_care.PRIMARY_CARE].self_url = lambda: url
    return RunningHub(url, runner, app)
