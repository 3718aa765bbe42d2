"""Composition root of the desktop app: settings in, services built, window shown.

The embedded hub and its database start inside the bridge's asyncio thread, so the window
appears at once and never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from workstation.client.hub_client import ProviderSession
from workstation.core.site import SiteConfig
from workstation.ui.bridge import AsyncBridge
from workstation.ui.chart_presenter import ChartController, wire_chart
from workstation.ui.main_window import MainWindow
from workstation.ui.provider_session import ProviderController
from workstation.ui.queue_view import QueueView
from workstation.ui.schedule_view import ScheduleView
from workstation.ui.session_lock import SessionLock
from workstation.ui.theme import follow_system_scheme

if TYPE_CHECKING:  # the hub and the databases load in the asyncio thread, after the window
    from workstation.hub.server import RunningHub
    from workstation.storage.draft_cache import DraftCache

log = logging.getLogger(__name__)

USERNAME_SERVICE = "workstation-username"
REFRESH_SERVICE = "workstation-refresh-token"  # "remember me": never a password
DEMO_FILE_NAME = "demo.db"
EMBEDDED_FILE_NAME = "workstation.db"
CACHE_DELAY_MS = 1500  # as storage.database.DEFAULT_FILE_NAME


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


def _open_draft_cache(bridge: AsyncBridge, chart: ChartController, path: Path) -> None:
    """Open the local copy of unsaved drafts off the GUI thread; without a keyring, go on
    without it (the hub still keeps every draft it receives)."""
    if chart.has_cache:
        return

    def opened(cache: DraftCache) -> None:
        chart.set_cache(cache)
        bridge.add_cleanup(lambda: asyncio.to_thread(cache.close))

    def failed(error: BaseException) -> None:
        log.warning("No local copy of drafts on this computer: %s", error)

    def open_cache() -> DraftCache:
        from workstation.storage.draft_cache import DraftCache

        return DraftCache(path)

    bridge.submit(asyncio.to_thread(open_cache), opened, failed)


async def _start_embedded(db_path: Path, config: SiteConfig, demo: bool) -> RunningHub:
    from workstation.hub.server import start_hub
    from workstation.resource_files import load_resources
    from workstation.storage.database import open_store

    store = await asyncio.to_thread(open_store, f"sqlite:///{db_path}")
    try:
        if demo and await asyncio.to_thread(store.provider_count) == 0:
            from workstation.demo.seed import seed

            await asyncio.to_thread(seed, store, config)
        return await start_hub(store, config, await asyncio.to_thread(load_resources),
                               embedded=True)
    except BaseException:
        store.close()
        raise


def run(*, config: SiteConfig, data_dir: Path, hub_url: str | None, demo: bool) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("workstation")
    app.setOrganizationName("workstation")
    app.setApplicationDisplayName(f"{config.site_name}{' — DEMO' if demo else ''}")
    app.setDesktopFileName("workstation")
    follow_system_scheme(app)
    bridge = AsyncBridge()
    window = MainWindow(
        queue_view=QueueView(promised_wait_minutes=config.promised_wait_minutes),
        schedule_view=ScheduleView(tz=config.zone,
                                   begin_window_minutes=config.begin_window_minutes))
    controller = ProviderController(bridge, window, service_lines=config.service_lines)
    chart = ChartController(bridge, window.chart_view)
    wire_chart(chart, controller, window)
    cache_path = data_dir / ("demo-drafts.db" if demo else "drafts.db")
    # Opened once the queue is up: start-up does not wait for it, and no chart is open yet.
    controller.signed_in.connect(lambda *_args: QTimer.singleShot(
        CACHE_DELAY_MS, lambda: _open_draft_cache(bridge, chart, cache_path)))
    SessionLock(bridge, window, controller, chart, lock_minutes=config.lock_minutes)
    hub_key = hub_url or ("embedded-demo" if demo else "embedded")

    def remember(service: str, value: str | None) -> None:
        # Keyring calls may wait on the desktop's secret service: never on the GUI thread.
        bridge.submit(asyncio.to_thread(_keyring_put, service, hub_key, value))

    def on_signed_in(session: ProviderSession, remembered: bool) -> None:
        remember(USERNAME_SERVICE, session.provider.username if remembered else None)
        remember(REFRESH_SERVICE, session.refresh_token if remembered else None)

    controller.signed_in.connect(on_signed_in)
    controller.signed_out.connect(lambda: remember(REFRESH_SERVICE, None))
    controller.remembered_sign_in_failed.connect(lambda: remember(REFRESH_SERVICE, None))
    def remembered() -> tuple[str | None, str | None]:
        return (_keyring_get(USERNAME_SERVICE, hub_key), _keyring_get(REFRESH_SERVICE, hub_key))

    if hub_url:
        controller.show_starting(f"Connecting to the hub at {hub_url}…")
        # The keyring is read on the asyncio thread too: the window paints without waiting.
        bridge.submit(asyncio.to_thread(remembered), lambda found: controller.start(
            hub_url, username=found[0], refresh_token=found[1]))
    else:
        db_path = data_dir / (DEMO_FILE_NAME if demo else EMBEDDED_FILE_NAME)
        controller.show_starting(
            "Starting the demo hub on this computer…" if demo
            else "Starting the hub on this computer…")

        async def start() -> tuple[RunningHub, tuple[str | None, str | None]]:
            hub = await _start_embedded(db_path, config, demo)
            return hub, await asyncio.to_thread(remembered)

        def hub_started(started: tuple[RunningHub, tuple[str | None, str | None]]) -> None:
            hub, (username, refresh_token) = started
            bridge.add_cleanup(lambda: asyncio.to_thread(hub.service.store.close))
            bridge.add_cleanup(hub.close)  # last added runs first: the hub, then the store
            log.info("Embedded hub at %s", hub.url)
            controller.start(hub.url, username=username, refresh_token=refresh_token)

        bridge.submit(start(), hub_started,
                      lambda exc: controller.show_startup_error(str(exc)))
    settings = QSettings()
    window.restore_layout(settings)
    app.aboutToQuit.connect(lambda: window.save_layout(settings))
    window.show()
    try:
        return app.exec()
    finally:
        bridge.stop()
