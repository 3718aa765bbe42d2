"""The Prescriptions pane against the real hub, its sender and the pharmacy network simulator:
a script written in the pane reaches the simulated pharmacy; warnings need a reason; a
controlled substance cannot be sent; another pharmacy needs a why; a sent script is cancelled."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_chart_hub import claim_first, signed_in_window
from tests.ui.test_provider_controller_hub import check_in
from workstation.client.hub_client import HubClient
from workstation.core.people import Address
from workstation.erx.sender import SenderSettings, sender_factory
from workstation.hub.prescription_api import PRESCRIPTIONS
from workstation.hub.server import RunningHub, start_hub
from workstation.storage.charts import ChartStore
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.chart.chart_view import ChartView
from workstation.ui.prescriptions.prescription_pane import PrescriptionPane
from workstation.ui.prescriptions.prescription_presenter import PrescriptionController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.wiring import wire_prescriptions
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_view import QueueView

FAST = SenderSettings(timeout=2.0, first_retry=0.05, longest_retry=0.3, lease=3, idle_poll=0.2)
NPI = "1234567893"


@pytest.fixture
def erx_hub(bridge: AsyncBridge, qtbot: QtBot, sqlite_store, site, resources,  # type: ignore[no-untyped-def]
            ) -> Iterator[tuple[RunningHub, Clock, object]]:
    clinic = dataclasses.replace(site, clinic_address=Address("500 Clinic Way", "Austin", "TX",
                                                              "78702"),
                                 clinic_phone="512-555-0100", erx_simulator_delay_seconds=0.05)
    clock = Clock()
    running = run(bridge, qtbot, start_hub(sqlite_store, clinic, resources, embedded=True,
                                           clock=clock, outbox=sender_factory(FAST)))
    bridge.add_cleanup(running.close)
    yield running, clock, clinic


def open_pane(qtbot: QtBot, bridge: AsyncBridge, erx_hub, *, cancel_reason: str = "",  # type: ignore[no-untyped-def]
              ) -> tuple[ChartView, PrescriptionPane, str]:
    running, clock, clinic = erx_hub
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, clinic, npi=NPI)
    pane = window.chart_view.prescriptions
    wire_prescriptions(PrescriptionController(bridge, pane,
                                              ask_cancel_reason=lambda _pane: cancel_reason),
                       chart, controller)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    window.chart_view.tabs.setCurrentIndex(4)
    qtbot.waitUntil(lambda: pane.drug_results.count() > 0, timeout=10_000)
    return window.chart_view, pane, visit_id


def choose(qtbot: QtBot, pane: PrescriptionPane, search: str, name: str) -> None:
    pane.drug_search.clear()
    qtbot.keyClicks(pane.drug_search, search)
    qtbot.waitUntil(lambda: any(pane.drug_results.item(i).text() == name
                                for i in range(pane.drug_results.count())))
    item = next(pane.drug_results.item(i) for i in range(pane.drug_results.count())
                if pane.drug_results.item(i).text() == name)
    pane.drug_results.setCurrentItem(item)
    qtbot.keyClick(pane.drug_results, Qt.Key.Key_Return)
    assert pane.drug() is not None and pane.drug().name == name.split("  —")[0]  # type: ignore[union-attr]


def status_of(pane: PrescriptionPane, row: int) -> str:
    item = pane.sent.item(row, 1)
    return item.text() if item is not None else ""


def test_a_script_written_in_the_pane_is_accepted_by_the_pharmacy(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub) -> None:  # type: ignore[no-untyped-def]
    _chart, pane, visit_id = open_pane(qtbot, bridge, erx_hub)
    running = erx_hub[0]
    shortlist = [pane.drug_results.item(i).text() for i in range(pane.drug_results.count())]
    assert "azithromycin 250 MG Oral Tablet" in shortlist  # sore throat's usual drugs
    assert not any("codeine" in name for name in shortlist)
    assert pane.pharmacy_label.text().startswith("Main Street Pharmacy")  # the patient's choice

    choose(qtbot, pane, "azithro", "azithromycin 250 MG Oral Tablet")
    assert pane.sig_text.text() == "Take 2 tablets by mouth once a day for 3 days."
    pane.duration.setValue(4)
    assert pane.sig_text.text() == "Take 2 tablets by mouth once a day for 4 days."
    qtbot.waitUntil(lambda: any("in all" in pane.findings.item(i).text()
                                for i in range(pane.findings.count())), timeout=5_000)
    pane.duration.setValue(3)
    qtbot.waitUntil(lambda: pane.findings.count() == 0, timeout=5_000)
    assert pane.findings.count() == 0 and pane.send_button.isEnabled()

    qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.sent.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: status_of(pane, 0) == "Accepted by the pharmacy", timeout=15_000)
    assert pane.drug() is None  # ready for the next script
    store = running.app[PRESCRIPTIONS].store
    [received] = store.inbox("4410011")
    assert received.kind == "NewRx" and "azithromycin 250 MG Oral Tablet" in received.payload
    assert len(store.for_visit(visit_id)) == 1


def test_an_allergy_warning_needs_a_reason_before_send_and_the_reason_is_audited(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub) -> None:  # type: ignore[no-untyped-def]
    _chart, pane, visit_id = open_pane(qtbot, bridge, erx_hub)
    running = erx_hub[0]
    choose(qtbot, pane, "amoxicillin 500", "amoxicillin 500 MG Oral Capsule")

    texts = [pane.findings.item(i).text() for i in range(pane.findings.count())]
    assert texts and texts[0].startswith("Warning: Allergy on record to penicillin")
    assert not pane.send_button.isEnabled()
    qtbot.keyClicks(pane.override_reason, "Took amoxicillin in 2024 without reaction")
    assert pane.send_button.isEnabled()
    qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.sent.rowCount() == 1, timeout=10_000)
    events = running.service.store.audit_events(visit_id=visit_id)
    [override] = [e for e in events if e.action == "erx.override"]
    assert "Took amoxicillin in 2024 without reaction" in override.detail


def test_a_controlled_substance_cannot_be_sent(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub) -> None:  # type: ignore[no-untyped-def]
    _chart, pane, _visit_id = open_pane(qtbot, bridge, erx_hub)
    choose(qtbot, pane, "codeine",
           "acetaminophen 300 MG / codeine phosphate 30 MG Oral Tablet  — controlled, "
           "schedule III")
    first = pane.findings.item(0).text()
    assert first.startswith("Refused:") and "two-factor" in first
    assert not pane.send_button.isEnabled() and not pane.check_button.isEnabled()


def test_another_pharmacy_needs_a_why_and_a_sent_script_can_be_cancelled(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub) -> None:  # type: ignore[no-untyped-def]
    _chart, pane, visit_id = open_pane(qtbot, bridge, erx_hub, cancel_reason="Wrong strength")
    running = erx_hub[0]
    choose(qtbot, pane, "cetirizine", "cetirizine hydrochloride 10 MG Oral Tablet")
    qtbot.mouseClick(pane.change_pharmacy, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(pane.pharmacy_search, "Riverside")
    qtbot.waitUntil(lambda: pane.pharmacy_results.count() == 1, timeout=10_000)
    pane.pharmacy_results.setCurrentRow(0)
    qtbot.keyClick(pane.pharmacy_results, Qt.Key.Key_Return)
    assert "Riverside Drug" in pane.pharmacy_label.text()
    assert pane.pharmacy_reason.isVisible() and not pane.send_button.isEnabled()
    qtbot.keyClicks(pane.pharmacy_reason, "Closer to the patient's work")
    qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_of(pane, 0) == "Accepted by the pharmacy", timeout=15_000)
    assert running.app[PRESCRIPTIONS].store.inbox("4410022")

    pane.sent.selectRow(0)
    assert pane.cancel_button.isEnabled()
    qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_of(pane, 0) == "Cancelled by the pharmacy", timeout=15_000)
    kinds = [m.kind for m in running.app[PRESCRIPTIONS].store.inbox("4410022")]
    assert kinds == ["NewRx", "CancelRx"]
    actions = [e.action for e in running.service.store.audit_events(visit_id=visit_id)]
    assert "erx.pharmacy_change" in actions and "erx.cancel" in actions


def test_the_script_being_written_comes_back_after_the_window_is_destroyed(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub) -> None:  # type: ignore[no-untyped-def]
    running, clock, _clinic = erx_hub
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, erx_hub[2],
                                                 owned_by_test=True, npi=NPI)
    pane = window.chart_view.prescriptions
    wire_prescriptions(PrescriptionController(bridge, pane), chart, controller)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    qtbot.waitUntil(lambda: pane.drug_results.count() > 0, timeout=10_000)
    choose(qtbot, pane, "cetirizine", "cetirizine hydrochloride 10 MG Oral Tablet")
    pane.refills.setValue(2)
    qtbot.keyClicks(pane.note, "Keep <b>away</b> from children")
    store = ChartStore(running.service.store)

    def saved() -> dict[str, str]:
        draft = store.drafts(visit_id).get("prescription")
        return dict(draft.body.get("values") or {}) if draft else {}

    qtbot.waitUntil(lambda: saved().get("note") == "Keep <b>away</b> from children",
                    timeout=10_000)
    assert saved()["refills"] == "2"
    shiboken6.delete(window)  # gone, as in a crash

    client = HubClient(running.url)
    run(bridge, qtbot, client.sign_in("house", PASSWORD))
    fresh = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(fresh)
    fresh_chart = ChartController(bridge, fresh.chart_view)
    again = fresh.chart_view.prescriptions
    session = _Session(client)
    wire_prescriptions(PrescriptionController(bridge, again), fresh_chart, session)
    fresh_chart.open(client, visit_id)
    qtbot.waitUntil(lambda: again.drug() is not None, timeout=10_000)
    assert again.drug().rxcui == "1014678"  # type: ignore[union-attr]
    assert again.refills.value() == 2
    assert again.note.text() == "Keep <b>away</b> from children"
    assert again.sig_text.text() == "Take 1 tablet by mouth once a day for 30 days."
    run(bridge, qtbot, client.close())


class _Session(QObject):
    """Stands in for the provider controller: the signed-in client and pushed statuses."""

    prescription_changed = Signal(str, object)

    def __init__(self, client: HubClient) -> None:
        super().__init__()
        self.client = client
