"""The presenter between the window and the hub client, with a fake hub client behind it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.conftest import FakeClock
from tests.ui.queue_entries import waiting
from workstation.client import hub_events as ev
from workstation.client.hub_answers import Claim, HubError, ProviderSession, SetupStatus
from workstation.core.people import Address, Provider, ServiceLine
from workstation.core.practice import Practice
from workstation.core.queue import QueueEntry
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView

URL = "http://hub.test:8443"
PASSWORD = "correct horse battery"
HOUSE = Provider("p-1", "house", "Dr. House", ("urgent_care",))
LINES = (ServiceLine("urgent_care", "On-demand urgent care"),)
SITE_ADDRESS = Address("500 Clinic Way", "Austin", "TX", "78702")


class FakeHubClient:
    """Answers like the hub; events are fed by the test through the bridge's loop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.needs_first_provider = False
        self.site_practice: Practice | None = None  # what the hub's site file says
        self.setup_error: HubError | None = None
        self.taken: set[str] = set()
        self.waiting: list[str] = []
        self.signed_out = 0
        self.released: list[str] = []
        self.claim_next_asked: list[tuple[str | None, bool]] = []
        self.created: list[tuple[str, str, Sequence[str]]] = []
        self.closed = False
        self._events: asyncio.Queue[ev.HubEvent | BaseException | None] = asyncio.Queue()

    async def setup_status(self) -> SetupStatus:
        if self.setup_error:
            raise self.setup_error
        return SetupStatus(self.needs_first_provider, self.site_practice)

    async def create_first_provider(self, username: str, display_name: str, password: str,
                                    service_lines: Sequence[str], *, npi: str = "",
                                    practice: Practice | None = None) -> Provider:
        self.created.append((username, display_name, service_lines))
        self.created_with = (npi, practice)
        return Provider("p-9", username, display_name, tuple(service_lines), npi)

    async def open_visits(self) -> list[dict[str, object]]:
        return []

    async def schedule(self, day: object = None) -> list[dict[str, object]]:
        return []

    async def sign_in(self, username: str, password: str, *, remember: bool = False,
                      code: str | None = None) -> ProviderSession:
        self.remember_asked = remember
        if password != PASSWORD:
            raise HubError(401, "bad_credentials", "The username or password is not right.")
        name = "Dr. House" if username == "house" else f"Dr. {username.title()}"
        return ProviderSession("t", datetime(2026, 11, 25, tzinfo=UTC),
                               Provider("p-1", username, name, ("urgent_care",)))

    async def sign_out(self) -> None:
        self.signed_out += 1

    async def claim(self, visit_id: str) -> Claim:
        if visit_id in self.taken:
            raise HubError(409, "already_claimed",
                           "Another provider has already claimed this patient.")
        return Claim(visit_id, "claimed", "p-1")

    async def claim_next(self, service_line: str | None = None, *,
                         e_visit: bool = False) -> Claim:
        self.claim_next_asked.append((service_line, e_visit))
        if not self.waiting:
            raise HubError(404, "queue_empty", "No patients are waiting.")
        return Claim(self.waiting.pop(0), "claimed", "p-1")

    async def release(self, visit_id: str) -> None:
        self.released.append(visit_id)

    async def events(self, service_lines: Sequence[str] | None = None,
                     ) -> AsyncIterator[ev.HubEvent]:
        while True:
            item = await self._events.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def push(self, bridge: AsyncBridge, *items: ev.HubEvent | BaseException | None) -> None:
        for item in items:
            bridge.loop.call_soon_threadsafe(self._events.put_nowait, item)

    async def close(self) -> None:
        self.closed = True


class RecordingAlert(QueueAlert):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, sound=False)
        self.joined: list[tuple[QueueEntry, int]] = []

    def patient_joined(self, entry: QueueEntry, waiting: int) -> None:
        super().patient_joined(entry, waiting)  # no tray here: must not fail
        self.joined.append((entry, waiting))


class Session:
    def __init__(self, window: MainWindow, controller: ProviderController,
                 hub: FakeHubClient, bridge: AsyncBridge, alert: RecordingAlert) -> None:
        self.window = window
        self.controller = controller
        self.hub = hub
        self.bridge = bridge
        self.alert = alert

    def push(self, *items: ev.HubEvent | BaseException | None) -> None:
        self.hub.push(self.bridge, *items)


@pytest.fixture
def session(qtbot: QtBot, bridge: AsyncBridge, clock: FakeClock) -> Iterator[Session]:
    window = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(window)
    hubs: list[FakeHubClient] = []

    def factory(url: str) -> FakeHubClient:
        hubs.append(FakeHubClient(url))
        return hubs[-1]

    alert = RecordingAlert(window)
    controller = ProviderController(bridge, window, service_lines=LINES,
                                    client_factory=factory, alert=alert)
    window.show()
    qtbot.waitExposed(window)
    controller.start(URL)
    yield Session(window, controller, hubs[0], bridge, alert)


def sign_in(qtbot: QtBot, s: Session, password: str = PASSWORD) -> None:
    view = s.window.sign_in_view
    qtbot.waitUntil(lambda: view.hub_label.text() == f"Hub: {URL}")
    view.username_edit.setText("house")
    view.password_edit.setText(password)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)


def signed_in(qtbot: QtBot, s: Session) -> Session:
    sign_in(qtbot, s)
    qtbot.waitUntil(lambda: s.window.showing_workspace)
    return s


def test_wrong_password_shows_the_hubs_message(session: Session, qtbot: QtBot):
    sign_in(qtbot, session, "nope")

    view = session.window.sign_in_view
    qtbot.waitUntil(lambda: view.error_label.text() == "The username or password is not right.")
    assert not session.window.showing_workspace
    assert view.sign_in_button.isEnabled()


def test_signing_in_opens_the_queue(session: Session, qtbot: QtBot):
    with qtbot.waitSignal(session.controller.signed_in) as done:
        sign_in(qtbot, session)

    assert done.args[0].provider.display_name == "Dr. House"
    assert session.window.showing_workspace
    assert session.window.provider_label.text() == "Signed in as Dr. House"
    assert session.window.visit_panel.heading.text() == "No chart is open"
    assert session.window.sign_in_view.password_edit.text() == ""  # not kept around
    assert session.window.queue_view.connection_label.text() == "Connecting to the hub…"


def test_the_queue_follows_the_hub(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)
    queue = s.window.queue_view

    s.push(ev.ConnectionChanged(True),
           ev.QueueSnapshot((waiting("a", minutes=3), waiting("b", minutes=1))))
    qtbot.waitUntil(lambda: s.window.windowTitle() == "Workstation — 2 waiting")
    assert queue.connection_label.text() == f"Connected to {URL}"

    s.push(ev.QueueAdded(waiting("c", minutes=0, condition_name="Pink eye")))
    qtbot.waitUntil(lambda: s.window.windowTitle() == "Workstation — 3 waiting")
    assert [(e.condition_name, n) for e, n in s.alert.joined] == [("Pink eye", 3)]

    s.push(ev.QueueClaimed("a", "p-2"), ev.QueueLeft("b", "cancelled"))
    qtbot.waitUntil(lambda: [e.visit_id for e in queue.entries()] == ["c"])
    assert s.window.windowTitle() == "Workstation — 1 waiting"

    s.push(ev.ConnectionChanged(False))
    qtbot.waitUntil(lambda: queue.connection_label.text() == "Reconnecting to the hub…")


def test_a_lost_claim_says_another_provider_has_the_patient(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)
    s.hub.taken.add("a")
    s.push(ev.QueueSnapshot((waiting("a", minutes=3),)))
    queue = s.window.queue_view
    qtbot.waitUntil(lambda: len(queue.entries()) == 1)

    queue.table.setFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_Return)

    panel = s.window.visit_panel
    qtbot.waitUntil(
        lambda: panel.detail.text() == "Another provider has already claimed this patient.")
    assert queue.entries() == []  # the patient is gone from this provider's queue too
    assert queue.claim_next_button.text() == "Claim next patient"


def test_a_won_claim_is_confirmed(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)
    s.push(ev.QueueSnapshot((waiting("visit-42", minutes=3, condition_name="Sinus pain"),)))
    queue = s.window.queue_view
    qtbot.waitUntil(lambda: len(queue.entries()) == 1)

    with qtbot.waitSignal(s.controller.visit_claimed) as claimed:
        qtbot.mouseClick(queue.claim_selected_button, Qt.MouseButton.LeftButton)

    assert claimed.args == ["visit-42"]
    panel = s.window.visit_panel
    assert panel.heading.text() == "Opening the chart of the patient you claimed…"
    assert "Sinus pain · 34 · Female" in panel.detail.text()
    assert "Visit visit-42" in panel.detail.text()
    assert queue.entries() == []


def test_claim_next_and_release(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)
    s.hub.waiting = ["a"]
    s.push(ev.QueueSnapshot((waiting("a", minutes=3),)))
    queue = s.window.queue_view
    qtbot.waitUntil(lambda: len(queue.entries()) == 1)

    with qtbot.waitSignal(s.controller.visit_claimed):
        qtbot.mouseClick(queue.claim_next_button, Qt.MouseButton.LeftButton)
    panel = s.window.visit_panel
    assert panel.release_button.isVisible()

    qtbot.mouseClick(panel.release_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.heading.text() == "No chart is open")
    assert s.hub.released == ["a"]
    assert s.hub.claim_next_asked == [(None, False)]  # one service line: no filter


def test_sign_out_returns_to_the_sign_in_form(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)
    s.push(ev.QueueSnapshot((waiting("a", minutes=3),)))
    qtbot.waitUntil(lambda: len(s.window.queue_view.entries()) == 1)

    with qtbot.waitSignal(s.controller.signed_out):
        s.window.sign_out_action.trigger()

    assert not s.window.showing_workspace
    assert s.window.windowTitle() == "Workstation"
    assert s.window.sign_in_view.username_edit.text() == "house"
    assert not s.window.sign_out_action.isEnabled()
    qtbot.waitUntil(lambda: s.hub.signed_out == 1)
    assert s.window.queue_view.entries() == []

    signed_in(qtbot, s)  # again: a fresh queue, no leftovers of the last session
    assert s.window.queue_view.entries() == []
    s.push(ev.QueueSnapshot((waiting("b", minutes=1),)))
    qtbot.waitUntil(lambda: [e.visit_id for e in s.window.queue_view.entries()] == ["b"])


def test_a_session_the_hub_ended_asks_to_sign_in_again(session: Session, qtbot: QtBot):
    s = signed_in(qtbot, session)

    s.push(HubError(401, "unauthorized", "Your session has ended. Sign in again."))

    view = s.window.sign_in_view
    qtbot.waitUntil(lambda: not s.window.showing_workspace)
    assert view.error_label.text() == "Your session has ended. Sign in again."
    assert view.username_edit.text() == "house"


def test_first_account_then_signed_in(qtbot: QtBot, bridge: AsyncBridge):
    window = MainWindow()
    qtbot.addWidget(window)
    hubs: list[FakeHubClient] = []

    def factory(url: str) -> FakeHubClient:
        hub = FakeHubClient(url)
        hub.needs_first_provider = True
        hub.site_practice = Practice(SITE_ADDRESS, "")
        hubs.append(hub)
        return hub

    controller = ProviderController(bridge, window, service_lines=LINES,
                                    client_factory=factory, alert=RecordingAlert(window))
    window.show()
    controller.start(URL)
    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.heading.text() == "Set up the first account")

    # The site file's practice details start the form; the provider completes the rest.
    assert view.practice_fields.city_edit.text() == "Austin"
    view.display_name_edit.setText("Dr. Ada Okafor")
    view.new_username_edit.setText("ada")
    view.new_password_edit.setText(PASSWORD)
    view.confirm_password_edit.setText(PASSWORD)
    view.npi_edit.setText("1234567893")
    view.practice_fields.phone_edit.setText("512-555-0111")
    qtbot.mouseClick(view.create_button, Qt.MouseButton.LeftButton)  # one line: ticked

    qtbot.waitUntil(lambda: window.showing_workspace)
    assert hubs[0].created == [("ada", "Dr. Ada Okafor", ["urgent_care"])]
    assert hubs[0].created_with == ("1234567893", Practice(SITE_ADDRESS, "512-555-0111"))
    assert window.provider_label.text() == "Signed in as Dr. Ada"  # as the fake hub says


def test_a_hub_that_cannot_be_reached_is_said_plainly(qtbot: QtBot, bridge: AsyncBridge):
    window = MainWindow()
    qtbot.addWidget(window)

    def factory(url: str) -> FakeHubClient:
        hub = FakeHubClient(url)
        hub.setup_error = HubError(0, "unreachable", f"Cannot reach the hub at {url}. Check "
                                                     "the network connection and try again.")
        return hub

    controller = ProviderController(bridge, window, client_factory=factory,
                                    alert=RecordingAlert(window))
    controller.start(URL)

    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.error_label.text().startswith(
        f"Cannot reach the hub at {URL}"))
    assert view.sign_in_button.isEnabled()


def test_the_client_is_closed_when_the_bridge_stops(qtbot: QtBot, qapp):  # type: ignore[no-untyped-def]
    bridge = AsyncBridge()
    window = MainWindow()
    qtbot.addWidget(window)
    hubs: list[FakeHubClient] = []

    def factory(url: str) -> FakeHubClient:
        hubs.append(FakeHubClient(url))
        return hubs[-1]

    controller = ProviderController(bridge, window, client_factory=factory,
                                    alert=RecordingAlert(window))
    controller.start(URL)

    bridge.stop()

    assert hubs[0].closed
