""""Remember me" against the real hub: the next start signs in without a password, once per
token; a spent or expired token brings back the sign-in form and is forgotten."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from workstation.client.hub_answers import ProviderSession
from workstation.hub.server import RunningHub
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView


def new_window(qtbot: QtBot, bridge: AsyncBridge, clock: Clock, site,  # type: ignore[no-untyped-def]
               ) -> tuple[MainWindow, ProviderController, list[tuple[ProviderSession, bool]]]:
    window = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(window)
    controller = ProviderController(bridge, window, service_lines=site.service_lines,
                                    alert=QueueAlert(window, sound=False))
    sessions: list[tuple[ProviderSession, bool]] = []
    controller.signed_in.connect(lambda s, remember: sessions.append((s, remember)))
    window.show()
    return window, controller, sessions


def test_remembered_sign_in_opens_the_workspace_once_per_token(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    run(bridge, qtbot, running.service.add_provider("house", "Dr. House", PASSWORD,
                                                    ("urgent_care",)))
    window, controller, sessions = new_window(qtbot, bridge, clock, site)
    controller.start(running.url)
    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.username_edit.isEnabled() and view.username_edit.isVisible())
    view.username_edit.setText("house")
    view.remember_box.setChecked(True)
    qtbot.keyClicks(view.password_edit, PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(sessions), timeout=10_000)
    first, remembered = sessions[0]
    assert remembered and first.refresh_token

    # The next start: no password typed, straight to the workspace, with a new token.
    again, controller2, sessions2 = new_window(qtbot, bridge, clock, site)
    controller2.start(running.url, username="house", refresh_token=first.refresh_token)
    qtbot.waitUntil(lambda: again.showing_workspace, timeout=10_000)
    second, remembered2 = sessions2[0]
    assert remembered2 and second.refresh_token not in (None, first.refresh_token)

    # The first token is spent: a copy of it gets the sign-in form and is to be forgotten.
    third, controller3, sessions3 = new_window(qtbot, bridge, clock, site)
    failed: list[bool] = []
    controller3.remembered_sign_in_failed.connect(lambda: failed.append(True))
    controller3.start(running.url, username="house", refresh_token=first.refresh_token)
    qtbot.waitUntil(lambda: bool(failed), timeout=10_000)
    assert not third.showing_workspace and sessions3 == []
    assert "sign in again" in third.sign_in_view.error_label.text()
    assert third.sign_in_view.username_edit.text() == "house"
