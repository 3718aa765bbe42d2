"""The live queue as the provider sees it: order, wait times against the promise, claiming."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from tests.ui.conftest import FakeClock
from tests.ui.queue_entries import waiting
from workstation.core.people import ServiceLine
from workstation.ui.worklists.queue_model import AMBER_BACKGROUND, RED_BACKGROUND, Column
from workstation.ui.worklists.queue_view import QueueView


@pytest.fixture
def view(qtbot: QtBot, clock: FakeClock) -> QueueView:
    v = QueueView(clock=clock, tick_ms=20)
    qtbot.addWidget(v)
    v.resize(800, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


def cell(view: QueueView, row: int, column: Column,
         role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> object:
    return view.model.data(view.model.index(row, column), role)


def row_texts(view: QueueView, row: int) -> list[str]:
    return [str(cell(view, row, c)) for c in Column]


def background(view: QueueView, row: int) -> QColor | None:
    brush = cell(view, row, Column.WAITING, Qt.ItemDataRole.BackgroundRole)
    return brush.color() if brush is not None else None  # type: ignore[attr-defined]


def test_empty_queue_says_no_patients_waiting(view: QueueView):
    assert view.empty_label.isVisible()
    assert view.empty_label.text() == "No patients waiting"
    assert not view.table.isVisible()
    assert not view.claim_next_button.isEnabled()


def test_entries_are_shown_longest_waiting_first(view: QueueView):
    view.show_entries([
        waiting("short", minutes=2, condition_name="Pink eye", age=29, sex="male"),
        waiting("long", minutes=9, seconds=5, payment_status="declined", kind="e_visit",
                e_visit=True, condition_name="Urinary symptoms"),
    ])

    assert view.table.isVisible() and not view.empty_label.isVisible()
    assert view.title_label.text() == "Waiting patients (2)"
    assert row_texts(view, 0) == ["09:05", "Urinary symptoms", "34", "Female", "Declined",
                                  "E-Visit"]
    assert row_texts(view, 1) == ["02:00", "Pink eye", "29", "Male", "Paid", "On-demand"]


def test_a_new_patient_takes_their_place_in_waiting_order(view: QueueView):
    view.show_entries([waiting("a", minutes=10), waiting("c", minutes=1)])

    view.add_entry(waiting("b", minutes=5))
    view.add_entry(waiting("d", minutes=0))

    assert [e.visit_id for e in view.entries()] == ["a", "b", "c", "d"]
    assert view.remove_entry("b") is not None
    assert view.remove_entry("not-shown") is None
    assert [e.visit_id for e in view.entries()] == ["a", "c", "d"]


def test_wait_time_turns_amber_then_red_in_text_and_colour(view: QueueView,
                                                           clock: FakeClock):
    view.show_entries([waiting("v", minutes=14, seconds=59)])
    assert cell(view, 0, Column.WAITING) == "14:59"
    assert background(view, 0) is None

    clock.advance(seconds=3)
    assert cell(view, 0, Column.WAITING) == "15:02 ⚠"
    assert background(view, 0) == AMBER_BACKGROUND
    assert "nearing the 20-minute promise" in str(
        cell(view, 0, Column.WAITING, Qt.ItemDataRole.ToolTipRole))

    clock.advance(minutes=5, seconds=3)
    assert cell(view, 0, Column.WAITING) == "20:05 ⚠ late"
    assert background(view, 0) == RED_BACKGROUND
    assert "over the 20-minute promise" in str(
        cell(view, 0, Column.WAITING, Qt.ItemDataRole.AccessibleTextRole))


def test_the_timer_repaints_the_wait_column(view: QueueView, qtbot: QtBot):
    view.show_entries([waiting("v", minutes=1)])

    with qtbot.waitSignal(view.model.dataChanged, timeout=2000) as changed:
        pass

    top_left, bottom_right = changed.args[:2]
    assert top_left.column() == bottom_right.column() == Column.WAITING


def test_a_clock_behind_the_hub_never_shows_a_negative_wait(view: QueueView):
    view.show_entries([waiting("v", minutes=-1)])

    assert cell(view, 0, Column.WAITING) == "00:00"


def test_enter_claims_the_selected_row_and_arrows_move(view: QueueView, qtbot: QtBot):
    view.show_entries([waiting("first", minutes=9), waiting("second", minutes=3)])
    view.table.setFocus()

    with qtbot.waitSignal(view.claim_requested) as first:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    with qtbot.waitSignal(view.claim_requested) as second:
        qtbot.keyClick(view.table, Qt.Key.Key_Enter)

    assert first.args == ["first"]
    assert second.args == ["second"]


def test_double_click_claims_that_row(view: QueueView, qtbot: QtBot):
    view.show_entries([waiting("first", minutes=9), waiting("second", minutes=3)])
    rect = view.table.visualRect(view.table.model().index(1, Column.CONDITION))

    with qtbot.assertNotEmitted(view.claim_requested):  # one click only selects
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    # A real double-click is press, release, then the double-click event.
    with qtbot.waitSignal(view.claim_requested) as claimed:
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())

    assert claimed.args == ["second"]


def test_claim_next_button_and_the_window_s_ctrl_n(view: QueueView, qtbot: QtBot):
    # Ctrl+N belongs to the window (it works wherever the focus is); it asks the list.
    assert view.request_claim_next() == "No patients are waiting in this list."
    view.show_entries([waiting("v", minutes=1)])

    with qtbot.waitSignal(view.claim_next_requested):
        qtbot.mouseClick(view.claim_next_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.claim_next_requested):
        assert view.request_claim_next() is None
    view.set_claiming(True)
    with qtbot.assertNotEmitted(view.claim_next_requested):
        assert view.request_claim_next() == "A claim is already on its way."


def test_no_second_claim_while_one_is_in_flight(view: QueueView, qtbot: QtBot):
    view.show_entries([waiting("v", minutes=1)])

    view.set_claiming(True)

    assert view.claim_next_button.text() == "Claiming…"
    assert not view.claim_next_button.isEnabled()
    assert not view.claim_selected_button.isEnabled()
    with qtbot.assertNotEmitted(view.claim_requested):
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    view.set_claiming(False)
    assert view.claim_next_button.text() == "Claim next patient"
    assert view.claim_next_button.isEnabled()


def test_a_snapshot_keeps_the_selected_patient_selected(view: QueueView):
    view.show_entries([waiting("a", minutes=9), waiting("b", minutes=3)])
    view.table.selectRow(1)

    view.show_entries([waiting("new", minutes=20), waiting("a", minutes=9),
                       waiting("b", minutes=3)])

    assert view.selected_visit_id() == "b"


def test_the_count_follows_the_queue(view: QueueView, qtbot: QtBot):
    with qtbot.waitSignal(view.waiting_count_changed) as counted:
        view.show_entries([waiting("a"), waiting("b")])
    assert counted.args == [2]
    with qtbot.waitSignal(view.waiting_count_changed) as counted:
        view.remove_entry("a")
    assert counted.args == [1]


def test_connection_status_line(view: QueueView):
    assert view.connection_label.text() == "Connecting to the hub…"
    view.show_connected("http://127.0.0.1:40123")
    assert view.connection_label.text() == "Connected to http://127.0.0.1:40123"
    view.show_reconnecting()
    assert view.connection_label.text() == "Reconnecting to the hub…"


def test_the_model_follows_qt_rules(qtmodeltester, clock: FakeClock):  # type: ignore[no-untyped-def]
    from workstation.ui.worklists.queue_model import QueueTableModel

    model = QueueTableModel(clock=clock)
    model.set_entries([waiting("a", minutes=16), waiting("b", minutes=25)])
    qtmodeltester.check(model)
    model.add_entry(waiting("c", minutes=3))
    model.remove_entry("a")
    qtmodeltester.check(model)


def test_a_provider_of_two_lines_can_see_one_queue_at_a_time(view: QueueView, qtbot: QtBot):
    lines = (ServiceLine("urgent_care", "On-demand urgent care"),
             ServiceLine("specialty_care", "Virtual specialty care"))
    view.set_service_lines(lines)
    view.show_entries([waiting("urgent", minutes=9),
                       waiting("skin", minutes=3, service_line="specialty_care",
                               condition_name="Rash")])
    assert view.line_combo.isVisibleTo(view) and view.service_line_filter is None
    assert view.title_label.text() == "Waiting patients (2)"

    with qtbot.assertNotEmitted(view.waiting_count_changed):  # the window counts everyone
        view.line_combo.setCurrentIndex(2)

    assert view.service_line_filter == "specialty_care"
    assert view.title_label.text() == "Waiting patients (1)"
    assert view.table.model().rowCount() == 1
    with qtbot.waitSignal(view.claim_requested) as claimed:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert claimed.args == ["skin"]


def test_one_line_needs_no_choice(view: QueueView):
    view.set_service_lines([ServiceLine("urgent_care", "On-demand urgent care")])
    assert not view.line_combo.isVisibleTo(view)


def test_an_e_visit_list_is_late_by_its_own_promise_in_hours(qtbot: QtBot, clock: FakeClock):
    evisits = QueueView(clock=clock, promised_wait_minutes=4 * 60)  # as the app builds it
    qtbot.addWidget(evisits)
    evisits.show_entries([waiting("e", minutes=25, kind="e_visit", e_visit=True)])
    assert cell(evisits, 0, Column.WAITING) == "25:00"  # not late at the video promise
    assert background(evisits, 0) is None

    clock.advance(hours=2, minutes=40)  # 3 h 05 min: a quarter before the 4 hours
    assert background(evisits, 0) == AMBER_BACKGROUND
    clock.advance(hours=1)
    assert str(cell(evisits, 0, Column.WAITING)).endswith("⚠ late")
    assert background(evisits, 0) == RED_BACKGROUND
