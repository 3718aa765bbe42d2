"""The chart in the provider window against the real hub: claim, chart shown, code search,
plan template, the sign gate, signing, and drafts that survive the window being destroyed."""

from __future__ import annotations

import re
from collections.abc import Sequence

import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_provider_controller_hub import check_in
from workstation.client.hub_client import HubClient
from workstation.hub.server import RunningHub, start_hub
from workstation.storage.charts import ChartStore
from workstation.storage.draft_cache import DraftCache
from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.shell.wiring import wire_chart
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.worklists.queue_alert import QueueAlert
from workstation.ui.worklists.queue_view import QueueView
from workstation.ui.worklists.schedule_view import ScheduleView


class Answers:
    """Answers the questions the workstation asks about an open chart, as the provider would:
    the first choice offered unless ``next`` says otherwise (None: Cancel); keeps each one."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, list[str]]] = []
        self.next: list[str | None] = []

    def __call__(self, title: str, question: str, choices: Sequence[str]) -> str | None:
        self.asked.append((title, question, list(choices)))
        return self.next.pop(0) if self.next else choices[0]


def signed_in_window(qtbot: QtBot, bridge: AsyncBridge, running: RunningHub, clock: Clock,
                     site, *, owned_by_test: bool = False,  # type: ignore[no-untyped-def]
                     npi: str = "", answers: Answers | None = None,
                     ) -> tuple[MainWindow, ProviderController, ChartController]:
    run(bridge, qtbot, running.service.add_provider("house", "Dr. House", PASSWORD,
                                                    ("urgent_care",), npi))
    window = MainWindow(queue_view=QueueView(clock=clock),
                        schedule_view=ScheduleView(clock=clock, tz=site.zone))
    if not owned_by_test:
        qtbot.addWidget(window)
    controller = ProviderController(bridge, window, service_lines=site.service_lines,
                                    alert=QueueAlert(window, sound=False))
    chart = ChartController(bridge, window.chart_view)
    wire_chart(chart, controller, window, ask=answers or Answers())
    window.show()
    controller.start(running.url)
    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.username_edit.isEnabled() and view.username_edit.isVisible())
    view.username_edit.setText("house")
    view.password_edit.setText(PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.showing_workspace, timeout=10_000)
    return window, controller, chart


def claim_first(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 1, timeout=10_000)
    qtbot.keyClick(window.queue_view.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.showing_chart and window.chart_view.name_label.text() != "",
                    timeout=15_000)


def test_claim_opens_the_chart_and_the_provider_documents_and_signs(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, _controller, _chart = signed_in_window(qtbot, bridge, running, clock, site)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    chart = window.chart_view

    assert chart.name_label.text() == "Quartermaine, Rosalind"
    assert "ALLERGIES" in chart.allergy_banner.text()
    assert chart.contact_label.text().startswith("Pharmacy: ")
    sign = chart.disposition.sign_button
    assert not sign.isEnabled()  # nothing documented yet
    assert not window.export_action.isEnabled()  # nothing signed to export

    # The shortlist for sore throat is offered; a word search finds more.
    qtbot.waitUntil(lambda: chart.diagnosis.results.count() > 0)
    chart.tabs.setCurrentIndex(2)
    qtbot.keyClicks(chart.diagnosis.search_edit, "streptococcal pharyngitis")
    qtbot.waitUntil(lambda: "J02.0" in chart.diagnosis.results.item(0).text(), timeout=15_000)
    qtbot.keyClick(chart.diagnosis.search_edit, Qt.Key.Key_Return)
    assert chart.diagnosis.body()["diagnoses"] == [
        {"code": "J02.0", "description": "Streptococcal pharyngitis", "primary": True}]

    chart.plan.fill_from_template()
    assert chart.plan.edits["return_precautions"].toPlainText()
    assert chart.plan.edits["work_note"].toPlainText().startswith(
        "Rosalind Quartermaine was seen by video on 11/24/2026")  # placeholders filled
    chart.disposition.radios["treated"].setChecked(True)
    assert not sign.isEnabled()
    assert "confirm the patient's identity" in chart.disposition.missing_label.text()
    chart.disposition.identity_box.setChecked(True)
    # No video call connected in this visit: signing asks what happened instead.
    assert not sign.isEnabled()
    assert "say what happened to the video call" in chart.disposition.missing_label.text()
    assert not chart.disposition.call_outcome_combo.isHidden()
    combo = chart.disposition.call_outcome_combo
    combo.setCurrentIndex(combo.findData("phone"))
    assert sign.isEnabled()

    with qtbot.waitActive(window):
        window.activateWindow()
    chart.tabs.setCurrentIndex(2)  # Ctrl+Enter signs from any tab, here from Diagnosis
    qtbot.keyClick(chart.diagnosis.search_edit, Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: running.service.store.visit(visit_id).state == "signed",
                    timeout=10_000)
    qtbot.waitUntil(lambda: not chart.disposition.signed.isHidden())
    assert "J02.0 Streptococcal pharyngitis (primary)" in \
        chart.disposition.signed_text.toPlainText()
    assert "Video call: Finished by phone" in chart.disposition.signed_text.toPlainText()
    # When it was signed, in the clinic's time and words, not an ISO string.
    assert re.search(r"Signed by Dr\. House at 11/24/2026 \d{1,2}:\d\d [AP]M C[SD]T",
                     chart.disposition.signed_text.toPlainText())
    assert re.search(r"^Draft saved|^Signed", chart.save_status.text())
    assert chart.export_button.isEnabled() and window.export_action.isEnabled()
    actions = [e.action for e in running.service.store.audit_events(visit_id=visit_id)]
    assert actions[-2:] == ["chart.open", "chart.sign"]


def test_drafts_come_back_after_the_window_is_destroyed_without_saving(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, _controller, _chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                   owned_by_test=True)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    typed = "Amoxicillin allergy noted; <b>no</b> antibiotics today.\nRecheck in 48 h."
    window.chart_view.plan.edits["plan"].setPlainText(typed)
    # Saved by itself (SAVE_DELAY_MS after the last keystroke), with no action from the provider.
    qtbot.waitUntil(lambda: _draft(running, visit_id) == typed, timeout=10_000)

    # Gone without closing or saving anything, as in a crash.
    shiboken6.delete(window)

    # A new window (as after a crash and restart) opens the same chart with the text back.
    client = HubClient(running.url)
    run(bridge, qtbot, client.sign_in("house", PASSWORD))
    fresh = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(fresh)
    chart = ChartController(bridge, fresh.chart_view)
    chart.open(client, visit_id)
    qtbot.waitUntil(lambda: fresh.chart_view.plan.edits["plan"].toPlainText() == typed,
                    timeout=10_000)
    run(bridge, qtbot, client.close())


def _draft(running: RunningHub, visit_id: str) -> str | None:
    draft = ChartStore(running.service.store).drafts(visit_id).get("plan")
    return None if draft is None else str(draft.body.get("plan"))


def test_e_visits_wait_in_their_own_inbox_and_open_the_same_chart(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, _controller, _chart = signed_in_window(qtbot, bridge, running, clock, site)
    run(bridge, qtbot, check_in(running.url, checkin_body(mode="e_visit", condition="cough")))
    run(bridge, qtbot, check_in(running.url))
    inbox = window.evisit_view
    qtbot.waitUntil(lambda: len(inbox.entries()) == 1 and len(window.queue_view.entries()) == 1,
                    timeout=10_000)
    assert inbox.entries()[0].e_visit and not window.queue_view.entries()[0].e_visit
    assert window.windowTitle().endswith("2 waiting")

    window.work_lists.setCurrentWidget(inbox)
    qtbot.mouseClick(inbox.claim_next_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.showing_chart and window.chart_view.name_label.text() != "",
                    timeout=15_000)
    assert "Cough" in window.chart_view.facts_label.text()
    assert inbox.entries() == [] and len(window.queue_view.entries()) == 1


def test_words_typed_while_the_hub_is_away_survive_the_window_and_reach_the_hub(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site, resources,  # type: ignore[no-untyped-def]
        sqlite_store, tmp_path):
    running, clock = hub
    cache = DraftCache(tmp_path / "drafts.db")
    window, _controller, chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                  owned_by_test=True)
    chart.set_cache(cache)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)
    url = running.url
    port = int(url.rsplit(":", 1)[1])

    run(bridge, qtbot, running.close())  # the hub goes away
    typed = "Typed while the hub was away."
    window.chart_view.plan.edits["plan"].setPlainText(typed)
    qtbot.waitUntil(lambda: "Not saved" in window.chart_view.save_status.text(),
                    timeout=15_000)
    assert cache.get(url, visit_id)["plan"]["plan"] == typed
    shiboken6.delete(window)  # and the workstation is killed

    # The hub comes back on its address; the workstation starts again.
    back = run(bridge, qtbot, start_hub(sqlite_store, site, resources, embedded=True,
                                        clock=clock, port=port))
    bridge.add_cleanup(back.close)
    client = HubClient(url)
    run(bridge, qtbot, client.sign_in("house", PASSWORD))
    fresh = MainWindow(queue_view=QueueView(clock=clock))
    qtbot.addWidget(fresh)
    reopened = ChartController(bridge, fresh.chart_view, cache=cache)
    reopened.open(client, visit_id)

    qtbot.waitUntil(lambda: fresh.chart_view.plan.edits["plan"].toPlainText() == typed,
                    timeout=10_000)
    qtbot.waitUntil(lambda: _draft(back, visit_id) == typed, timeout=10_000)
    qtbot.waitUntil(lambda: cache.get(url, visit_id) == {}, timeout=10_000)
    run(bridge, qtbot, client.close())
    cache.close()


def test_signing_out_and_closing_right_after_typing_lose_nothing(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller, _chart = signed_in_window(qtbot, bridge, running, clock, site)
    visit_id = run(bridge, qtbot, check_in(running.url))
    claim_first(qtbot, window)

    typed = "Typed a moment before signing out."
    window.chart_view.plan.edits["plan"].setPlainText(typed)
    controller.sign_out()  # well within the autosave delay

    qtbot.waitUntil(lambda: window.sign_in_view.isVisible(), timeout=10_000)
    assert _draft(running, visit_id) == typed

    # Signed in again: the chart, typed into and closed at once with the window.
    view = window.sign_in_view
    view.password_edit.setText(PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.showing_workspace, timeout=10_000)
    _chart.open(controller.client, visit_id)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.chart_view.plan.edits["plan"].toPlainText() == typed,
                    timeout=10_000)
    window.show_chart()
    closing = typed + " And a last line before closing."
    window.chart_view.plan.edits["plan"].setPlainText(closing)
    window.close()

    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert _draft(running, visit_id) == closing


def test_closing_the_window_with_nothing_to_save_closes_it_at_once(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, _controller, _chart = signed_in_window(qtbot, bridge, running, clock, site)

    assert window.close() is True  # no save in flight: nothing to wait for
    assert not window.isVisible()


def test_a_window_closed_for_good_hears_nothing_more_from_the_hub(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    window, controller, _chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                  owned_by_test=True)
    qtbot.waitUntil(lambda: window.queue_view.connection_label.text().startswith("Connected"),
                    timeout=10_000)
    shiboken6.delete(window)
    # A patient checks in: the push reaches the controller's old stream, which must drop it
    # (pytest-qt fails the test on any exception raised in the Qt event loop).
    run(bridge, qtbot, check_in(running.url))
    qtbot.wait(500)
    assert controller.session is not None  # the session itself was not signed out
