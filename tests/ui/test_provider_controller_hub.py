"""The provider window against the real hub on a loopback port, run inside the bridge's loop
as the app runs it: first account, live queue, a won claim and a lost one."""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
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


def test_first_account_queue_and_claims_on_the_real_hub(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(window)
    controller = ProviderController(bridge, window, service_lines=site.service_lines,
                                    alert=QueueAlert(window, sound=False))
    window.show()
    controller.start(running.url)

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
