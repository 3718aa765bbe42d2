"""The provider window against the real hub on a loopback port, run inside the bridge's loop
as the app runs it: first account, live queue, a won claim and a lost one."""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
import pyotp
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from workstation.core import second_factor
from workstation.core.site import SiteConfig
from workstation.hub.server import RunningHub
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView

T = TypeVar("T")


async def check_in(url: str, body: dict[str, Any] | None = None) -> str:
    async with aiohttp.ClientSession() as http, \
            http.post(f"{url}/api/checkins", json=body or checkin_body()) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["visit_id"])


async def claim_as_other_provider(hub: RunningHub, visit_id: str) -> None:
    await hub.service.add_provider("cuddy", "Dr. Cuddy", PASSWORD, ("urgent_care",))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/api/auth/sign-in",
                             json={"username": "cuddy", "password": PASSWORD}) as r:
            token = (await r.json())["token"]
        async with http.post(f"{hub.url}/api/visits/{visit_id}/claim",
                             headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200, await r.text()


def workstation(qtbot: QtBot, bridge: AsyncBridge, running: RunningHub, clock: Clock,
                site: SiteConfig) -> tuple[MainWindow, ProviderController]:
    """The provider window and its controller, started on the hub."""
    window = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(window)
    controller = ProviderController(bridge, window, service_lines=site.service_lines,
                                    alert=QueueAlert(window, sound=False))
    window.show()
    controller.start(running.url)
    return window, controller


def test_first_account_queue_and_claims_on_the_real_hub(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller = workstation(qtbot, bridge, running, clock, site)

    # A new embedded hub asks for its first account.
    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.heading.text() == "Set up the first account")
    view.display_name_edit.setText("Dr. Ada Okafor")
    view.new_username_edit.setText("ada")
    view.new_password_edit.setText(PASSWORD)
    view.confirm_password_edit.setText(PASSWORD)
    view._service_line_boxes[0][1].setChecked(True)
    view.npi_edit.setText("1234567893")
    practice = view.practice_fields
    practice.line1_edit.setText("500 Clinic Way")
    practice.city_edit.setText("Austin")
    practice.state_edit.setText("TX")
    practice.postal_code_edit.setText("78702")
    practice.phone_edit.setText("512-555-0100")
    qtbot.keyClick(view.confirm_password_edit, Qt.Key.Key_Return)

    queue = window.queue_view
    qtbot.waitUntil(lambda: queue.connection_label.text() == f"Connected to {running.url}",
                    timeout=10_000)
    assert window.provider_label.text() == "Signed in as Dr. Ada Okafor"
    assert queue.empty_label.text() == "No patients waiting"

    # Patients check in; the queue follows without polling.
    first = run(bridge, qtbot, check_in(running.url))
    qtbot.waitUntil(lambda: window.windowTitle() == "Workstation — 1 waiting")
    clock.advance(seconds=30)
    second = run(bridge, qtbot, check_in(running.url))
    qtbot.waitUntil(lambda: window.windowTitle() == "Workstation — 2 waiting")
    assert [e.visit_id for e in queue.entries()] == [first, second]
    assert queue.model.data(queue.model.index(0, 1)) == "Sore throat"

    # Another provider is faster for the first patient.
    run(bridge, qtbot, claim_as_other_provider(running, first))
    qtbot.waitUntil(lambda: [e.visit_id for e in queue.entries()] == [second])
    queue.claim_requested.emit(first)  # as if clicked just before the update arrived
    panel = window.visit_panel
    qtbot.waitUntil(lambda: panel.detail.text().startswith(
        "Another provider has already claimed this patient"))  # the hub's words, as they are

    # This provider claims the second with the keyboard.
    queue.table.setFocus()
    with qtbot.waitSignal(controller.visit_claimed, timeout=10_000) as claimed:
        qtbot.keyClick(queue.table, Qt.Key.Key_Return)
    assert claimed.args == [second]
    assert panel.heading.text() == "Opening the chart of the patient you claimed…"
    assert f"Visit {second}" in panel.detail.text()
    qtbot.waitUntil(lambda: window.windowTitle() == "Workstation")

    # Returned to the queue, the patient shows up again for everyone.
    qtbot.mouseClick(panel.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [e.visit_id for e in queue.entries()] == [second])

    with qtbot.waitSignal(controller.visit_claimed, timeout=10_000) as claimed:
        qtbot.mouseClick(queue.claim_next_button, Qt.MouseButton.LeftButton)
    assert claimed.args == [second]

    with qtbot.waitSignal(controller.signed_out):
        window.sign_out_action.trigger()
    assert view.username_edit.text() == "ada"


def test_signing_in_with_the_authenticator_apps_code(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    """The hub asks for the second factor: the code field appears with the hub's words and the
    cursor in it; a wrong code keeps it there; the right one signs in."""
    running, clock = hub
    run(bridge, qtbot, running.service.add_provider("ada", "Dr. Ada Okafor", PASSWORD,
                                                    ("urgent_care",)))
    account = running.service.store.provider_account("ada")
    assert account is not None
    secret = second_factor.new_secret()
    running.service.store.set_totp(account.provider.id, secret, clock(), "cli:it")
    window, _controller = workstation(qtbot, bridge, running, clock, site)
    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.sign_in_button.isEnabled() and view.username_edit.isVisible())
    assert not view.code_edit.isVisible()

    view.username_edit.setText("ada")
    view.password_edit.setText(PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.code_edit.isVisible())
    assert view.error_label.text() == "Enter the 6-digit code from your authenticator app."
    assert view.focusWidget() is view.code_edit

    right = pyotp.TOTP(secret).at(clock())
    qtbot.keyClicks(view.code_edit, str((int(right) + 1) % 1_000_000).zfill(6))
    qtbot.keyClick(view.code_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "That code is not right" in view.error_label.text())
    assert view.focusWidget() is view.code_edit and view.code_edit.isVisible()

    view.code_edit.setText(right)
    qtbot.keyClick(view.code_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.provider_label.text() == "Signed in as Dr. Ada Okafor",
                    timeout=10_000)
    assert view.code_edit.text() == ""  # nothing of the sign-in is left in the form
