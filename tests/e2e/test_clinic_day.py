"""The scripted clinic day (issue 15): one provider's shift in ONE workstation session.

The workstation is composed as ``workstation/app.py``'s ``_compose`` composes it (main window,
provider, chart with its life, prescriptions, call pane and call, session lock), signed in to
the real embedded hub on a loopback port (SQLite, the pharmacy network simulator and the eRx
sender running); each patient is Debian's Chromium with a fake camera and microphone, on their
own visit link. Eight patients go through the same session one after another, as a shift does:

1. Ada: claimed with Ctrl+N; her page tells the workstation she is on the video page; the
   call drops (her page's peer connection is closed) and comes back, so signing needs no word
   about the call; signing while connected asks "End the call and sign?" and ends the call;
   her page then shows the summary.
2. Grace: Ctrl+N right after Ada is signed opens her chart with no question; a prescription
   goes from the Prescriptions pane to the pharmacy she chose at check-in; End: her video page
   says the call ended and offers "Rejoin the video"; "Call again" reaches her there (the page
   answers the new offer).
3. Katherine, 4. Dorothy: Ctrl+N with Katherine's chart unsigned: kept in My open visits.
   Dorothy's call never connects (she never opens the video page); her note says "Finished by
   phone" and her summary "Visit by phone". Katherine's chart, opened from My open visits, is
   closed and reopened there (her draft kept); after End she goes back to her visit page,
   rejoins from there and is called again.
5. Mary: an E-Visit (cough) from the E-Visit inbox: no call pane.
6. Hedy: after End she presses "Rejoin the video", the provider is told she is back and
   calls again; then she is redirected to in-person care, and her page says so with the
   summary.
7. Rosalind: a scheduled visit: eCheck-in in the browser choosing her pharmacy, the hub's clock
   moved into the begin window, "Begin visit", claimed from the queue, a prescription to the
   pharmacy she chose.
8. Annie: the provider signs out with her visit open and unsigned, signs in again, finds it in
   My open visits and finishes it with a call.

Before each call the call pane is only its lines of status and buttons (the chart keeps its
height, also after earlier calls gave the pane room).

At the end every visit is final, the hub holds no visit claimed without an open chart, and each
patient's link (the API and the page in Chromium) still shows the complete summary.
``ClinicDay.patients`` keeps every patient's visit id, link token and what their summary must
say, in one place, for checks added later.

Threads: the test runs on Qt's GUI thread (pytest-qt), which has no asyncio loop and must keep
handling events while either side works. The hub, the hub client and aiortc run on the
workstation's own asyncio thread (``AsyncBridge``), as in the app; Playwright's async API runs
on a third thread with its own loop (:class:`~tests.e2e.chromium_thread.ChromiumThread`). The
test hands coroutines to the bridge or the browser thread and waits for their futures with
``qtbot.waitUntil``, so Qt's events, the call's signals and the pages all keep moving; there
are no sleeps. (Playwright's sync API would block the GUI thread inside each of its waits.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pyotp
import pytest
import shiboken6
from playwright.async_api import Browser, Page, expect
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.exceptions import TimeoutError as WaitTimedOut
from pytestqt.qtbot import QtBot

from tests.e2e.chromium_thread import ChromiumThread
from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock, HubContext
from tests.ui.conftest import run
from tests.ui.test_chart_hub import Answers
from tests.ui.test_chart_life import ctrl_n, open_patient
from tests.ui.test_prescriptions import FAST, NPI, choose, status_of
from workstation.app import _wire_settings
from workstation.core.demo import DEMO_PASSWORD, DEMO_USERNAME
from workstation.core.people import Address
from workstation.core.site import SiteConfig
from workstation.devices import SYNTHETIC
from workstation.erx.sender import sender_factory
from workstation.hub.primary_care import PRIMARY_CARE
from workstation.hub.server import RunningHub, start_hub
from workstation.readiness.network import check_hub
from workstation.settings import Settings, load_settings
from workstation.storage.documents import DELIVERED
from workstation.storage.draft_cache import DraftCache
from workstation.storage.store import VisitStore
from workstation.ui.call.call_pane import CallPane
from workstation.ui.call.call_presenter import CallController
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.prescriptions.prescription_presenter import PrescriptionController
from workstation.ui.session.settings_dialog import SettingsDialog
from workstation.ui.shell.chart_life import KEEP, RELEASE, SIGN_OUT, ChartLife
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.shell.session_lock import SessionLock
from workstation.ui.shell.wiring import (
    wire_call,
    wire_call_to_window,
    wire_chart,
    wire_prescriptions,
)
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView
from workstation.ui.worklists.schedule_view import ScheduleView

pytestmark = [pytest.mark.e2e]

T = TypeVar("T")

WAIT_MS = 20_000  # for anything that crosses the hub, a call or a page
EXPECT_MS = 15_000  # Playwright's expectations, inside the browser thread
INTAKE, DIAGNOSIS, PLAN, PRESCRIPTIONS, DISPOSITION = 0, 2, 3, 4, 5  # the chart's tabs

# Keep the page's peer connections where the test can reach them (to close one).
SPY = """
window.__pcs = [];
const RealPC = window.RTCPeerConnection;
window.RTCPeerConnection = class extends RealPC {
  constructor(...args) { super(...args); window.__pcs.push(this); }
};
"""


# -- the day's patients ------------------------------------------------------------------------


@dataclass
class Patient:
    """One patient of the day: their visit and link, and what their summary must say."""

    given: str
    family: str
    visit_id: str
    token: str
    kind: str = "on_demand"
    plan: str = ""
    code: str = ""  # the primary diagnosis signed
    prescriptions: list[tuple[str, str]] = field(default_factory=list)  # (drug, pharmacy)
    outcome: str = "Treated"  # the summary's "Outcome:" line starts so
    how: str = "Video visit"  # the summary's first line says so
    final_state: str = "signed"
    also: list[str] = field(default_factory=list)  # more the summary must say
    page: Page | None = None  # the patient's browser tab (belongs to the browser thread)
    page_errors: list[str] = field(default_factory=list)

    @property
    def chart_name(self) -> str:
        return f"{self.family}, {self.given}"

    def summary_must_say(self) -> list[str]:
        lines = [self.how, self.code, self.plan, f"Outcome: {self.outcome}", *self.also]
        for drug, pharmacy in self.prescriptions:
            lines += [drug, f"Pharmacy: {pharmacy}"]
        return lines


# -- the workstation, composed as the app composes it --------------------------------------------


@dataclass
class Workstation:
    window: MainWindow
    session: ProviderController
    chart: ChartController
    life: ChartLife
    call: CallController
    pane: CallPane
    lock: SessionLock
    answers: Answers  # the chart's questions (claim another, sign out), answered as told
    end_call_asked: list[tuple[str, str]]  # "End the call and sign?", answered yes
    call_states: list[str]


def compose(qtbot: QtBot, bridge: AsyncBridge, site: SiteConfig, clock: Clock,
            cache: DraftCache) -> Workstation:
    """What ``app._compose`` builds, with the questions answered by the test, the test pattern
    and tone as camera and microphone, and no speaker (these machines have no devices)."""
    window = MainWindow(queue_view=QueueView(clock=clock),
                        schedule_view=ScheduleView(clock=clock, tz=site.zone))
    qtbot.addWidget(window)
    session = ProviderController(bridge, window, service_lines=site.service_lines,
                                 alert=QueueAlert(window, sound=False))
    chart = ChartController(bridge, window.chart_view)
    chart.set_cache(cache)
    answers = Answers()
    life = wire_chart(chart, session, window, ask=answers)
    wire_prescriptions(PrescriptionController(bridge, window.prescription_pane), chart, session)
    pane = CallPane()
    pane.hide()
    window.set_call_pane(pane)
    call = CallController(bridge, pane, ice_servers=tuple(dict(s) for s in site.ice_servers),
                          default_devices=(SYNTHETIC, SYNTHETIC, SYNTHETIC), check_first=False)
    call.synthetic_size = (640, 360)  # lighter than 720p on the test machines' two cores
    window.device_check_action.triggered.connect(
        lambda: call.check_devices(hub_url=session.hub_url))
    end_call_asked: list[tuple[str, str]] = []

    def end_call_and_sign(title: str, text: str) -> bool:
        end_call_asked.append((title, text))
        return True

    wire_call(call, chart, session, ask=end_call_and_sign)
    QTimer.singleShot(0, call.prepare)
    lock = SessionLock(bridge, window, session, chart, lock_minutes=site.lock_minutes)
    wire_call_to_window(call, session, lock)
    states: list[str] = []
    call.state_changed.connect(states.append)
    return Workstation(window, session, chart, life, call, pane, lock, answers,
                       end_call_asked, states)


# -- talking to the hub and the browser ---------------------------------------------------------


# Every patient of the day names their own doctor and allows the summary to go there.
OWN_DOCTOR = {"name": "Dr. Ana Ruiz", "practice": "Eastside Family Medicine",
              "phone": "512-555-0170", "fax": "", "direct_address": "", "share": True}


async def check_in(url: str, given: str, family: str, **changes: Any) -> tuple[str, str]:
    """A patient checks in (through the API, as the check-in page posts it, with its
    idempotency key). On a patient's flaky connection the first answer is lost and the page
    sends the check-in again: the same visit, its link renewed, one charge."""
    body = checkin_body(**{"primary_care": OWN_DOCTOR, **changes},
                        idempotency_key=str(uuid.uuid4()))
    body["patient"] = {**body["patient"], "given_name": given, "family_name": family,
                       "email": f"{given.lower()}@example.org"}
    answers = []
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.post(f"{url}/api/checkins", json=body) as response:
                assert response.status == 201, await response.text()
                answers.append(await response.json())
    assert answers[0]["visit_id"] == answers[1]["visit_id"]
    return str(answers[1]["visit_id"]), str(answers[1]["visit_token"])


async def book(running: RunningHub, clock: Clock, starts_in: timedelta) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        return await HubContext(running, clock, http).book_appointment(starts_in)


async def demo_sign_in(url: str) -> tuple[int, dict[str, Any]]:
    """The demo's account (shown on every training screen), tried on the clinic's hub."""
    body = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    async with aiohttp.ClientSession() as http, \
            http.post(f"{url}/api/auth/sign-in", json=body) as r:
        return r.status, await r.json()


async def link_status(url: str, token: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/api/visits/{token}") as r:
        return r.status, await r.json()


async def open_tab(browser: Browser, url: str, errors: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(SPY)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(url)
    return page


class ClinicDay:
    """The day's script: the workstation, the hub, the browser and the patients seen so far."""

    def __init__(self, qtbot: QtBot, bridge: AsyncBridge, running: RunningHub, clock: Clock,
                 chromium: ChromiumThread, ws: Workstation) -> None:
        self.qtbot = qtbot
        self.bridge = bridge
        self.running = running
        self.clock = clock
        self.chromium = chromium
        self.ws = ws
        self.patients: list[Patient] = []  # in the order they arrived

    @property
    def store(self) -> VisitStore:
        return self.running.service.store

    @property
    def url(self) -> str:
        return self.running.url

    def hub(self, coro: Coroutine[Any, Any, T]) -> T:
        return run(self.bridge, self.qtbot, coro)

    def browser(self, coro: Coroutine[Any, Any, T], timeout: int = WAIT_MS) -> T:
        """Run on the browser's thread; Qt keeps running while it works."""
        future: concurrent.futures.Future[T] = self.chromium.submit(coro)
        self.qtbot.waitUntil(future.done, timeout=timeout)
        return future.result()

    def until(self, condition: Callable[[], object], timeout: int = WAIT_MS,
              why: Callable[[], str] | None = None) -> None:
        """Wait, Qt running, for ``condition``; on timeout, say ``why()`` (what was seen)."""
        try:
            self.qtbot.waitUntil(lambda: bool(condition()), timeout=timeout)
        except WaitTimedOut as exc:
            raise AssertionError(why() if why is not None else "timed out") from exc

    def click(self, button: QPushButton) -> None:
        """Click ``button`` once the provider can: shown, enabled, and laid out (a pane just
        shown gets its height from the splitter a moment later; a button of no height takes
        no click)."""
        self.until(lambda: button.isVisible() and button.isEnabled()
                   and not button.rect().isEmpty(),
                   why=lambda: f"{button.text()!r} cannot be clicked")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def state(self, patient: Patient) -> str:
        return self.store.visit(patient.visit_id).state.value

    # -- patients arrive ----------------------------------------------------------------------

    def arrives(self, given: str, family: str, **changes: Any) -> Patient:
        """Checks in, then keeps the visit page open in a tab of their own."""
        visit_id, token = self.hub(check_in(self.url, given, family, **changes))
        patient = Patient(given, family, visit_id, token, kind="e_visit"
                          if changes.get("mode") == "e_visit" else "on_demand")
        self.patients.append(patient)
        self.clock.advance(seconds=30)  # one after another: the line's order is theirs
        patient.page = self.browser(open_tab(self.chromium.browser, f"{self.url}/v/{token}",
                                             patient.page_errors))
        self.browser(expect(patient.page.locator("#waiting_panel")).to_be_visible(
            timeout=EXPECT_MS))
        return patient

    # -- the workstation's side ----------------------------------------------------------------

    def chart_shows(self, patient: Patient) -> None:
        self.until(lambda: self.ws.chart.visit_id == patient.visit_id
                   and open_patient(self.ws.window) == patient.chart_name)

    def claim_next(self, patient: Patient) -> None:
        """Ctrl+N, as the provider presses it; the next patient's chart opens."""
        self.until(lambda: patient.visit_id in
                   [e.visit_id for e in self.ws.window.queue_view.entries()])
        ctrl_n(self.qtbot, self.ws.window)
        self.chart_shows(patient)

    def open_from_my_open_visits(self, patient: Patient) -> None:
        window = self.ws.window
        window.work_lists.setCurrentWidget(window.open_visits_view)
        self.until(lambda: patient.visit_id in window.open_visits_view.visit_ids())
        window.open_visits_view.table.selectRow(
            window.open_visits_view.visit_ids().index(patient.visit_id))
        self.click(window.open_visits_view.open_button)
        self.chart_shows(patient)
        window.work_lists.setCurrentWidget(window.queue_view)

    def talks(self, patient: Patient) -> None:
        """A call with the patient that connects, then End."""
        self.start_call()
        self.connected(patient)
        self.end_call(patient)

    def start_call(self) -> None:
        """Start (or Call again). Before it, the pane is its lines of status and buttons, and
        the chart keeps its height (also after earlier calls gave the pane room)."""
        pane = self.ws.pane
        self.until(lambda: pane.isVisible() and self.ws.call.media_ready
                   and pane.start_button.isEnabled())
        self.until(lambda: 0 < pane.height() < 2 * pane.sizeHint().height(),
                   why=lambda: f"the call pane is {pane.height()} px high before the call "
                   f"(its lines: {pane.sizeHint().height()} px)")
        self.click(pane.start_button)

    def connected(self, patient: Patient) -> None:
        """Both sides see the call connected, and the hub has it in call."""
        self.until(lambda: self.ws.call.state == "connected")
        assert patient.page is not None
        self.browser(expect(patient.page.locator("#call_status")).to_have_text(
            "Connected to your provider.", timeout=EXPECT_MS))
        self.until(lambda: self.state(patient) == "in_call")

    def end_call(self, patient: Patient) -> None:
        self.click(self.ws.pane.end_button)
        self.until(lambda: self.ws.call.state == "ended",
                   why=lambda: f"the call is {self.ws.call.state}")
        self.until(lambda: self.state(patient) == "documenting",
                   why=lambda: f"the visit is {self.state(patient)}")

    def document(self, patient: Patient, *, plan: str, disposition: str = "treated",
                 search: str = "", redirect_to: str = "", reason: str = "",
                 call_outcome: str | None = None) -> None:
        """Diagnosis (the condition's first suggestion, or the first match of ``search``), the
        plan from the template with the provider's own words, and the disposition."""
        chart = self.ws.window.chart_view
        chart.tabs.setCurrentIndex(DIAGNOSIS)
        if search:
            chart.diagnosis.search_edit.clear()
            QTest.keyClicks(chart.diagnosis.search_edit, search)
            self.until(lambda: "matching" in chart.diagnosis.results_label.text())
        self.until(lambda: chart.diagnosis.results.count() > 0)
        chart.diagnosis.results.setCurrentRow(0)
        QTest.keyClick(chart.diagnosis.results, Qt.Key.Key_Return)
        self.until(lambda: bool(chart.diagnosis.body().get("diagnoses")))
        patient.code = str(chart.diagnosis.body()["diagnoses"][0]["code"])
        chart.tabs.setCurrentIndex(PLAN)
        chart.plan.fill_from_template()
        chart.plan.edits["plan"].setPlainText(plan)
        for key, words in (("patient_instructions", "Rest and drink plenty of fluids."),
                           ("return_precautions", "Call 911 if you cannot breathe.")):
            if not chart.plan.edits[key].toPlainText().strip():  # no template for the reason
                chart.plan.edits[key].setPlainText(words)
        patient.plan = plan
        chart.tabs.setCurrentIndex(DISPOSITION)
        pane = chart.disposition
        pane.radios[disposition].setChecked(True)
        if redirect_to:
            pane.redirect_edit.setText(redirect_to)
        if reason:
            pane.reason_edit.setText(reason)
        if call_outcome is not None:
            assert pane.call_outcome_combo.isVisibleTo(pane), "what happened is asked"
            pane.call_outcome_combo.setCurrentIndex(pane.call_outcome_combo.findData(call_outcome))
        pane.identity_box.setChecked(True)

    def sign(self, patient: Patient) -> None:
        pane = self.ws.window.chart_view.disposition
        self.until(pane.sign_button.isEnabled, why=pane.missing_label.text)
        self.click(pane.sign_button)
        self.until(lambda: self.state(patient) == patient.final_state)
        self.until(lambda: not pane.signed.isHidden())
        assert self.ws.chart.signed
        assert self.ws.pane.isHidden() and not self.ws.call.in_call  # a signed visit: no call

    def prescribe(self, search: str, drug: str, pharmacy: str, patient: Patient) -> None:
        """From the Prescriptions tab, to the pharmacy the patient chose."""
        chart = self.ws.window.chart_view
        pane = self.ws.window.prescription_pane
        chart.tabs.setCurrentIndex(PRESCRIPTIONS)
        self.until(lambda: pane.pharmacy_label.text().startswith(pharmacy))
        choose(self.qtbot, pane, search, drug)
        self.until(lambda: pane.send_button.isEnabled())
        sent = pane.sent.rowCount()
        self.click(pane.send_button)
        self.until(lambda: pane.sent.rowCount() == sent + 1)
        self.until(lambda: status_of(pane, sent) == "Accepted by the pharmacy")
        patient.prescriptions.append((drug, pharmacy))

    # -- the patient's side --------------------------------------------------------------------

    def joins_video(self, patient: Patient) -> None:
        """From the visit page's "Join video visit", onto the video page."""
        page = patient.page
        assert page is not None

        async def join() -> None:
            await expect(page.locator("#join_video")).to_be_visible(timeout=EXPECT_MS)
            await page.click("#join_video")
            await page.wait_for_url(f"**/v/{patient.token}/video")
            await expect(page.locator("#call_status")).to_contain_text(
                "Your provider is ready", timeout=EXPECT_MS)

        self.browser(join())
        # Her page said hello: the provider is told she is there, in the button's words.
        self.until(lambda: self.ws.pane.state_label.text() == "The patient is on the video "
                   "page: choose Start video visit to call them.",
                   why=self.ws.pane.state_label.text)

    def page_says_call_ended(self, patient: Patient) -> None:
        """The video page after End, the visit still open: ended, and "Rejoin the video"."""
        page = patient.page
        assert page is not None

        async def paused() -> None:
            await expect(page.locator("#ended_panel")).to_be_visible(timeout=EXPECT_MS)
            # The provider's "bye" or the visit's status, whichever comes first, says so.
            await expect(page.locator("#ended_title")).to_have_text(re.compile(
                r"Your provider ended the video call\.|The video call has ended\."),
                timeout=EXPECT_MS)
            await expect(page.locator("#rejoin_button")).to_be_visible(timeout=EXPECT_MS)
            await expect(page.locator("#rejoin_button")).to_have_text("Rejoin the video")
            await expect(page.locator("#room")).to_be_hidden()

        self.browser(paused())

    def page_shows_summary(self, patient: Patient, title: str) -> None:
        """From the video page (when on it), back to the visit page: the summary is there."""
        page = patient.page
        assert page is not None

        async def summary() -> None:
            if page.url.endswith("/video"):
                await expect(page.locator("#ended_title")).to_have_text(
                    "Your video visit has ended.", timeout=EXPECT_MS)
                await expect(page.locator("#rejoin_button")).to_be_hidden()
                await page.click("#back_to_visit")
                await page.wait_for_url(f"**/v/{patient.token}")
            await expect(page.locator("#terminal_title")).to_have_text(title,
                                                                        timeout=EXPECT_MS)
            text = page.locator("#summary_text")
            for line in patient.summary_must_say():
                await expect(text).to_contain_text(line, timeout=EXPECT_MS)

        self.browser(summary())

    def leaves(self, patient: Patient) -> None:
        """The patient closes their tab."""
        page, patient.page = patient.page, None
        if page is not None:
            self.browser(page.context.close())
        assert patient.page_errors == [], patient.page_errors


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def bridge(qapp: QApplication) -> Iterator[AsyncBridge]:
    b = AsyncBridge()
    yield b
    b.stop()


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


SITE_FILE = """\
# IT's site file for this PC (docs/IT.md)
site_name = "Riverside Clinic"
lock_minutes = 10
clinic_phone = "512-555-0100"
erx_simulator_delay_seconds = 0.05
clinic_address = { line1 = "500 Clinic Way", city = "Austin", state = "TX", postal_code = "78702" }
"""
USER_FILE = "lock_minutes = 60\nalert_during_calls = false\n"  # the provider's own


@pytest.fixture
def clinic_settings(tmp_path: Path) -> Settings:
    """The settings as the installed workstation reads them: IT's site file (the practice
    details prescriptions carry, a quick pharmacy simulator, the lock time) over the
    provider's own settings file, which would have the workstation lock after an hour."""
    site_file = tmp_path / "site.toml"
    site_file.write_text(SITE_FILE, encoding="utf-8")
    user_file = tmp_path / "settings.toml"
    user_file.write_text(USER_FILE, encoding="utf-8")
    return load_settings(site_file, user_file)


@pytest.fixture
def clinic(clinic_settings: Settings) -> SiteConfig:
    config = clinic_settings.config
    assert config.clinic_address == Address("500 Clinic Way", "Austin", "TX", "78702")
    assert config.lock_minutes == 10  # the site's, not the provider's hour
    return config


@pytest.fixture
def clinic_hub(bridge: AsyncBridge, qtbot: QtBot, sqlite_store: VisitStore,
               clinic: SiteConfig, resources: Any) -> tuple[RunningHub, Clock]:
    clock = Clock()
    running = run(bridge, qtbot, start_hub(sqlite_store, clinic, resources, embedded=True,
                                           clock=clock, outbox=sender_factory(FAST)))
    bridge.add_cleanup(running.close)
    return running, clock


@pytest.fixture
def chromium() -> Iterator[ChromiumThread]:
    thread = ChromiumThread()
    yield thread
    thread.close()


@pytest.fixture
def day(qtbot: QtBot, bridge: AsyncBridge, clinic_hub: tuple[RunningHub, Clock],
        clinic: SiteConfig, clinic_settings: Settings, chromium: ChromiumThread,
        tmp_path: Path) -> Iterator[ClinicDay]:
    """Dr. House (urgent and specialty care, with an NPI, and an authenticator app) signed in
    to a freshly composed workstation."""
    running, clock = clinic_hub
    house = run(bridge, qtbot, running.service.add_provider(
        "house", "Dr. House", PASSWORD, ("urgent_care", "specialty_care"), NPI))
    running.service.store.set_totp(house.id, TOTP_SECRET, clock(), "cli:it")
    cache = DraftCache(tmp_path / "drafts.db")
    bridge.add_cleanup(lambda: asyncio.to_thread(cache.close))
    ws = compose(qtbot, bridge, clinic, clock, cache)
    _wire_settings(ws.window, clinic_settings)
    ws.window.show()
    ws.session.start(running.url)
    day = ClinicDay(qtbot, bridge, running, clock, chromium, ws)
    sign_in(day)
    yield day
    # A test stopped half-way leaves no call running into the hub's and the bridge's teardown.
    ws.call.set_visit(None, None, video=False)
    for patient in day.patients:
        if patient.page is not None:
            day.browser(patient.page.context.close())
    # The window and its controllers go now, while the bridge still runs: none of their timers
    # (the schedule's refresh) may fire into a later test once the bridge has stopped.
    ws.window.hide()
    ws.window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert not shiboken6.isValid(ws.window)


def settings_shown(day: ClinicDay) -> None:
    """Settings > Workstation settings, from the keyboard's Ctrl+, menu: the site's lock time
    locked, the provider's own hour not used, and closed with Escape."""
    window = day.ws.window
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    day.until(dialog.isVisible)
    assert dialog.row_of("lock_minutes") == ("lock_minutes", "10", "Site — locked")
    assert dialog.row_of("site_name")[1:] == ('"Riverside Clinic"', "Site — locked")
    assert dialog.row_of("alert_during_calls")[2] == "Your settings"
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    day.until(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())


def sign_in(day: ClinicDay) -> None:
    window = day.ws.window
    view = window.sign_in_view
    day.until(lambda: view.username_edit.isEnabled() and view.password_edit.isVisible())
    view.username_edit.setText("house")
    view.password_edit.setText(PASSWORD)
    QTest.keyClick(view.password_edit, Qt.Key.Key_Return)
    day.until(lambda: view.code_edit.isVisible())  # the second factor, every time
    day.clock.advance(seconds=30)  # a code of its own: each is taken once
    view.code_edit.setText(pyotp.TOTP(TOTP_SECRET).at(day.clock()))
    QTest.keyClick(view.code_edit, Qt.Key.Key_Return)
    day.until(lambda: window.showing_workspace)


# -- the day -------------------------------------------------------------------------------------


def test_a_clinic_day_of_eight_patients_in_one_session(day: ClinicDay) -> None:
    ws, window = day.ws, day.ws.window
    assert ws.session.session is not None
    provider_id = ws.session.session.provider.id
    # A trainee who saw the demo's credentials tries them here: the clinic's hub refuses.
    status, refused = day.hub(demo_sign_in(day.url))
    assert status == 403 and refused["error"]["code"] == "demo_only"
    # IT's readiness check reaches this PC's hub (plain http on this PC: a warning, not a
    # failure), and the provider sees which settings IT locked.
    hub_check = check_hub(day.url)
    assert hub_check.status == "warn" and "without encryption" in hub_check.message, hub_check
    settings_shown(day)

    # 1. Ada: a call that drops and comes back; signing while connected ends it first.
    ada = day.arrives("Ada", "Lovelace")
    grace = day.arrives("Grace", "Hopper")
    day.claim_next(ada)
    day.joins_video(ada)
    day.start_call()
    day.connected(ada)
    assert ada.page is not None
    ada_page = ada.page
    day.browser(ada_page.evaluate("window.__pcs[window.__pcs.length - 1].close()"))
    day.until(lambda: "reconnecting" in ws.call_states)
    day.until(lambda: ws.call.state == "connected")
    day.browser(expect(ada_page.locator("#call_status")).to_have_text(
        "Connected to your provider.", timeout=EXPECT_MS))
    assert day.browser(ada_page.evaluate("window.__pcs.length")) >= 2  # a new session
    day.until(lambda: day.state(ada) == "in_call")
    states = [t[1] for t in day.store.transitions(ada.visit_id)]
    assert "reconnecting" in states  # the interruption is on record
    day.document(ada, plan="Ada: salt-water gargles, fluids and rest.")
    disposition = window.chart_view.disposition
    assert not disposition.call_outcome_combo.isVisibleTo(disposition)  # it came back
    assert "video call" not in disposition.missing_label.text()
    day.sign(ada)
    assert [title for title, _text in ws.end_call_asked] == ["End the call and sign?"]
    assert "Ada Lovelace" in ws.end_call_asked[0][1]
    assert ws.call.state == "ended" and not ws.call.in_call
    day.page_shows_summary(ada, "Your visit is complete")
    day.leaves(ada)

    # 2. Grace: Ctrl+N after signing opens her chart, no question; a prescription; End, then
    # Call again reaches her.
    asked = len(ws.answers.asked)
    day.claim_next(grace)
    assert ws.answers.asked[asked:] == []  # a signed chart needs no question
    assert window.chart_view.tabs.currentIndex() == INTAKE
    day.joins_video(grace)
    day.start_call()
    day.connected(grace)
    day.prescribe("azithro", "azithromycin 250 MG Oral Tablet", "Main Street Pharmacy", grace)
    assert grace.page is not None
    day.end_call(grace)
    day.page_says_call_ended(grace)
    assert ws.pane.start_button.text() == "Call &again"
    pcs = day.browser(grace.page.evaluate("window.__pcs.length"))
    day.start_call()  # Call again
    day.connected(grace)
    assert day.browser(grace.page.evaluate("window.__pcs.length")) > pcs  # answered anew
    day.browser(expect(grace.page.locator("#ended_panel")).to_be_hidden())
    day.end_call(grace)
    day.document(grace, plan="Grace: azithromycin as prescribed; rest.")
    day.sign(grace)
    assert len(ws.end_call_asked) == 1  # the call had ended: nothing to ask
    day.page_shows_summary(grace, "Your visit is complete")
    day.leaves(grace)

    # 3. and 4. Katherine's chart stays unsigned in My open visits while Dorothy is claimed.
    katherine = day.arrives("Katherine", "Johnson")
    dorothy = day.arrives("Dorothy", "Vaughan")
    day.claim_next(katherine)
    window.chart_view.tabs.setCurrentIndex(PLAN)
    window.chart_view.plan.edits["plan"].setPlainText("Katherine: honey and warm drinks.")
    ws.answers.next = [KEEP]
    day.claim_next(dorothy)
    [(_title, question, choices)] = ws.answers.asked[asked:]
    assert "Katherine Johnson" in question and choices == [KEEP, RELEASE]
    day.until(lambda: sorted(window.open_visits_view.visit_ids())
              == sorted([katherine.visit_id, dorothy.visit_id]))
    assert day.state(katherine) == "claimed"

    # Dorothy never comes to the video page: the call never connects; finished by phone.
    disposition = window.chart_view.disposition
    assert disposition.call_outcome_combo.isVisibleTo(disposition)  # the hub says so at once
    day.start_call()
    day.until(lambda: ws.call.state == "connecting")
    day.end_call(dorothy)
    day.document(dorothy, plan="Dorothy: by phone, fluids and rest.", call_outcome="phone")
    dorothy.how = "Visit by phone"
    dorothy.also = ["Video call: Finished by phone"]
    day.sign(dorothy)
    day.page_shows_summary(dorothy, "Your visit is complete")
    day.leaves(dorothy)

    # Katherine: from My open visits, closed, reopened there, then finished with a call.
    day.open_from_my_open_visits(katherine)
    day.until(lambda: window.chart_view.plan.edits["plan"].toPlainText()
              == "Katherine: honey and warm drinks.")
    day.click(window.chart_view.close_button)
    day.until(lambda: not window.showing_chart)
    day.until(lambda: window.open_visits_view.visit_ids() == [katherine.visit_id])
    assert day.state(katherine) == "claimed"  # still hers
    day.open_from_my_open_visits(katherine)
    day.until(lambda: window.chart_view.plan.edits["plan"].toPlainText()
              == "Katherine: honey and warm drinks.")
    day.joins_video(katherine)
    day.talks(katherine)
    # She goes back to her visit page, which offers to rejoin; on the video page again she
    # waits for the provider (no second "Rejoin"), who is told she is back and calls again.
    day.page_says_call_ended(katherine)
    day.browser(rejoin_from_the_visit_page(katherine))
    day.until(lambda: ws.pane.state_label.text() == "The patient is back on the video page: "
              "choose Call again to reach them.", why=ws.pane.state_label.text)
    day.talks(katherine)
    day.document(katherine, plan="Katherine: honey and warm drinks.")
    day.sign(katherine)
    day.page_shows_summary(katherine, "Your visit is complete")
    day.leaves(katherine)
    day.until(lambda: window.open_visits_view.visit_ids() == [])

    # 5. Mary: an E-Visit, from its own inbox, with no call pane.
    mary = day.arrives("Mary", "Jackson", mode="e_visit", condition="cough")
    mary.how = "E-Visit"
    inbox = window.evisit_view
    day.until(lambda: [e.visit_id for e in inbox.entries()] == [mary.visit_id])
    window.work_lists.setCurrentWidget(inbox)
    day.click(inbox.claim_next_button)
    day.chart_shows(mary)
    window.work_lists.setCurrentWidget(window.queue_view)
    assert ws.pane.isHidden()
    assert mary.page is not None
    day.browser(expect(mary.page.locator("#ready_title")).to_have_text(
        "A provider is reviewing your E-Visit", timeout=EXPECT_MS))
    day.document(mary, plan="Mary: honey, fluids; see a doctor if short of breath.")
    assert "video call" not in window.chart_view.disposition.missing_label.text()
    day.sign(mary)
    day.page_shows_summary(mary, "Your visit is complete")
    day.leaves(mary)

    # 6. Hedy: seen by video, then redirected to in-person care.
    hedy = day.arrives("Hedy", "Lamarr")
    day.claim_next(hedy)
    day.joins_video(hedy)
    day.talks(hedy)
    day.page_says_call_ended(hedy)  # she presses "Rejoin the video": the provider is told
    assert hedy.page is not None
    day.browser(hedy.page.click("#rejoin_button"))
    day.browser(expect(hedy.page.locator("#call_status")).to_have_text(
        "Waiting for your provider to call you back…", timeout=EXPECT_MS))
    day.until(lambda: ws.pane.state_label.text() == "The patient is back on the video page: "
              "choose Call again to reach them.", why=ws.pane.state_label.text)
    day.start_call()  # Call again
    day.connected(hedy)
    day.end_call(hedy)
    hedy.final_state = "redirected"
    hedy.outcome = "Redirected to in-person care — Main Street urgent care, today"
    hedy.also = ["Reason: Needs a rapid strep test in person"]
    day.document(hedy, plan="Hedy: a throat swab and an exam in person today.",
                 disposition="redirected", redirect_to="Main Street urgent care, today",
                 reason="Needs a rapid strep test in person")
    day.sign(hedy)
    day.page_shows_summary(hedy, "Your provider recommends in-person care")
    day.leaves(hedy)

    # 7. Rosalind: a scheduled visit, eCheck-in in the browser, begun inside its window.
    appointment = day.hub(book(day.running, day.clock, timedelta(hours=2)))
    rosalind = Patient("Rosalind", "Quartermaine", appointment["visit_id"],
                       appointment["visit_token"], kind="scheduled")
    day.patients.append(rosalind)
    rosalind.page = day.browser(open_tab(day.chromium.browser,
                                         f"{day.url}/v/{rosalind.token}", rosalind.page_errors))
    day.browser(echeck_in(rosalind.page))
    day.clock.advance(hours=1, minutes=40)  # 20 minutes before the appointment
    day.browser(begin_visit(rosalind.page))
    day.claim_next(rosalind)
    day.prescribe("cetirizine", "cetirizine hydrochloride 10 MG Oral Tablet", "Riverside Drug",
                  rosalind)
    day.browser(expect(rosalind.page.locator("#prescriptions_list li")).to_contain_text(
        "Prescription sent to Riverside Drug", timeout=EXPECT_MS))
    day.joins_video(rosalind)
    day.talks(rosalind)
    day.document(rosalind, plan="Rosalind: cetirizine daily; follow up in a month.",
                 search="allergic rhinitis")
    day.sign(rosalind)
    day.page_shows_summary(rosalind, "Your visit is complete")
    day.leaves(rosalind)

    # 8. Annie: signing out with her visit open and unsigned; back in, finished.
    annie = day.arrives("Annie", "Easley")
    day.claim_next(annie)
    window.chart_view.tabs.setCurrentIndex(PLAN)
    window.chart_view.plan.edits["plan"].setPlainText("Annie: lozenges and rest.")
    ws.answers.next = [SIGN_OUT]
    with day.qtbot.waitSignal(ws.session.signed_out, timeout=WAIT_MS):
        window.sign_out_action.trigger()
    assert ws.answers.asked[-1][2] == [SIGN_OUT] and "Annie Easley" in ws.answers.asked[-1][1]
    assert day.state(annie) == "claimed"
    sign_in(day)
    day.until(lambda: window.open_visits_view.visit_ids() == [annie.visit_id])
    day.open_from_my_open_visits(annie)
    day.until(lambda: window.chart_view.plan.edits["plan"].toPlainText()
              == "Annie: lozenges and rest.")
    day.joins_video(annie)
    day.talks(annie)
    day.document(annie, plan="Annie: lozenges and rest.")
    day.sign(annie)
    day.page_shows_summary(annie, "Your visit is complete")
    day.leaves(annie)

    # The end of the day: every visit final, nothing claimed without an open chart, and each
    # link still shows its complete summary.
    assert len(day.patients) == 8
    assert {p.kind for p in day.patients} == {"on_demand", "e_visit", "scheduled"}
    for patient in day.patients:
        assert day.state(patient) == patient.final_state, patient.given
    assert day.store.open_visits(provider_id) == []
    day.until(lambda: window.open_visits_view.visit_ids() == [])
    assert any(p.prescriptions for p in day.patients)
    for patient in day.patients:
        status, answer = day.hub(link_status(day.url, patient.token))
        assert status == 200, answer
        assert answer["state"] == patient.final_state
        for line in patient.summary_must_say():
            assert line in answer["summary"], (patient.given, line, answer["summary"])
        assert answer["summary_until_text"]
    day.browser(every_link_shows_its_summary(day.chromium.browser, day.url, day.patients),
                timeout=60_000)
    assert_pcp_delivered_once(day)
    for patient in day.patients:  # each paid once, captured (a co-pay for the appointment)
        paid = [(p.status.value, str(p.amount)) for p in day.store.payments(patient.visit_id)]
        assert paid in ([("paid", "49.00")], [("paid", "25.00")], []), (patient.given, paid)
    assert sum(bool(day.store.payments(p.visit_id)) for p in day.patients) >= 7
    chain = day.store.verify_audit_chain()  # the whole day's audit log, untouched
    assert chain.intact and chain.events > 100, chain


def assert_pcp_delivered_once(day: ClinicDay) -> None:
    """Each patient's own doctor got their signed summary, delivered once: one outbox message
    per visit, delivered, and one document in the primary-care simulator for it."""
    documents = day.running.app[PRIMARY_CARE].store
    visit_ids = {p.visit_id for p in day.patients}
    day.until(lambda: all([d.state for d in documents.for_visit(v)] == [DELIVERED]
                          for v in visit_ids))
    received: Counter[str] = Counter()
    for _message_id, payload, _at in documents.inbox():
        composition = json.loads(payload)["entry"][0]["resource"]
        received[composition["identifier"]["value"].removeprefix("urn:uuid:")] += 1
    assert received == dict.fromkeys(visit_ids, 1)


async def rejoin_from_the_visit_page(patient: Patient) -> None:
    """After End: back to the visit page, which says the call ended and offers "Rejoin video
    visit"; on the video page the patient is in the room, waiting to be called back."""
    page = patient.page
    assert page is not None
    await page.click("#back_to_visit")
    await page.wait_for_url(f"**/v/{patient.token}")
    await expect(page.locator("#ready_title")).to_have_text("The video call has ended",
                                                            timeout=EXPECT_MS)
    await expect(page.locator("#join_video")).to_have_text("Rejoin video visit")
    await page.click("#join_video")
    await page.wait_for_url(f"**/v/{patient.token}/video")
    await expect(page.locator("#call_status")).to_have_text(
        "Waiting for your provider to call you back…", timeout=EXPECT_MS)
    await expect(page.locator("#room")).to_be_visible()
    await expect(page.locator("#ended_panel")).to_be_hidden()


async def echeck_in(page: Page) -> None:
    """The scheduled patient's eCheck-in on their visit page, choosing Riverside Drug."""
    await expect(page.locator("#echeckin_form")).to_be_visible(timeout=EXPECT_MS)
    await page.fill("#ec_reason", "Follow-up: sneezing and an itchy nose every morning")
    await page.fill("#ec_medications", "None")
    await page.fill("#ec_pharmacy_search", "Riverside")
    await page.check("#ec_pharmacy_4410022")
    await page.check("#ec_pcp_has_yes")
    await page.fill("#ec_pcp_name", OWN_DOCTOR["name"])
    await page.fill("#ec_pcp_practice", OWN_DOCTOR["practice"])
    await page.fill("#ec_pcp_phone", OWN_DOCTOR["phone"])
    await page.check("#ec_pcp_share")
    await page.fill("#ins_payer", "Acme Health")
    await page.fill("#ins_member_id", "XZ123")
    await page.fill("#ins_subscriber_name", "Rosalind Quartermaine")
    if await page.locator("#copay_block").is_visible():
        await page.fill("#copay_number", "4111 1111 1111 1111")
        await page.select_option("#copay_exp_month", "12")
        await page.select_option("#copay_exp_year", "2030")
        await page.fill("#copay_holder", "Rosalind Quartermaine")
    await page.click("#submit_echeckin")
    await expect(page.locator("#echeckin_done")).to_be_visible(timeout=EXPECT_MS)
    await expect(page.locator("#begin_visit")).to_be_disabled()  # not in the window yet
    await expect(page.locator("#begin_info")).to_contain_text("30 minutes before")


async def begin_visit(page: Page) -> None:
    """Inside the begin window (the hub's clock moved), the page lets the patient begin."""
    await page.reload()
    await expect(page.locator("#begin_visit")).to_be_enabled(timeout=EXPECT_MS)
    await page.click("#begin_visit")
    await expect(page.locator("#waiting_panel")).to_be_visible(timeout=EXPECT_MS)


async def every_link_shows_its_summary(browser: Browser, url: str,
                                       patients: list[Patient]) -> None:
    errors: list[str] = []
    context = await browser.new_context()
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    titles = {"signed": "Your visit is complete",
              "redirected": "Your provider recommends in-person care"}
    try:
        for patient in patients:
            await page.goto(f"{url}/v/{patient.token}")
            await expect(page.locator("#terminal_title")).to_have_text(
                titles[patient.final_state], timeout=EXPECT_MS)
            text = page.locator("#summary_text")
            for line in patient.summary_must_say():
                await expect(text).to_contain_text(line, timeout=EXPECT_MS)
            await expect(page.locator("#summary_until")).to_contain_text("until")
            for drug, pharmacy in patient.prescriptions:
                item = page.locator("#prescriptions_list li", has_text=drug)
                await expect(item.locator("strong")).to_have_text(
                    f"Prescription sent to {pharmacy}", timeout=EXPECT_MS)
    finally:
        await context.close()
    assert errors == []
