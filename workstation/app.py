"""Composition root of the desktop app: settings in, services built, window shown.

Start-up order, so the provider sees the queue as early as possible:

1. The window, with only what the sign-in and the work lists need (the chart is built on first
   use; asyncio, aiohttp, the databases and the media stack are not imported yet).
2. With a clinic hub and a remembered sign-in, :class:`QuickStart` signs in and fetches the
   queue through Qt's own network stack, and the queue paints.
3. Then the rest is composed (:func:`_compose`): the asyncio thread, the hub client and its
   live socket (whose snapshot replaces the first answer), the chart, the lock, the local draft
   copy. Without a remembered sign-in, or with the embedded hub (which starts inside the asyncio
   thread), step 3 comes at once.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication

from workstation.core.site import SiteConfig
from workstation.ui.shell.main_window import EVISIT_TITLE, MainWindow
from workstation.ui.widgets.first_paint import FirstPaint
from workstation.ui.widgets.heap import keep_loaded
from workstation.ui.widgets.theme import follow_system_scheme
from workstation.ui.worklists.queue_view import QueueView
from workstation.ui.worklists.schedule_view import ScheduleView

if TYPE_CHECKING:  # loaded after the first paint
    from workstation.client.hub_answers import ProviderSession
    from workstation.core.queue import QueueEntry
    from workstation.hub.server import RunningHub
    from workstation.storage.draft_cache import DraftCache
    from workstation.ui.chart.chart_presenter import ChartController
    from workstation.ui.session.practice_presenter import PracticeController
    from workstation.ui.shell.provider_session import ProviderController
    from workstation.ui.shell.session_lock import SessionLock
    from workstation.ui.widgets.bridge import AsyncBridge

log = logging.getLogger(__name__)

USERNAME_SERVICE = "workstation-username"
REFRESH_SERVICE = "workstation-refresh-token"  # "remember me": never a password
DEMO_FILE_NAME = "demo.db"
EMBEDDED_FILE_NAME = "workstation.db"
CACHE_DELAY_MS = 1500  # the local draft copy opens this long after sign-in
LIVE_FALLBACK_MS = 1000  # compose the rest even if the first paint never comes (minimized)


def _keyring_get(service: str, hub_key: str) -> str | None:
    import keyring
    import keyring.errors

    try:
        return keyring.get_password(service, hub_key)
    except keyring.errors.KeyringError:
        return None


def _keyring_put(service: str, hub_key: str, value: str | None) -> None:
    """Keep ``value`` in the OS keyring, or forget it (None). Without a keyring: nothing kept."""
    import keyring
    import keyring.errors

    try:
        if value:
            keyring.set_password(service, hub_key, value)
        elif keyring.get_password(service, hub_key) is not None:
            keyring.delete_password(service, hub_key)
    except keyring.errors.KeyringError:
        log.info("No keyring: nothing is remembered on this computer")


class _Answer(QObject):
    """Carries a result from a plain thread back to the GUI thread (queued signal)."""

    arrived = Signal(object)


def _in_thread(work: Callable[[], Any], done: Callable[[Any], None], parent: QObject) -> None:
    """Run ``work`` on a short-lived thread (keyring calls may wait on the desktop's secret
    service), then ``done(result)`` on the GUI thread."""
    answer = _Answer(parent)
    answer.arrived.connect(done)
    threading.Thread(target=lambda: answer.arrived.emit(work()), name="keyring",
                     daemon=True).start()


def _open_draft_cache(bridge: AsyncBridge, chart: ChartController, path: Path) -> None:
    """Open the local copy of unsaved drafts off the GUI thread; without a keyring, go on
    without it (the hub still keeps every draft it receives)."""
    import asyncio

    if chart.has_cache:
        return

    def opened(cache: DraftCache) -> None:
        keep_loaded()  # SQLAlchemy's modules, loaded for the cache, stay for the day
        chart.set_cache(cache)
        bridge.add_cleanup(lambda: asyncio.to_thread(cache.close))

    def failed(error: BaseException) -> None:
        log.warning("No local copy of drafts on this computer: %s", error)

    def open_cache() -> DraftCache:
        from workstation.storage.draft_cache import DraftCache

        return DraftCache(path)

    bridge.submit(asyncio.to_thread(open_cache), opened, failed)


async def _start_embedded(db_path: Path, config: SiteConfig, demo: bool) -> RunningHub:
    import asyncio

    from workstation.hub.server import start_hub
    from workstation.resource_files import load_resources
    from workstation.storage.database import open_store

    store = await asyncio.to_thread(open_store, f"sqlite:///{db_path}")
    try:
        if demo:
            from workstation.demo.seed import demo_site, seed

            config = demo_site(config)
            if await asyncio.to_thread(store.provider_count) == 0:
                await asyncio.to_thread(seed, store, config)
        from workstation.erx.sender import sender_factory
        from workstation.payments.choice import processor_for

        return await start_hub(store, config, await asyncio.to_thread(load_resources),
                               embedded=True, outbox=sender_factory(),
                               processor=processor_for(config, embedded=True))
    except BaseException:
        store.close()
        raise


@dataclass
class _Live:
    """What runs once the window is up: the asyncio thread and the controllers."""

    bridge: AsyncBridge
    controller: ProviderController


def _compose(window: MainWindow, config: SiteConfig, data_dir: Path, demo: bool,
             hub_key: str) -> _Live:
    """The asyncio thread, the provider and chart controllers, the lock and "remember me"."""
    import asyncio

    from workstation.ui.call.call_pane import CallPane
    from workstation.ui.call.call_presenter import CallController
    from workstation.ui.chart.chart_presenter import ChartController
    from workstation.ui.prescriptions.prescription_presenter import PrescriptionController
    from workstation.ui.session.practice_presenter import PracticeController
    from workstation.ui.shell.provider_session import ProviderController
    from workstation.ui.shell.session_lock import SessionLock
    from workstation.ui.shell.wiring import (
        wire_call,
        wire_call_to_window,
        wire_chart,
        wire_prescriptions,
    )
    from workstation.ui.widgets.bridge import AsyncBridge

    bridge = AsyncBridge()
    from workstation.ui.worklists.queue_alert import QueueAlert

    controller = ProviderController(
        bridge, window, service_lines=config.service_lines,
        alert=QueueAlert(window, during_calls=config.alert_during_calls))
    chart = ChartController(bridge, window.chart_view)
    wire_chart(chart, controller, window)
    wire_prescriptions(PrescriptionController(bridge, window.prescription_pane), chart,
                       controller)
    call_pane = CallPane()
    call_pane.hide()
    window.set_call_pane(call_pane)
    call = CallController(bridge, call_pane,
                          ice_servers=tuple(dict(s) for s in config.ice_servers),
                          default_devices=_default_devices(demo), check_first=True)
    window.device_check_action.triggered.connect(
        lambda: call.check_devices(hub_url=controller.hub_url))
    wire_call(call, chart, controller)
    QTimer.singleShot(0, call.prepare)
    # Quitting during a call hangs up for both sides and records the end; shutdown waits.
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(call.end)
    cache_path = data_dir / ("demo-drafts.db" if demo else "drafts.db")
    # Opened once the queue is up: start-up does not wait for it, and no chart is open yet.
    controller.signed_in.connect(lambda *_args: QTimer.singleShot(
        CACHE_DELAY_MS, lambda: _open_draft_cache(bridge, chart, cache_path)))
    lock = SessionLock(bridge, window, controller, chart, lock_minutes=config.lock_minutes)
    wire_call_to_window(call, controller, lock)
    _wire_practice(PracticeController(bridge, window, lambda: controller.client), window,
                   controller, lock)

    def remember(service: str, value: str | None) -> None:
        # Keyring calls may wait on the desktop's secret service: never on the GUI thread.
        bridge.submit(asyncio.to_thread(_keyring_put, service, hub_key, value))

    def on_signed_in(session: ProviderSession, remembered: bool) -> None:
        remember(USERNAME_SERVICE, session.provider.username if remembered else None)
        remember(REFRESH_SERVICE, session.refresh_token if remembered else None)

    controller.signed_in.connect(on_signed_in)
    controller.signed_out.connect(lambda: remember(REFRESH_SERVICE, None))
    controller.remembered_sign_in_failed.connect(lambda: remember(REFRESH_SERVICE, None))
    return _Live(bridge, controller)


def _wire_practice(practice: PracticeController, window: MainWindow,
                   controller: ProviderController, lock: SessionLock) -> None:
    """Settings > Practice: open for the provider who keeps the practice details (asked at
    each sign-in), closed unsaved when the workstation locks or the provider signs out."""
    window.practice_action.triggered.connect(practice.open)
    practice.access_changed.connect(window.set_practice_access)
    practice.saved.connect(window.show_message)
    controller.signed_in.connect(lambda *_args: practice.signed_in())
    controller.signed_out.connect(practice.signed_out)
    lock.locked.connect(practice.close_dialog)


def _default_devices(demo: bool) -> tuple[object, object, object] | None:
    """Demo mode (training, often on a PC without a camera) starts on the test pattern and
    tone; otherwise the first real device of each kind is chosen."""
    if not demo:
        return None
    from workstation.devices import SYNTHETIC

    return SYNTHETIC, SYNTHETIC, SYNTHETIC


LIVE_MODULES = (
    "asyncio", "aiohttp", "workstation.client.hub_client", "workstation.ui.widgets.bridge",
    "workstation.ui.shell.provider_session", "workstation.ui.chart.chart_view",
    "workstation.ui.chart.chart_presenter", "workstation.ui.call.call_pane",
    "workstation.ui.call.call_presenter", "workstation.ui.shell.session_lock",
    "workstation.ui.worklists.queue_alert", "workstation.ui.prescriptions.prescription_pane",
    "workstation.ui.prescriptions.prescription_presenter", "workstation.ui.shell.wiring",
    "workstation.ui.session.practice_presenter",
)


def _import_live_modules() -> None:
    """What composing needs, imported on a worker thread while the painted queue stays
    responsive (the GUI thread gets the interpreter every few milliseconds meanwhile)."""
    import importlib

    for name in LIVE_MODULES:
        importlib.import_module(name)


def _entries(queue: Mapping[str, Any] | None) -> list[QueueEntry] | None:
    """The queue of the quick start's answer; None when it is missing or malformed (the live
    socket's snapshot brings it a moment later)."""
    from workstation.client.hub_events import MalformedEvent, parse_entry

    if queue is None or not isinstance(queue.get("entries"), list):
        return None
    try:
        return [parse_entry(e) for e in queue["entries"]]
    except MalformedEvent:
        return None


# How long a thread may hold the interpreter while another waits for it (Python's default is
# 5 ms). The window's views call into Python for every cell they paint; while a worker thread
# imports or the call's media runs, each of those calls could wait the full interval, and a
# repaint of the queue stalled for 70-200 ms (traced). Half a millisecond keeps such stalls
# under 50 ms, and the call's audio goes out on time.
SWITCH_INTERVAL_S = 0.0005


def run(*, config: SiteConfig, data_dir: Path, hub_url: str | None, demo: bool) -> int:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("workstation")
    app.setOrganizationName("workstation")
    app.setApplicationDisplayName(f"{config.site_name}{' — DEMO' if demo else ''}")
    app.setDesktopFileName("workstation")
    follow_system_scheme(app)
    window = MainWindow(
        queue_view=QueueView(promised_wait_minutes=config.promised_wait_minutes),
        # E-Visits are late by their own promise, in hours.
        evisit_view=QueueView(title=QApplication.translate("MainWindow", EVISIT_TITLE),
                              promised_wait_minutes=config.e_visit_reply_hours * 60),
        schedule_view=ScheduleView(tz=config.zone,
                                   begin_window_minutes=config.begin_window_minutes))
    hub_key = hub_url or ("embedded-demo" if demo else "embedded")
    live: list[_Live] = []

    def go_live() -> _Live:
        if not live:
            live.append(_compose(window, config, data_dir, demo, hub_key))
            keep_loaded()
        return live[0]

    def remembered() -> tuple[str | None, str | None]:
        return (_keyring_get(USERNAME_SERVICE, hub_key), _keyring_get(REFRESH_SERVICE, hub_key))

    if hub_url:
        window.sign_in_view.show_connecting(f"Connecting to the hub at {hub_url}…")
        _start_clinic(window, hub_url, remembered, go_live)
    else:
        _start_embedded_hub(window, go_live(), data_dir, config, demo, remembered)
    settings = QSettings()
    window.restore_layout(settings)
    app.aboutToQuit.connect(lambda: window.save_layout(settings))
    window.show()
    try:
        return app.exec()
    finally:
        if live:
            live[0].bridge.stop()


def _start_clinic(window: MainWindow, hub_url: str,
                  remembered: Callable[[], tuple[str | None, str | None]],
                  go_live: Callable[[], _Live]) -> None:
    """A clinic hub: with a remembered sign-in, the quick start paints the queue first."""

    def found(values: tuple[str | None, str | None]) -> None:
        username, token = values
        if not token:
            go_live().controller.start(hub_url, username=username)
            return
        from workstation.ui.session.quick_start import QuickStart

        quick = QuickStart(hub_url, window)

        def ready(session: dict[str, Any], queue: dict[str, Any] | None) -> None:
            quick.deleteLater()
            entries = _entries(queue)
            provider = session.get("provider")
            name = provider.get("display_name") if isinstance(provider, dict) else None
            if entries is not None and isinstance(name, str):
                window.show_workspace(name)
                window.show_queue(entries)
                for view in (window.queue_view, window.evisit_view):
                    view.set_live(False)  # claims open once the controller takes over
                # The rest is composed once the queue has painted, after whatever else that
                # paint queued up (one more turn of the event loop).
                watch = FirstPaint(lambda _w: True, lambda: QTimer.singleShot(
                    0, lambda: adopt(session, entries)), window)
                window.queue_view.table.viewport().installEventFilter(watch)
                QTimer.singleShot(LIVE_FALLBACK_MS, lambda: adopt(session, entries))
            else:
                adopt(session, None)

        def adopt(session: dict[str, Any], entries: list[QueueEntry] | None) -> None:
            if live_done:
                return
            live_done.append(True)
            # The modules load off the GUI thread; composing them is quick after that.
            _in_thread(_import_live_modules, lambda _none: go_live().controller.adopt(
                hub_url, session, entries), window)

        def failed(why: str) -> None:
            quick.deleteLater()
            log.info("Quick start did not sign in (%s); starting the usual way", why)
            go_live().controller.start(hub_url, username=username, refresh_token=token)

        live_done: list[bool] = []
        quick.ready.connect(ready)
        quick.failed.connect(failed)
        quick.start(token)

    _in_thread(remembered, found, window)


def _start_embedded_hub(window: MainWindow, live: _Live, data_dir: Path, config: SiteConfig,
                        demo: bool, remembered: Callable[[], tuple[str | None, str | None]],
                        ) -> None:
    """The hub inside this process, started on the asyncio thread; then the usual sign-in."""
    import asyncio

    db_path = data_dir / (DEMO_FILE_NAME if demo else EMBEDDED_FILE_NAME)
    controller = live.controller
    controller.show_starting(
        "Starting the demo hub on this computer…" if demo
        else "Starting the hub on this computer…")

    async def start() -> tuple[RunningHub, tuple[str | None, str | None]]:
        hub = await _start_embedded(db_path, config, demo)
        return hub, await asyncio.to_thread(remembered)

    def hub_started(started: tuple[RunningHub, tuple[str | None, str | None]]) -> None:
        hub, (username, refresh_token) = started
        live.bridge.add_cleanup(lambda: asyncio.to_thread(hub.service.store.close))
        live.bridge.add_cleanup(hub.close)  # last added runs first: the hub, then the store
        log.info("Embedded hub at %s", hub.url)
        controller.start(hub.url, username=username, refresh_token=refresh_token)

    def failed(error: BaseException) -> None:
        from workstation.storage.keystore import DatabaseKeyUnavailable

        controller.show_startup_error(str(error), QApplication.translate(
            "App", "No keyring to keep the database key") if isinstance(
            error, DatabaseKeyUnavailable) else None)

    live.bridge.submit(start(), hub_started, failed)
