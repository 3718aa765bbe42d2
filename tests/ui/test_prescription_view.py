"""The Prescriptions pane during a video call on a 1366x768 laptop, in the whole window (queue,
chart, call pane with the patient's picture): a drug the patient is allergic to shows its
warning as an alert box right above Send, and the warning, Send and the visit's sent scripts
with their status are all in view without scrolling.

Under Xvfb (``QT_QPA_PLATFORM=xcb``) the screenshot goes to
``test-output/screenshots/1366x768-prescriptions-call.png`` beside the others; the geometry
checks also run on the offscreen platform (picture in the test's temporary folder), so the main
test run keeps them.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QScrollArea, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from tests.ui import test_prescriptions
from tests.ui.conftest import run
from tests.ui.test_call_pane import Patient, check_in_with_token
from tests.ui.test_chart_hub import claim_first, signed_in_window
from tests.ui.test_prescriptions import NPI, choose, status_of
from workstation.core.prescribing import Finding
from workstation.rtc.media import SYNTHETIC
from workstation.ui.call.call_pane import CallPane
from workstation.ui.call.call_presenter import CallController
from workstation.ui.prescriptions.findings_box import FindingsBox
from workstation.ui.prescriptions.prescription_pane import PrescriptionPane
from workstation.ui.prescriptions.prescription_presenter import PrescriptionController
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.wiring import wire_call, wire_prescriptions
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.theme import ALERT_COLOURS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
LAPTOP = QSize(1366, 768)
ACCEPTED = "Accepted by the pharmacy"

erx_hub = test_prescriptions.erx_hub  # the hub with its sender and the pharmacy simulator


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def _tab_area(window: MainWindow, pane: PrescriptionPane) -> QScrollArea:
    tabs = window.chart_view.tabs
    area = next(tabs.widget(i) for i in range(tabs.count())
                if isinstance(tabs.widget(i), QScrollArea) and tabs.widget(i).widget() is pane)
    assert isinstance(area, QScrollArea)
    return area


def _not_in_view(window: MainWindow, area: QScrollArea, widgets: dict[str, QWidget],
                 ) -> list[str]:
    """What is hidden, or lies (partly) outside the window or the tab's unscrolled view."""
    viewport = area.viewport()
    problems = []
    if area.verticalScrollBar().value() != 0:
        problems.append("the Prescriptions tab is scrolled")
    for what, widget in widgets.items():
        if not widget.isVisible():
            problems.append(f"{what} is hidden")
            continue
        if not window.rect().contains(_rect_in(widget, window)):
            problems.append(f"{what} reaches outside the window: {_rect_in(widget, window)}")
        if not viewport.rect().contains(_rect_in(widget, viewport)):
            problems.append(f"{what} is not visible without scrolling: "
                            f"{_rect_in(widget, viewport)} in a view of {viewport.rect()}")
    return problems


def _settle(qtbot: QtBot, window: MainWindow, size: QSize) -> None:
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=5_000)
    # A nested layout that changes posts a LayoutRequest to its parent: one level per pass.
    for _ in range(5):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def test_during_a_call_the_allergy_warning_send_and_sent_scripts_are_in_view(
        qtbot: QtBot, bridge: AsyncBridge, erx_hub, tmp_path: Path,  # type: ignore[no-untyped-def]
        ) -> None:
    running, clock, clinic = erx_hub
    window, controller, chart = signed_in_window(qtbot, bridge, running, clock, clinic,
                                                 npi=NPI)
    call_pane = CallPane()
    window.set_call_pane(call_pane)
    wire_call(CallController(bridge, call_pane, default_devices=(SYNTHETIC,) * 3), chart,
              controller)
    pane = window.chart_view.prescriptions
    assert isinstance(pane, PrescriptionPane)
    wire_prescriptions(PrescriptionController(bridge, pane), chart, controller)
    token = run(bridge, qtbot, check_in_with_token(running.url))  # allergic to penicillin
    # Without a window manager (Xvfb) nothing activates the window, and Ctrl+N needs it.
    with qtbot.waitActive(window, timeout=5_000):
        window.activateWindow()
    claim_first(qtbot, window)
    area = _tab_area(window, pane)
    window.chart_view.tabs.setCurrentWidget(area)
    qtbot.waitUntil(lambda: pane.drug_results.count() > 0, timeout=10_000)

    # One script already went in this visit: the status list has a row to show.
    choose(qtbot, pane, "cetirizine", "cetirizine hydrochloride 10 MG Oral Tablet")
    qtbot.waitUntil(pane.send_button.isEnabled, timeout=5_000)
    pane.send_button.click()
    qtbot.waitUntil(lambda: status_of(pane, 0) == ACCEPTED, timeout=15_000)

    # The video visit runs: the call pane takes half of the chart's height.
    patient = Patient(running.url, token)
    run(bridge, qtbot, patient.join())
    call_pane.start_button.click()
    qtbot.waitUntil(lambda: call_pane.remote_view.frames_shown > 10, timeout=15_000)

    choose(qtbot, pane, "amoxicillin 500", "amoxicillin 500 MG Oral Capsule")
    qtbot.waitUntil(lambda: pane.findings.count() > 0, timeout=5_000)
    _settle(qtbot, window, LAPTOP)
    # Under Xvfb the picture is the one people look at; offscreen (no desktop fonts) it is
    # kept with the test only.
    folder = SCREENSHOTS if os.environ.get("QT_QPA_PLATFORM") == "xcb" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{LAPTOP.width()}x{LAPTOP.height()}-prescriptions-call.png"
    picture = window.grab()
    assert picture.save(str(path)), f"could not write {path}"

    try:
        assert call_pane.isVisible() and call_pane.remote_view.height() >= 180
        assert window.chart_view.tabs.currentWidget() is area
        texts = [pane.findings.item(i).text() for i in range(pane.findings.count())]
        assert any("Allergy on record to penicillin" in text for text in texts), texts
        first_row = QRect(pane.sent.visualItemRect(pane.sent.item(0, 1)))
        problems = _not_in_view(window, area, {
            "the allergy warning": pane.findings, "the Send button": pane.send_button,
            "the override reason": pane.override_reason,
            "the list of sent scripts": pane.sent})
        if not pane.sent.viewport().rect().contains(first_row):
            problems.append(f"the sent script's status is cut off: {first_row} in "
                            f"{pane.sent.viewport().rect()}")
        # Where the eye is: the warning right above Send (or beside it), not at an edge.
        warning = _rect_in(pane.findings, window)
        send = _rect_in(pane.send_button, window)
        above = 0 <= send.top() - warning.bottom() <= 48 \
            and warning.left() <= send.right() and send.left() <= warning.right()
        beside = 0 <= send.left() - warning.right() <= 48 \
            and warning.top() <= send.bottom() and send.top() <= warning.bottom()
        if not (above or beside):
            problems.append(f"the allergy warning {warning} is not right above or beside "
                            f"Send {send}")
        # Drawn as an alert: the red edge of the chart's allergy banner, not plain text.
        edge = picture.toImage().pixelColor(
            (warning.topLeft() + QPoint(2, warning.height() // 2)) * picture.devicePixelRatio())
        if edge != QColor(ALERT_COLOURS["danger"].border):
            problems.append(f"the allergy warning's edge is {edge.name()}, not the alert red")
        assert not problems, "\n".join(problems)
    finally:
        call_pane.end_button.click()
        run(bridge, qtbot, patient.leave())


def test_the_findings_box_says_what_was_found_and_what_to_do(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    box = FindingsBox(host)
    QVBoxLayout(host).addWidget(box)
    host.resize(500, 160)
    host.show()
    assert not box.isVisible()  # nothing found: nothing shown

    box.show_findings([Finding("allergy", "warning", "Allergy on record to sulfa: "
                                                     "sulfamethoxazole is a sulfonamide.")])
    assert box.isVisible() and box.level == "danger"
    assert [box.item(i).text() for i in range(box.count())] == [
        "Warning: Allergy on record to sulfa: sulfamethoxazole is a sulfonamide."]
    assert "give your reason below" in box.hint.text() and box.hint.isVisible()
    # What a screen reader reads out with the alert: the finding and what to do.
    assert box.accessibleName() == "Warnings before sending"
    assert "sulfamethoxazole" in box.accessibleDescription()
    assert "reason" in box.accessibleDescription()
    image = box.grab().toImage()
    edge = image.pixelColor(QPoint(2, image.height() // 2) * box.devicePixelRatio())
    assert edge == QColor(ALERT_COLOURS["danger"].border)

    box.show_findings([Finding("dose", "warning", "Dose 2 g is above the usual 1 g.")])
    assert box.level == "warning" and box.count() == 1

    box.show_findings([Finding("controlled", "refusal", "Schedule II: not from here.")])
    assert box.level == "danger" and box.item(0).text().startswith("Refused: ")
    assert "cannot be sent" in box.hint.text()

    box.show_findings([], ["prescriber NPI (missing)"])
    assert box.level == "notice" and not box.hint.isVisible()
    assert box.item(0).text() == "Missing for the pharmacy: prescriber NPI (missing)"

    box.show_findings([])
    assert box.count() == 0 and not box.isVisible()
