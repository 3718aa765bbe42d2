"""The clinic start with a remembered sign-in, against the real hub: the queue paints through
Qt's own network stack before the rest of the app is composed, which then adopts the session
and goes live; a spent token or an unreachable hub falls back to the usual start."""

from __future__ import annotations

from typing import Any

import aiohttp
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_provider_controller_hub import check_in
from workstation import app as workstation_app
from workstation.client.hub_answers import ProviderSession
from workstation.hub.server import RunningHub
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView


async def remembered_token(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
            f"{url}/api/auth/sign-in",
            json={"username": "house", "password": PASSWORD, "remember": True}) as r:
        return str((await r.json())["refresh_token"])


class Start:
    """The window and what app.py would compose, built by the test's bridge."""

    def __init__(self, qtbot: QtBot, bridge: AsyncBridge, clock: Clock, site: Any) -> None:
        self.window = MainWindow(queue_view=QueueView(clock=clock))
        qtbot.addWidget(self.window)
        self.bridge = bridge
        self.site = site
        self.controller: ProviderController | None = None
        self.painted_before_live: int | None = None
        self.sessions: list[tuple[ProviderSession, bool]] = []
        self.failed: list[bool] = []

    def go_live(self) -> workstation_app._Live:
        if self.controller is None:
            # What the queue showed before anything else was composed.
            self.painted_before_live = self.window.queue_view.model.rowCount()
            self.controller = ProviderController(
                self.bridge, self.window, service_lines=self.site.service_lines,
                alert=QueueAlert(self.window, sound=False))
            self.controller.signed_in.connect(lambda s, r: self.sessions.append((s, r)))
            self.controller.remembered_sign_in_failed.connect(lambda: self.failed.append(True))
        return workstation_app._Live(self.bridge, self.controller)


def test_the_remembered_queue_paints_first_then_goes_live(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    run(bridge, qtbot, running.service.add_provider("house", "Dr. House", PASSWORD,
                                                    ("urgent_care",)))
    token = run(bridge, qtbot, remembered_token(running.url))
    run(bridge, qtbot, check_in(running.url))
    start = Start(qtbot, bridge, clock, site)
    start.window.show()

    workstation_app._start_clinic(start.window, running.url, lambda: ("house", token),
                                  start.go_live)

    qtbot.waitUntil(lambda: start.controller is not None, timeout=10_000)
    assert start.painted_before_live == 1  # the patient was on screen before going live
    qtbot.waitUntil(lambda: bool(start.sessions), timeout=10_000)
    session, remembered = start.sessions[0]
    assert remembered and session.refresh_token not in (None, token)  # the rotated one, kept
    assert start.window.showing_workspace
    assert "Dr. House" in start.window.provider_label.text()

    # Live: a patient checking in now appears without any fetch.
    run(bridge, qtbot, check_in(running.url))
    qtbot.waitUntil(lambda: start.window.queue_view.model.rowCount() == 2, timeout=10_000)


def test_a_spent_token_falls_back_to_the_sign_in_form(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    run(bridge, qtbot, running.service.add_provider("house", "Dr. House", PASSWORD,
                                                    ("urgent_care",)))
    start = Start(qtbot, bridge, clock, site)
    start.window.show()

    workstation_app._start_clinic(start.window, running.url,
                                  lambda: ("house", "not-a-token-the-hub-issued"),
                                  start.go_live)

    qtbot.waitUntil(lambda: bool(start.failed), timeout=10_000)
    view = start.window.sign_in_view
    assert not start.window.showing_workspace and start.sessions == []
    assert "sign in again" in view.error_label.text()
    assert view.username_edit.text() == "house"


def test_an_unreachable_hub_says_so_on_the_sign_in_form(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    _running, clock = hub
    start = Start(qtbot, bridge, clock, site)
    start.window.show()

    workstation_app._start_clinic(start.window, "http://127.0.0.1:9", lambda: ("house", "t"),
                                  start.go_live)

    view = start.window.sign_in_view
    qtbot.waitUntil(lambda: view.error_label.text() != "", timeout=20_000)
    assert not start.window.showing_workspace
    assert "hub" in view.error_label.text().lower()
