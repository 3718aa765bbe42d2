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

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from workstation.core.site import SiteConfig
from workstation.settings import Settings
from workstation.ui.shell.main_window import EVISIT_TITLE, MainWindow
from workstation.ui.widgets.first_paint import FirstPaint
from workstation.ui.widgets.heap import keep_loaded
from workstation.ui.widgets.theme import follow_system_scheme
from workstation.ui.worklists.queue_view import QueueView
from workstation.ui.worklists.schedule_view import ScheduleView

if TYPE_CHECKING:  # loaded after the first paint
    from workstation.client.hub_answers import ProviderSession
    from workstation.core.queue import QueueEntry
    from workstation.demo.session import DemoSession
    from workstation.hub.server import RunningHub
    from workstation.storage.draft_cache import DraftCache
    from workstation.ui.call.call_presenter import CallController
    from workstation.ui.chart.chart_presenter import ChartController
    from workstation.ui.demo.demo_menu import DemoMenu
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


async def _start_embedded(db_path: Path, config: SiteConfig) -> RunningHub:
    import asyncio

    from workstation.hub.server import start_hub
    from workstation.resource_files import load_resources
    from workstation.storage.database import open_store

    store = await asyncio.to_thread(open_store, f"sqlite:///{db_path}")
    try:
        from workstation.erx.sender import sender_factory
        from workstation.payments.choice import processor_for

        return await start_hub(store, config, await asyncio.to_thread(load_resources),
                               embedded=True, outbox=sender_factory(),
                               processor=processor_for(config, embedded=True))
    except BaseException:
        store.close()
        raise


async def _start_demo(db_path: Path, config: SiteConfig, scenario_name: str,
                      on_event: Callable[[str, str], None],
                      ) -> tuple[DemoSession, list[tuple[Path, str]]]:
    """A fresh demo day of ``scenario_name`` (a shipped scenario or a file), and the shipped
    scenarios' titles for the Demo menu. A scenario with a mistake starts nothing."""
    import asyncio

    from workstation.demo import scenario as scenarios
    from workstation.demo.session import DemoSession
    from workstation.resource_files import load_resources

    resources = await asyncio.to_thread(load_resources)
    scenario = await asyncio.to_thread(scenarios.load, scenarios.find(scenario_name), resources)
    session = DemoSession(db_path, config, resources, scenario, on_event=on_event)
    await session.start()
    return session, await asyncio.to_thread(scenarios.titles)


@dataclass
class _Live:
    """What runs once the window is up: the asyncio thread and the controllers."""

    bridge: AsyncBridge
    controller: ProviderController
    call: CallController | None = None
    demo: DemoMenu | None = None


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
    # The demo starts on the test pattern and tone, no device check asked first.
    call = CallController(bridge, call_pane,
                          ice_servers=tuple(dict(s) for s in config.ice_servers),
                          default_devices=_default_devices(demo), check_first=not demo)
    window.device_check_action.triggered.connect(
        lambda: call.check_devices(hub_url=controller.hub_url))
    wire_call(call, chart, controller)
    QTimer.singleShot(0, call.prepare)
    # Quitting during a call hangs up for both sides and records the end; shutdown waits.
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(call.end)
    # Opened once the queue is up: start-up does not wait for it, and no chart is open yet.
    # The demo keeps no local copy (its day ends with the run, and it needs no keyring).
    if not demo:
        cache_path = data_dir / "drafts.db"
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
    return _Live(bridge, controller, call)


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


DEFAULT_SCENARIO = "clinic-morning"


def run(*, config: SiteConfig, data_dir: Path, hub_url: str | None, demo: bool,
        scenario: str | None = None, settings: Settings | None = None) -> int:
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("workstation")
    app.setOrganizationName("workstation")
    app.setApplicationDisplayName(f"{config.site_name}{' — DEMO' if demo else ''}")
    app.setDesktopFileName("workstation")
    _set_icon(app)
    follow_system_scheme(app)
    shown = show(config=config, data_dir=data_dir, hub_url=hub_url, demo=demo,
                 scenario=scenario, settings=settings)
    layout = QSettings()
    shown.window.restore_layout(layout)
    app.aboutToQuit.connect(lambda: shown.window.save_layout(layout))
    try:
        return app.exec()
    finally:
        shown.stop()


def _set_icon(app: QApplication) -> None:
    """The app's icon in the title bar and task switcher (the desktop entry names the same)."""
    from PySide6.QtGui import QIcon

    from workstation.resource_files import resources_dir

    try:
        app.setWindowIcon(QIcon(str(resources_dir() / "workstation.png")))
    except FileNotFoundError:
        log.warning("The app's icon was not found; the window shows the system's.")


@dataclass
class Shown:
    """The workstation on screen: its window, and what runs once it is live."""

    window: MainWindow
    live: list[_Live]

    def stop(self) -> None:
        if self.live:
            self.live[0].bridge.stop()


def show(*, config: SiteConfig, data_dir: Path, hub_url: str | None, demo: bool,
         scenario: str | None = None, settings: Settings | None = None) -> Shown:
    """Build the window and its services in a running QApplication, and show it; with
    ``demo``, the demo (every window marked, its own hub, the scenario playing)."""
    window = MainWindow(
        queue_view=QueueView(promised_wait_minutes=config.promised_wait_minutes),
        # E-Visits are late by their own promise, in hours.
        evisit_view=QueueView(title=QApplication.translate("MainWindow", EVISIT_TITLE),
                              promised_wait_minutes=config.e_visit_reply_hours * 60),
        schedule_view=ScheduleView(tz=config.zone,
                                   begin_window_minutes=config.begin_window_minutes))
    if demo:
        from workstation.ui.widgets.demo_mark import DemoMark

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        DemoMark(app, window)
    hub_key = hub_url or ("embedded-demo" if demo else "embedded")
    live: list[_Live] = []
    _wire_settings(window, settings or Settings.of(config))

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
    elif demo:
        _start_demo_hub(window, go_live(), data_dir, config, scenario or DEFAULT_SCENARIO)
    else:
        _start_embedded_hub(window, go_live(), data_dir, config, remembered)
    window.show()
    return Shown(window, live)


def _wire_settings(window: MainWindow, settings: Settings) -> None:
    """Settings > Workstation settings: what is in effect, the site's keys shown locked."""
    from workstation.settings import shown_settings, system_site_path, user_settings_path
    from workstation.ui.session.settings_dialog import SettingsDialog

    def open_dialog() -> None:
        dialog = SettingsDialog(shown_settings(settings), site_file=str(system_site_path()),
                                user_file=str(user_settings_path()), parent=window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.settings_dialog = dialog
        dialog.open()

    window.settings_action.triggered.connect(open_dialog)


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
                        remembered: Callable[[], tuple[str | None, str | None]],
                        ) -> None:
    """The hub inside this process, started on the asyncio thread; then the usual sign-in."""
    import asyncio

    db_path = data_dir / EMBEDDED_FILE_NAME
    controller = live.controller
    controller.show_starting("Starting the hub on this computer…")

    async def start() -> tuple[RunningHub, tuple[str | None, str | None]]:
        hub = await _start_embedded(db_path, config)
        return hub, await asyncio.to_thread(remembered)

    def hub_started(started: tuple[RunningHub, tuple[str | None, str | None]]) -> None:
        hub, (username, refresh_token) = started
        live.bridge.add_cleanup(lambda: asyncio.to_thread(hub.service.store.close))
        live.bridge.add_cleanup(hub.close)  # last added runs first: the hub, then the store
        log.info("Embedded hub at %s", hub.url)
        controller.start(hub.url, username=username, refresh_token=refresh_token)

    def failed(error: BaseException) -> None:
        from workstation.storage.keystore import DatabaseKeyUnavailable

        no_keyring = isinstance(error, DatabaseKeyUnavailable)
        controller.show_startup_error(str(error), QApplication.translate(
            "App", "No keyring to keep the database key") if no_keyring else None,
            offer_demo=no_keyring)

    window.sign_in_view.demo_requested.connect(restart_in_demo)
    live.bridge.submit(start(), hub_started, failed)


def restart_in_demo() -> None:
    """"Open the demo instead": this program again with ``--demo`` (the demo needs no
    keyring), and this window closes."""
    from PySide6.QtCore import QProcess

    command = list(getattr(sys, "orig_argv", sys.argv))
    program, arguments = command[0], [*command[1:], "--demo"]
    if not QProcess.startDetached(program, arguments):
        log.warning("The demo could not be started")
        return
    QApplication.quit()


def _start_demo_hub(window: MainWindow, live: _Live, data_dir: Path, config: SiteConfig,
                    scenario: str) -> None:
    """The demo: a fresh day on its own hub (no keyring, nothing remembered), the Demo menu,
    and the demo's account shown on the sign-in."""
    from workstation.core.demo import DEMO_PASSWORD, DEMO_USERNAME
    from workstation.ui.demo.demo_menu import DemoMenu

    controller = live.controller
    controller.show_starting("Starting the demo on this computer…")
    relay = _DemoEvents(window)
    relay.happened.connect(lambda name, what: window.show_message(f"{name}: {what}"))

    def started(result: tuple[DemoSession, list[tuple[Path, str]]]) -> None:
        session, titles = result
        live.bridge.add_cleanup(session.close)
        menu = DemoMenu(live.bridge, session, titles, window)
        live.demo = menu
        window.set_demo(menu.menu, menu.status_label)
        menu.happened.connect(lambda name, what: window.show_message(f"{name}: {what}"))

        def resetting() -> None:  # the old day's call and session end with it
            if live.call is not None:
                live.call.end()
            controller.sign_out(flush=False)
            controller.show_starting("Starting the demo over…")

        menu.resetting.connect(resetting)
        menu.reset_done.connect(lambda url: controller.start(url, username=DEMO_USERNAME))
        menu.failed.connect(lambda message: window.show_message(
            QApplication.translate("App", "The demo did not start over: %1")
            .replace("%1", message)))
        window.sign_in_view.set_demo_credentials(DEMO_USERNAME, DEMO_PASSWORD)
        assert session.hub is not None
        log.info("Demo hub at %s", session.hub.url)
        controller.start(session.hub.url, username=DEMO_USERNAME)

    def failed(error: BaseException) -> None:
        controller.show_startup_error(str(error), QApplication.translate(
            "App", "The demo could not start"))

    live.bridge.submit(_start_demo(data_dir / DEMO_FILE_NAME, config, scenario,
                                   relay.happened.emit), started, failed)


class _DemoEvents(QObject):
    """What happens in the demo (on the asyncio thread), handed to the window."""

    happened = Signal(str, str)
