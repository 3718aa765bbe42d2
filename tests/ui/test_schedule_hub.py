"""Today's schedule in the provider window against the real hub: the appointment is listed,
Begin visit opens with eCheck-in done inside the window, and beginning opens the chart."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_chart_hub import signed_in_window
from workstation.hub.server import RunningHub
from workstation.ui.widgets.bridge import AsyncBridge

ECHECKIN = {"forms": {"reason": "Sore throat", "allergies": "", "medications": "",
                  "pharmacy_id": "4410011"},
            "insurance": {"payer": "Acme Health", "member_id": "XZ123", "group_number": "",
                          "subscriber_name": "Rosalind Quartermaine"}}


async def book(running: RunningHub, clock: Clock) -> tuple[str, str]:
    """An appointment in 20 minutes with eCheck-in done, booked through the API."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{running.url}/api/auth/sign-in",
                             json={"username": "house", "password": PASSWORD}) as r:
            token = (await r.json())["token"]
        when = clock.now + timedelta(minutes=20)
        async with http.post(f"{running.url}/api/appointments", headers={
                "Authorization": f"Bearer {token}"}, json={
                "patient": checkin_body()["patient"], "service_line": "urgent_care",
                "condition": "sore_throat", "scheduled_for": when.isoformat()}) as r:
            appt = await r.json()
        async with http.post(f"{running.url}/api/visits/{appt['visit_token']}/echeckin",
                             json=ECHECKIN) as r:
            assert r.status == 200, await r.text()
    return appt["visit_id"], appt["visit_token"]


def test_begin_visit_from_todays_schedule_opens_the_chart(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller, _chart = signed_in_window(qtbot, bridge, running, clock, site)
    visit_id, _link = run(bridge, qtbot, book(running, clock))
    schedule = window.schedule_view
    window.work_lists.setCurrentWidget(schedule)

    controller.refresh_schedule()
    qtbot.waitUntil(lambda: [a.visit_id for a in schedule.appointments()] == [visit_id],
                    timeout=10_000)
    schedule.recheck()
    assert schedule.begin_button.isEnabled()

    qtbot.mouseClick(schedule.begin_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.showing_chart and
                    window.chart_view.name_label.text() == "Quartermaine, Rosalind",
                    timeout=15_000)
    assert running.service.store.visit(visit_id).state == "claimed"
