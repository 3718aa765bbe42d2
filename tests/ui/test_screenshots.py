"""The provider window with a patient open, on a real screen (Xvfb) at the laptop and desktop
sizes clinics use: screenshots saved as test output, and checks that nothing a clinician reads
or presses is clipped.

Runs only on the xcb platform: ``make test`` runs this file under ``xvfb-run`` after the main
suite (offscreen has no real screen, window manager behaviour or desktop font metrics).
Screenshots go to ``test-output/screenshots/<width>x<height>-<tab>.png``.

What it found (red-flag questions cut off, the save status squeezed, the queue's condition
column at 1366 px) is fixed; a new problem makes a test fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.factories import checkin_body
from tests.hub_fixtures import Clock
from tests.ui.conftest import run
from tests.ui.test_call_pane import Patient, call_window, check_in_with_token
from tests.ui.test_chart_hub import claim_first
from workstation.hub.server import RunningHub
from workstation.ui.call.call_pane import CallPane
from workstation.ui.prescriptions.prescription_pane import DRUG_ROLE
from workstation.ui.prescriptions.prescription_presenter import PrescriptionController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.wiring import wire_prescriptions
from workstation.ui.widgets.bridge import AsyncBridge

if os.environ.get("QT_QPA_PLATFORM") != "xcb":
    pytest.skip("screenshots need a real X screen: run with QT_QPA_PLATFORM=xcb under "
                "xvfb-run, as make test does", allow_module_level=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TABS = {"intake": 0, "record": 1, "diagnosis": 2, "plan": 3, "prescriptions": 4,
        "disposition": 5}
LAPTOP, DESKTOP = QSize(1366, 768), QSize(1920, 1080)
TOO_SMALL = QSize(700, 450)

# A second patient stays in the queue beside the open chart, with the longest texts the queue
# shows: a long condition name and a wait past the promise.
WAITING_PATIENT = {"given_name": "Maximiliana", "family_name": "Vanderhoeven-Oyelaran",
                   "date_of_birth": "1961-07-02", "sex": "female", "phone": "512-555-0199",
                   "email": "mvo@example.org",
                   "address": {"line1": "4 Oak Ave", "line2": "", "city": "Austin",
                               "state": "TX", "postal_code": "78702"}}
HUB_DOWN = "Not saved: the hub is not answering. Retrying; keep working."


SIZES = [pytest.param(size, id=f"{size.width()}x{size.height()}") for size in (LAPTOP, DESKTOP)]


# -- the scene ------------------------------------------------------------------------------

async def check_in_waiting_patient(url: str) -> None:
    body = checkin_body(patient=WAITING_PATIENT, condition="insect_bites", allergies="None")
    body["payment"]["holder"] = "Maximiliana Vanderhoeven-Oyelaran"
    async with aiohttp.ClientSession() as http, \
            http.post(f"{url}/api/checkins", json=body) as response:
        assert response.status == 201, await response.text()


def open_chart(qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
               token: list[str] | None = None) -> MainWindow:
    """Signed in, the sample patient claimed and charted with one diagnosis and the plan from
    the template (draft saved), and a second patient waiting past the promise. The chart has
    its call pane, as in the app (the visit link's token goes to ``token``)."""
    running, clock = hub
    window, controller, chart_controller, _pane, _call = call_window(qtbot, bridge, running,
                                                                     clock, site)
    wire_prescriptions(PrescriptionController(bridge, window.chart_view.prescriptions),
                       chart_controller, controller)
    visit_token = run(bridge, qtbot, check_in_with_token(running.url))
    if token is not None:
        token.append(visit_token)
    # Without a window manager (Xvfb) nothing activates the window, and Ctrl+N needs it.
    with qtbot.waitActive(window, timeout=5_000):
        window.activateWindow()
    claim_first(qtbot, window)
    run(bridge, qtbot, check_in_waiting_patient(running.url))
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 1, timeout=10_000)
    clock.advance(minutes=25)
    window.queue_view.refresh_wait_times()

    chart = window.chart_view
    qtbot.waitUntil(lambda: chart.diagnosis.results.count() > 0, timeout=10_000)
    chart.diagnosis.results.setCurrentRow(0)
    chart.diagnosis.add_button.click()
    assert len(chart.diagnosis.body()["diagnoses"]) == 1
    chart.plan.fill_from_template()
    assert chart.plan.edits["plan"].toPlainText()
    qtbot.waitUntil(lambda: chart.save_status.text().startswith("Draft saved"), timeout=10_000)
    return window


def show_at(qtbot: QtBot, window: MainWindow, size: QSize, tab: str) -> None:
    window.resize(size)
    window.chart_view.tabs.setCurrentIndex(TABS[tab])
    qtbot.waitUntil(lambda: window.size() == size, timeout=5_000)
    # A nested layout that changes posts a LayoutRequest to its parent: one level per pass.
    for _ in range(5):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def save(window: MainWindow, size: QSize, tab: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{size.width()}x{size.height()}-{tab}.png"
    assert window.grab().save(str(path)), f"could not write {path}"


# -- what a clinician would notice ----------------------------------------------------------

def _in_window(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def _label_problems(label: QLabel, window: QWidget, what: str) -> list[str]:
    """The whole text is on screen: wide enough on one line, or tall enough when wrapped."""
    if not label.isVisible():
        return [f"{what} is hidden"]
    problems = []
    if not window.rect().contains(_in_window(label, window)):
        problems.append(f"{what} reaches outside the window")
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height():
            problems.append(f"{what} {label.text()!r} needs {needed} px height, "
                            f"has {label.height()}")
    else:
        needed = label.fontMetrics().horizontalAdvance(label.text())
        if needed > label.contentsRect().width():
            problems.append(f"{what} {label.text()!r} needs {needed} px width, "
                            f"has {label.contentsRect().width()}")
    return problems


def _button_problems(button: QPushButton, what: str) -> list[str]:
    if button.width() < button.sizeHint().width():
        return [f"{what} needs {button.sizeHint().width()} px width, has {button.width()}"]
    return []


def header_problems(window: MainWindow) -> list[str]:
    """The chart header: who the patient is, allergies, where to send prescriptions."""
    chart = window.chart_view
    problems = [p for label, what in ((chart.name_label, "the patient's name"),
                                      (chart.facts_label, "age, sex and date of birth"),
                                      (chart.allergy_banner, "the allergy banner"),
                                      (chart.contact_label, "pharmacy and callback phone"))
                for p in _label_problems(label, window, what)]
    return problems + _button_problems(chart.close_button, "Close chart") + \
        _button_problems(chart.export_button, "Export FHIR")


def save_status_problems(window: MainWindow) -> list[str]:
    """The draft status is read at a glance: short ones on one line, warnings in full."""
    label = window.chart_view.save_status
    problems = _label_problems(label, window, "the save status")
    one_line = label.fontMetrics().horizontalAdvance(label.text())
    if len(label.text()) <= 30 and one_line > label.contentsRect().width():
        problems.append(f"the save status {label.text()!r} wraps ({one_line} px on one line, "
                        f"{label.contentsRect().width()} px given)")
    return problems


def tab_problems(window: MainWindow) -> list[str]:
    bar = window.chart_view.tabs.tabBar()
    problems = [f"tab {bar.tabText(i).replace('&&', '+').replace('&', '')!r} is not fully in "
                "the tab bar"
                for i in range(bar.count()) if not bar.rect().contains(bar.tabRect(i))]
    used = sum(bar.tabRect(i).width() for i in range(bar.count()))
    if used > bar.width():
        problems.append(f"the tabs need {used} px, the bar has {bar.width()} (scroll buttons)")
    return problems


def queue_problems(window: MainWindow) -> list[str]:
    """Every column of the waiting patient's row readable without scrolling sideways."""
    table = window.queue_view.table
    header = table.horizontalHeader()
    model = table.model()
    problems = []
    for column in range(model.columnCount()):
        needed = max(table.sizeHintForColumn(column), header.sectionSizeHint(column))
        shown = min(table.columnWidth(column),
                    table.viewport().width() - header.sectionViewportPosition(column))
        if needed > shown:
            problems.append(f"queue column {model.headerData(column, header.orientation())!r} "
                            f"({model.index(0, column).data()!r}) needs {needed} px, "
                            f"{max(shown, 0)} shown of a {table.viewport().width()} px table")
    return problems


def visible_in_tab(window: MainWindow, widget: QWidget) -> bool:
    """Inside the visible part of the current tab's scroll area, without scrolling."""
    area = window.chart_view.tabs.currentWidget()
    assert isinstance(area, QScrollArea)
    viewport = area.viewport()
    return (widget.isVisible() and area.verticalScrollBar().value() == 0
            and viewport.rect().contains(QRect(widget.mapTo(viewport, QPoint(0, 0)),
                                               widget.size())))


def intake_problems(window: MainWindow) -> list[str]:
    """Every intake answer and every red-flag question in full."""
    form = window.chart_view.intake_form
    labels = []
    for row in range(form.rowCount()):
        for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole,
                     QFormLayout.ItemRole.SpanningRole):
            item = form.itemAt(row, role)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                labels.append(widget)
    assert labels, "the intake shows nothing"
    return [p for label in labels for p in _label_problems(label, window, "intake text")]


def diagnosis_problems(window: MainWindow) -> list[str]:
    pane = window.chart_view.diagnosis
    problems = []
    for lst, what in ((pane.results, "suggested code"), (pane.chosen, "chosen diagnosis")):
        width = lst.viewport().width()
        problems += [f"{what} {lst.item(i).text()!r} is cut off ({width} px shown)"
                     for i in range(lst.count())
                     if lst.fontMetrics().horizontalAdvance(lst.item(i).text()) > width]
    return problems + [f"{what} is not visible without scrolling"
                       for widget, what in ((pane.search_edit, "the code search"),
                                            (pane.add_button, "Add diagnosis"),
                                            (pane.chosen, "the chosen diagnoses"),
                                            (pane.primary_button, "Make primary"))
                       if not visible_in_tab(window, widget)]


def plan_problems(window: MainWindow) -> list[str]:
    """Each field of the plan on screen, with its template text shown whole."""
    problems = []
    for key, edit in window.chart_view.plan.edits.items():
        if not visible_in_tab(window, edit):
            problems.append(f"plan field {key!r} is not visible without scrolling")
        elif edit.verticalScrollBar().maximum() > 0:
            problems.append(f"plan field {key!r} scrolls: its text is not shown whole")
    return problems


def disposition_problems(window: MainWindow) -> list[str]:
    pane = window.chart_view.disposition
    return [f"{what} is not visible without scrolling"
            for widget, what in ((pane.identity_box, "the identity check"),
                                 (pane.missing_label, "what still blocks signing"),
                                 (pane.sign_button, "the Sign button"))
            if not visible_in_tab(window, widget)]


def prescriptions_problems(window: MainWindow) -> list[str]:
    """A drug chosen for the penicillin-allergic sample patient: its warning, directions,
    pharmacy and the Send button all in view and in full."""
    pane = window.chart_view.prescriptions
    problems = [p for label, what in ((pane.drug_label, "the chosen drug"),
                                      (pane.sig_text, "the directions"),
                                      (pane.pharmacy_label, "the pharmacy"))
                for p in _label_problems(label, window, what)]
    problems += _button_problems(pane.send_button, "Send to pharmacy") + \
        _button_problems(pane.change_pharmacy, "Change pharmacy")
    return problems + [f"{what} is not visible without scrolling"
                       for widget, what in ((pane.findings, "the warnings"),
                                            (pane.override_reason, "the override reason"),
                                            (pane.send_button, "the Send button"),
                                            (pane.cancel_button, "Cancel selected"))
                       if not visible_in_tab(window, widget)]


def choose_first_drug(qtbot: QtBot, window: MainWindow) -> None:
    pane = window.chart_view.prescriptions
    qtbot.waitUntil(lambda: pane.drug_results.count() > 0, timeout=10_000)
    pane.drug_search.setText("amoxicillin 500")
    qtbot.waitUntil(lambda: pane.drug_results_label.text() == "Matching drugs", timeout=5_000)
    pane.set_drug(pane.drug_results.item(0).data(DRUG_ROLE))
    qtbot.waitUntil(lambda: pane.findings.count() > 0, timeout=5_000)


PANE_CHECKS: dict[str, Callable[[MainWindow], list[str]]] = {
    "diagnosis": diagnosis_problems, "plan": plan_problems, "disposition": disposition_problems,
    "prescriptions": prescriptions_problems}


# -- the tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_screenshots_with_a_patient_open_show_nothing_clipped(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        size: QSize) -> None:
    window = open_chart(qtbot, bridge, hub, site)
    found = {}
    choose_first_drug(qtbot, window)
    for tab in ("intake", "diagnosis", "plan", "prescriptions", "disposition"):
        show_at(qtbot, window, size, tab)
        save(window, size, tab)
        if tab in PANE_CHECKS:
            found[tab] = (header_problems(window) + tab_problems(window)
                          + PANE_CHECKS[tab](window))
    problems = [f"{tab}: {p}" for tab, found_there in found.items() for p in found_there]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES)
def test_the_queue_beside_the_chart_shows_the_waiting_patient_in_full(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        size: QSize) -> None:
    window = open_chart(qtbot, bridge, hub, site)
    show_at(qtbot, window, size, "diagnosis")
    problems = queue_problems(window)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES)
def test_the_intake_shows_every_red_flag_question_in_full(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        size: QSize) -> None:
    window = open_chart(qtbot, bridge, hub, site)
    show_at(qtbot, window, size, "intake")
    problems = intake_problems(window)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", SIZES)
def test_the_save_status_reads_at_a_glance_and_never_moves_the_chart(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        size: QSize) -> None:
    window = open_chart(qtbot, bridge, hub, site)
    chart = window.chart_view
    show_at(qtbot, window, size, "diagnosis")
    problems = save_status_problems(window)
    tabs_top = chart.tabs.mapTo(window, QPoint(0, 0)).y()
    chart.set_save_status(HUB_DOWN, problem=True)
    show_at(qtbot, window, size, "diagnosis")
    save(window, size, "save-warning")
    problems += save_status_problems(window)
    moved = chart.tabs.mapTo(window, QPoint(0, 0)).y() - tabs_top
    if moved:
        problems.append(f"the hub-down warning pushes the chart down by {moved} px")
    assert not problems, "\n".join(problems)


def test_the_checks_see_clipping_in_a_window_too_small(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        ) -> None:
    """The same checks on a window far too small must complain, or they check nothing."""
    window = open_chart(qtbot, bridge, hub, site)
    window.setMinimumSize(1, 1)
    checks: dict[str, Callable[[MainWindow], list[str]]] = {
        "header": header_problems, "tabs": tab_problems, "queue": queue_problems,
        **PANE_CHECKS}
    silent = []
    for name, check in checks.items():
        # The header wraps its lines, so it takes a narrower window still to cut it.
        size = QSize(420, TOO_SMALL.height()) if name == "header" else TOO_SMALL
        show_at(qtbot, window, size, name if name in PANE_CHECKS else "disposition")
        if not check(window):
            silent.append(name)
    assert silent == [], f"these checks found nothing clipped in a window too small: {silent}"


@pytest.mark.parametrize("size", SIZES)
def test_during_a_call_the_pictures_controls_and_chart_all_fit(
        qtbot: QtBot, bridge: AsyncBridge, hub: tuple[RunningHub, Clock], site,  # type: ignore[no-untyped-def]
        size: QSize) -> None:
    token: list[str] = []
    window = open_chart(qtbot, bridge, hub, site, token)
    pane = window.findChild(CallPane)
    assert pane is not None and pane.isVisible()
    patient = Patient(hub[0].url, token[0])
    run(bridge, qtbot, patient.join())
    pane.start_button.click()
    qtbot.waitUntil(lambda: pane.remote_view.frames_shown > 10, timeout=15_000)
    qtbot.waitUntil(lambda: pane.quality_label.text().startswith("Call quality"),
                    timeout=10_000)
    show_at(qtbot, window, size, "plan")
    save(window, size, "call")
    problems = [p for button, what in (
        (pane.start_button, "Start video visit"), (pane.end_button, "End video visit"),
        (pane.mute_button, "Mute"), (pane.camera_button, "Camera off"),
        (pane.float_button, "Float video")) for p in _button_problems(button, what)]
    problems += _label_problems(pane.state_label, window, "the call's state")
    problems += _label_problems(pane.quality_label, window, "the call's quality")
    if pane.remote_view.height() < 180:
        problems.append(f"the patient's video is only {pane.remote_view.height()} px high")
    problems += tab_problems(window)
    pane.end_button.click()
    run(bridge, qtbot, patient.leave())
    assert not problems, "\n".join(problems)
