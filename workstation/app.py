"""Composition root of the desktop app: settings in, services built, window shown.

The embedded hub and its database start inside the bridge's asyncio thread, so the window
appears at once and never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import keyring
import keyring.errors
from PySide6.QtWidgets import QApplication

from workstation.core.site import SiteConfig
from workstation.hub.server import RunningHub, start_hub
from workstation.resource_files import load_resources
from workstation.storage.database import default_sqlite_path, open_store
from workstation.ui.bridge import AsyncBridge
from workstation.ui.chart_presenter import ChartController, wire_chart
from workstation.ui.main_window import MainWindow
from workstation.ui.provider_session import ProviderController
from workstation.ui.queue_view import QueueView
from workstation.ui.session_lock import SessionLock

log = logging.getLogger(__name__)

USERNAME_SERVICE = "workstation-username"
DEMO_FILE_NAME = "demo.db"


def _remembered_username(hub_key: str) -> str | None:
    try:
        return keyring.get_password(USERNAME_SERVICE, hub_key)
    except keyring.errors.KeyringError:
        return None


def _remember_username(hub_key: str, username: str | None) -> None:
    try:
        if username:
            keyring.set_password(USERNAME_SERVICE, hub_key, username)
        else:
            keyring.delete_password(USERNAME_SERVICE, hub_key)
    except keyring.errors.KeyringError:
        log.info("No keyring: the username is not remembered")


async def _start_embedded(db_path: Path, config: SiteConfig, demo: bool) -> RunningHub:
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
    app.setApplicationDisplayName(f"{config.site_name}{' — DEMO' if demo else ''}")
    app.setDesktopFileName("workstation")
    bridge = AsyncBridge()
    window = MainWindow(queue_view=QueueView(promised_wait_minutes=config.promised_wait_minutes))
    controller = ProviderController(bridge, window, service_lines=config.service_lines)
    chart = ChartController(bridge, window.chart_view)
    wire_chart(chart, controller, window)
    SessionLock(bridge, window, controller, chart, lock_minutes=config.lock_minutes)
    hub_key = hub_url or ("embedded-demo" if demo else "embedded")

    def on_signed_in(session: object, remember: bool) -> None:
        username = getattr(getattr(session, "provider", None), "username", None)
        _remember_username(hub_key, username if remember else None)

    controller.signed_in.connect(on_signed_in)
    username = _remembered_username(hub_key)

    if hub_url:
        controller.start(hub_url, username=username)
    else:
        db_path = data_dir / DEMO_FILE_NAME if demo else default_sqlite_path(data_dir)
        controller.show_starting(
            "Starting the demo hub on this computer…" if demo
            else "Starting the hub on this computer…")

        def hub_started(hub: RunningHub) -> None:
            bridge.add_cleanup(lambda: asyncio.to_thread(hub.service.store.close))
            bridge.add_cleanup(hub.close)  # last added runs first: the hub, then the store
            log.info("Embedded hub at %s", hub.url)
            controller.start(hub.url, username=username)

        bridge.submit(_start_embedded(db_path, config, demo), hub_started,
                      lambda exc: controller.show_startup_error(str(exc)))
    window.show()
    try:
        return app.exec()
    finally:
        bridge.stop()
