"""The chart's life across patients, against the real hub: sign then claim the next, claim with
an unsigned chart open (keep it or return it), close and reopen, My open visits after a
sign-out, Ctrl+N that always says something, and the questions before signing out or quitting."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import PASSWORD, Clock
from tests.ui.conftest import run
from tests.ui.test_chart_hub import Answers, signed_in_window
from tests.ui.test_provider_controller_hub import check_in
from workstation.hub.server import RunningHub
from workstation.ui.shell.chart_life import KEEP, RELEASE, SIGN_OUT, ChartLife, ChartState
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.widgets.bridge import AsyncBridge


def ctrl_n(qtbot: QtBot, window: MainWindow) -> None:
    """Ctrl+N as the provider presses it, with the focus in the chart or the lists."""
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_N,
                   Qt.KeyboardModifier.ControlModifier)


def open_patient(window: MainWindow) -> str:
    """The name on the chart shown, once it has opened ("" while none is, or it is opening)."""
    life = window.findChild(ChartLife)
    assert life is not None
    if not window.showing_chart or life.state in (ChartState.NONE, ChartState.OPENING):
        return ""
    return window.chart_view.name_label.text()


def sign(qtbot: QtBot, window: MainWindow, running: RunningHub, visit_id: str) -> None:
    chart = window.chart_view
    qtbot.waitUntil(lambda: chart.diagnosis.results.count() > 0, timeout=10_000)
    chart.diagnosis.results.setCurrentRow(0)
    qtbot.keyClick(chart.diagnosis.results, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(chart.diagnosis.body().get("diagnoses")))
    chart.plan.fill_from_template()
    chart.disposition.radios["treated"].setChecked(True)
    chart.disposition.identity_box.setChecked(True)
    if not chart.disposition.call_outcome_combo.isHidden():  # no call in these tests
        combo = chart.disposition.call_outcome_combo
        combo.setCurrentIndex(combo.findData("phone"))
    qtbot.waitUntil(chart.disposition.sign_button.isEnabled)
    qtbot.mouseClick(chart.disposition.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: running.service.store.visit(visit_id).state == "signed",
                    timeout=10_000)
    qtbot.waitUntil(lambda: not chart.disposition.signed.isHidden(), timeout=10_000)


def open_visit_ids(window: MainWindow) -> list[str]:
    return window.open_visits_view.visit_ids()


def test_signing_then_claiming_the_next_opens_the_next_chart(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    answers = Answers()
    window, _controller, _chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                   answers=answers)
    visits = {run(bridge, qtbot, check_in(running.url)) for _ in range(2)}
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 2, timeout=10_000)

    ctrl_n(qtbot, window)
    qtbot.waitUntil(lambda: _chart.visit_id in visits and open_patient(window) != "",
                    timeout=15_000)
    first = _chart.visit_id
    assert first is not None
    [second] = visits - {first}
    sign(qtbot, window, running, first)
    window.chart_view.tabs.setCurrentIndex(3)  # the provider was on the Plan tab

    ctrl_n(qtbot, window)
    # The chart of the second patient, on its Intake tab, not a panel saying "claimed".
    qtbot.waitUntil(lambda: _chart.visit_id == second and not _chart.signed, timeout=10_000)
    assert window.showing_chart
    assert window.chart_view.tabs.currentIndex() == 0
    assert answers.asked == []  # a signed chart needs no question
    qtbot.waitUntil(lambda: open_visit_ids(window) == [second], timeout=10_000)


def test_claiming_with_an_unsigned_chart_keeps_it_in_my_open_visits_or_returns_it(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    answers = Answers()
    window, _controller, chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                  answers=answers)
    first, second, third = [], [], []
    for arrival in (first, second, third):  # one a second: the line's order is theirs
        arrival.append(run(bridge, qtbot, check_in(running.url)))
        clock.advance(seconds=1)
    [first_id], [second_id], [third_id] = first, second, third
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 3, timeout=10_000)
    opened: list[str] = []
    chart.opened.connect(opened.append)

    def chart_of(visit_id: str, times: int = 1) -> None:
        qtbot.waitUntil(lambda: opened.count(visit_id) == times and open_patient(window) != "",
                        timeout=15_000)
        assert chart.visit_id == visit_id

    ctrl_n(qtbot, window)
    chart_of(first_id)
    answers.next = [KEEP]
    ctrl_n(qtbot, window)
    chart_of(second_id)
    [(_title, question, choices)] = answers.asked
    assert "is not signed" in question and choices == [KEEP, RELEASE]
    qtbot.waitUntil(lambda: sorted(open_visit_ids(window)) == sorted([first_id, second_id]),
                    timeout=10_000)

    # Returned to the queue, the second keeps its place in the line: Ctrl+N claims it again.
    answers.next = [RELEASE]
    ctrl_n(qtbot, window)
    chart_of(second_id, times=2)
    actors = [t for t in running.service.store.transitions(second_id) if t[1] == "waiting"]
    assert len(actors) == 2  # it was waiting again for any provider in between
    qtbot.waitUntil(lambda: sorted(open_visit_ids(window)) == sorted([first_id, second_id]),
                    timeout=10_000)

    # Cancel: nothing is claimed, the chart stays.
    answers.next = [None]
    ctrl_n(qtbot, window)
    assert chart.visit_id == second_id
    assert running.service.store.visit(third_id).state == "waiting"

    # The first is finished from My open visits; the second stays there.
    window.work_lists.setCurrentWidget(window.open_visits_view)
    window.open_visits_view.open_requested.emit(first_id)
    chart_of(first_id, times=2)
    sign(qtbot, window, running, first_id)
    qtbot.waitUntil(lambda: open_visit_ids(window) == [second_id], timeout=10_000)


def test_a_closed_unsigned_chart_reopens_from_my_open_visits_also_after_sign_out(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site):  # type: ignore[no-untyped-def]
    running, clock = hub
    answers = Answers()
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, site,
                                                 answers=answers)
    visit = run(bridge, qtbot, check_in(running.url))
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 1, timeout=10_000)
    ctrl_n(qtbot, window)
    qtbot.waitUntil(lambda: chart.visit_id == visit and open_patient(window) != "", timeout=15_000)
    window.chart_view.plan.edits["plan"].setPlainText("Fluids and rest.")

    qtbot.mouseClick(window.chart_view.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.showing_chart)
    assert window.visit_panel.heading.text() == "No chart is open"
    assert "later version" not in window.visit_panel.detail.text()
    qtbot.waitUntil(lambda: open_visit_ids(window) == [visit], timeout=10_000)
    assert running.service.store.visit(visit).state == "claimed"  # still this provider's

    # Ctrl+N with nobody waiting says so, where the provider looks.
    ctrl_n(qtbot, window)
    said = window.statusBar().currentMessage()
    assert "No patients are waiting" in said and "to finish in My open visits" in said
    assert "No patients are waiting" in window.visit_panel.detail.text()

    window.open_visits_view.table.selectRow(0)
    qtbot.mouseClick(window.open_visits_view.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chart.visit_id == visit and open_patient(window) != "", timeout=15_000)
    qtbot.waitUntil(lambda: window.chart_view.plan.edits["plan"].toPlainText()
                    == "Fluids and rest.", timeout=10_000)

    # Signing out with it open asks first; Cancel keeps the provider signed in.
    answers.next = [None]
    window.sign_out_action.trigger()
    assert answers.asked[-1][2] == [SIGN_OUT]
    assert window.showing_workspace
    answers.next = [SIGN_OUT]
    with qtbot.waitSignal(controller.signed_out, timeout=10_000):
        window.sign_out_action.trigger()

    view = window.sign_in_view
    qtbot.waitUntil(lambda: view.password_edit.isVisible())
    view.username_edit.setText("house")
    view.password_edit.setText(PASSWORD)
    qtbot.keyClick(view.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.showing_workspace, timeout=10_000)
    qtbot.waitUntil(lambda: open_visit_ids(window) == [visit], timeout=10_000)
