"""Today's schedule as the provider sees it: time order in local time, and when "Begin visit"
opens (eCheck-in done, the window open, the visit not started or ended)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from tests.ui.conftest import NOW, FakeClock
from workstation.ui.worklists.schedule_view import Column, ScheduleTableModel, ScheduleView

CHICAGO = ZoneInfo("America/Chicago")  # NOW (16:30 UTC) is 10:30 there in November


def appointment(visit_id: str, at: datetime | str | None, **overrides: Any) -> dict[str, Any]:
    """One item as ``GET /api/schedule`` returns it (ready to begin unless overridden)."""
    item: dict[str, Any] = {
        "visit_id": visit_id,
        "scheduled_for": at.isoformat() if isinstance(at, datetime) else at,
        "patient_name": f"Patient {visit_id}",
        "condition_name": "Sore throat",
        "echeckin_complete": True,
        "state": "checking_in",
        "service_line": "urgent_care",
    }
    item.update(overrides)
    return item


@pytest.fixture
def view(qtbot: QtBot, clock: FakeClock) -> ScheduleView:
    v = ScheduleView(tz=CHICAGO, clock=clock)
    qtbot.addWidget(v)
    v.resize(800, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


def cell(view: ScheduleView, row: int, column: Column) -> object:
    return view.model.data(view.model.index(row, column))


def row_texts(view: ScheduleView, row: int) -> list[str]:
    return [str(cell(view, row, c)) for c in Column]


def test_rows_are_in_time_order_and_in_the_sites_local_time(view: ScheduleView):
    view.show_appointments([
        appointment("b", "2026-11-24T12:15:00-05:00", patient_name="Bea Brown"),  # 17:15 UTC
        appointment("c", "2026-11-24T19:00:00+01:00", patient_name="Cy Chen",
                    condition_name="Pink eye", echeckin_complete=False),  # 18:00 UTC
        appointment("a", "2026-11-24T16:45:00+00:00", patient_name="Ada Ames"),
    ])

    assert view.table.isVisible() and not view.placeholder_label.isVisible()
    assert [a.visit_id for a in view.appointments()] == ["a", "b", "c"]
    assert row_texts(view, 0) == ["10:45", "Ada Ames", "Sore throat", "Complete", "Checking in"]
    assert row_texts(view, 1)[:2] == ["11:15", "Bea Brown"]
    assert row_texts(view, 2) == ["12:00", "Cy Chen", "Pink eye", "Not done", "Checking in"]
    assert view.title_label.text() == "Today's schedule (3)"
    assert [view.model.headerData(c, Qt.Orientation.Horizontal) for c in Column] == [
        "Time", "Patient", "Reason", "eCheck-in", "Status"]


def test_without_a_zone_times_are_in_the_systems_local_zone(qtbot: QtBot, clock: FakeClock):
    v = ScheduleView(clock=clock)
    qtbot.addWidget(v)
    at = NOW + timedelta(hours=2)

    v.show_appointments([appointment("a", at)])

    assert cell(v, 0, Column.TIME) == at.astimezone().strftime("%H:%M")


@pytest.mark.parametrize(("state", "words"), [
    ("waiting", "Waiting"), ("claimed", "With a provider"), ("in_call", "In call"),
    ("documenting", "Documenting"), ("signed", "Signed"), ("cancelled", "Cancelled"),
    ("no_show", "No-show"), ("expired", "Expired"), ("redirected", "Sent to in-person care"),
    ("on_hold_for_lab", "On hold for lab"),  # a state this workstation does not know yet
])
def test_status_is_shown_in_words(view: ScheduleView, state: str, words: str):
    view.show_appointments([appointment("a", NOW, state=state)])

    assert cell(view, 0, Column.STATUS) == words


def test_an_empty_day_says_so(view: ScheduleView):
    assert view.placeholder_label.text() != "No appointments today."  # nothing loaded yet

    view.show_appointments([])

    assert view.placeholder_label.isVisible() and not view.table.isVisible()
    assert view.placeholder_label.text() == "No appointments today."
    assert not view.begin_button.isEnabled()
    assert not view.reason_label.isVisible()


def test_loading_then_error_then_appointments(view: ScheduleView):
    view.show_loading()
    assert view.placeholder_label.text() == "Loading today's schedule…"
    assert view.placeholder_label.isVisible()

    view.show_error("The hub did not answer. Check the network and press Refresh.")
    assert view.error_label.isVisible()
    assert view.error_label.text() == (
        "The hub did not answer. Check the network and press Refresh.")
    assert view.placeholder_label.text() != "Loading today's schedule…"

    view.show_appointments([appointment("a", NOW)])
    assert not view.error_label.isVisible()
    assert view.table.isVisible()


def test_a_failed_refresh_keeps_the_schedule_shown(view: ScheduleView):
    view.show_appointments([appointment("a", NOW, patient_name="Ada Ames")])

    view.show_loading()
    assert view.table.isVisible()
    view.show_error("The schedule could not be refreshed.")

    assert view.table.isVisible() and view.error_label.isVisible()
    assert cell(view, 0, Column.PATIENT) == "Ada Ames"


@pytest.mark.parametrize(("overrides", "minutes_ahead", "reason"), [
    ({"echeckin_complete": False}, 10, "eCheck-in is not complete yet."),
    ({}, 60, "Begin opens at 11:00 (30 minutes before the appointment)."),
    ({"state": "signed"}, 10, "This visit has ended."),
    ({"state": "no_show"}, -20, "This visit has ended."),
    ({"state": "cancelled"}, 10, "This visit has ended."),
    ({"state": "in_call"}, 0, "This visit has already begun."),
])
def test_begin_is_disabled_with_the_reason_in_words(view: ScheduleView, qtbot: QtBot,
                                                    overrides: dict[str, Any],
                                                    minutes_ahead: int, reason: str):
    view.show_appointments([appointment("a", NOW + timedelta(minutes=minutes_ahead),
                                        **overrides)])

    assert view.selected_visit_id() == "a"
    assert not view.begin_button.isEnabled()
    assert view.reason_label.isVisible()
    assert view.reason_label.text() == reason
    with qtbot.assertNotEmitted(view.begin_requested):
        view.table.setFocus()
        qtbot.keyClick(view.table, Qt.Key.Key_Return)


@pytest.mark.parametrize("minutes_ahead", [30, 5, 0, -10])
def test_begin_is_enabled_inside_the_window_with_echeckin_complete(view: ScheduleView,
                                                                   qtbot: QtBot,
                                                                   minutes_ahead: int):
    view.show_appointments([appointment("a", NOW + timedelta(minutes=minutes_ahead))])

    assert view.begin_button.isEnabled()
    assert not view.reason_label.isVisible()
    with qtbot.waitSignal(view.begin_requested) as begun:
        qtbot.mouseClick(view.begin_button, Qt.MouseButton.LeftButton)
    assert begun.args == ["a"]


def test_a_patient_already_waiting_can_be_begun(view: ScheduleView):
    view.show_appointments([appointment("a", NOW, state="waiting")])

    assert view.begin_button.isEnabled()


def test_the_begin_window_is_configurable(qtbot: QtBot, clock: FakeClock):
    v = ScheduleView(tz=CHICAGO, clock=clock, begin_window_minutes=10)
    qtbot.addWidget(v)

    v.show_appointments([appointment("a", NOW + timedelta(minutes=20))])

    assert not v.begin_button.isEnabled()
    assert v.reason_label.text() == "Begin opens at 10:40 (10 minutes before the appointment)."


def test_recheck_turns_begin_on_when_the_window_opens(view: ScheduleView, clock: FakeClock):
    view.show_appointments([appointment("a", NOW + timedelta(minutes=45))])
    assert not view.begin_button.isEnabled()
    assert view.reason_label.text() == (
        "Begin opens at 10:45 (30 minutes before the appointment).")

    clock.advance(minutes=14, seconds=59)
    view.recheck()
    assert not view.begin_button.isEnabled()

    clock.advance(seconds=1)
    view.recheck()
    assert view.begin_button.isEnabled()
    assert not view.reason_label.isVisible()


def test_the_timer_rechecks_without_user_action(qtbot: QtBot, clock: FakeClock):
    v = ScheduleView(tz=CHICAGO, clock=clock, recheck_ms=20)
    qtbot.addWidget(v)
    v.show_appointments([appointment("a", NOW + timedelta(minutes=35))])
    assert not v.begin_button.isEnabled()

    clock.advance(minutes=5)

    qtbot.waitUntil(v.begin_button.isEnabled, timeout=2000)


def test_the_default_timer_runs_every_thirty_seconds(view: ScheduleView):
    assert view._timer.isActive()
    assert view._timer.interval() == 30_000


def test_selecting_another_row_updates_begin(view: ScheduleView):
    view.show_appointments([
        appointment("ready", NOW + timedelta(minutes=10)),
        appointment("later", NOW + timedelta(hours=3)),  # 13:30 in Chicago
    ])
    assert view.selected_visit_id() == "ready" and view.begin_button.isEnabled()

    view.table.selectRow(1)

    assert not view.begin_button.isEnabled()
    assert view.reason_label.text() == (
        "Begin opens at 13:00 (30 minutes before the appointment).")


def test_the_first_visit_that_can_still_begin_is_selected(view: ScheduleView):
    view.show_appointments([
        appointment("done", NOW - timedelta(hours=2), state="signed"),
        appointment("next", NOW + timedelta(minutes=10)),
    ])

    assert view.selected_visit_id() == "next"


def test_a_refresh_keeps_the_selected_visit_selected(view: ScheduleView):
    items = [appointment("a", NOW), appointment("b", NOW + timedelta(minutes=5))]
    view.show_appointments(items)
    view.table.selectRow(1)

    view.show_appointments([appointment("early", NOW - timedelta(minutes=5)), *items])

    assert view.selected_visit_id() == "b"


def test_enter_begins_only_an_enabled_row(view: ScheduleView, qtbot: QtBot):
    view.show_appointments([
        appointment("ready", NOW + timedelta(minutes=10)),
        appointment("not-checked-in", NOW + timedelta(minutes=15), echeckin_complete=False),
    ])
    view.table.setFocus()

    with qtbot.waitSignal(view.begin_requested) as begun:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    assert view.selected_visit_id() == "not-checked-in"
    with qtbot.assertNotEmitted(view.begin_requested):
        qtbot.keyClick(view.table, Qt.Key.Key_Enter)

    assert begun.args == ["ready"]


def test_double_click_begins_only_an_enabled_row(view: ScheduleView, qtbot: QtBot):
    view.show_appointments([
        appointment("ready", NOW + timedelta(minutes=10)),
        appointment("ended", NOW + timedelta(minutes=15), state="expired"),
    ])
    ready = view.table.visualRect(view.model.index(0, Column.PATIENT)).center()
    ended = view.table.visualRect(view.model.index(1, Column.PATIENT)).center()

    # A real double-click is press, release, then the double-click event on the same row.
    with qtbot.assertNotEmitted(view.begin_requested):
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=ended)
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=ended)
    assert view.selected_visit_id() == "ended"
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=ready)
    with qtbot.waitSignal(view.begin_requested) as begun:
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=ready)

    assert begun.args == ["ready"]


def test_clear_leaves_no_patient_name_in_the_widget(view: ScheduleView):
    names = ["Ada Ames", "Bea Brown"]
    view.show_appointments([
        appointment("a", NOW, patient_name=names[0]),
        appointment("b", NOW + timedelta(hours=4), patient_name=names[1]),
    ])
    view.show_error("The schedule could not be refreshed.")

    view.clear()

    assert view.model.rowCount() == 0
    assert view.appointments() == []
    shown = [label.text() for label in view.findChildren(QLabel)]
    assert not any(name in text for name in names for text in shown)
    assert not view.error_label.isVisible()
    assert not view.begin_button.isEnabled()
    assert view.placeholder_label.text() != "No appointments today."  # not loaded, not empty


def test_names_and_reasons_are_plain_text(view: ScheduleView):
    view.show_appointments([appointment("a", NOW, patient_name="<b>Bo</b> & Co",
                                        condition_name="<i>Rash</i>")])

    assert cell(view, 0, Column.PATIENT) == "<b>Bo</b> & Co"
    assert cell(view, 0, Column.REASON) == "<i>Rash</i>"
    for label in (view.placeholder_label, view.error_label, view.reason_label):
        assert label.textFormat() is Qt.TextFormat.PlainText


def test_refresh_button_and_f5_ask_for_the_schedule(view: ScheduleView, qtbot: QtBot):
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view)

    with qtbot.waitSignal(view.refresh_requested):
        qtbot.mouseClick(view.refresh_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.refresh_requested):
        qtbot.keyClick(view, Qt.Key.Key_F5)


def test_views_and_buttons_have_accessible_names(view: ScheduleView):
    assert view.table.accessibleName() == "Today's appointments"
    assert view.begin_button.accessibleName() == "Begin the selected visit"
    assert view.refresh_button.accessibleName() == "Refresh today's schedule"


def test_the_model_follows_qt_rules(qtmodeltester):  # type: ignore[no-untyped-def]
    from workstation.ui.worklists.schedule_view import Appointment

    model = ScheduleTableModel(tz=CHICAGO)
    model.set_appointments([Appointment.from_json(appointment("b", NOW)),
                            Appointment.from_json(appointment("a", None))])
    qtmodeltester.check(model)
    assert [a.visit_id for a in model.appointments] == ["b", "a"]  # no time goes last
    assert model.data(model.index(1, Column.TIME)) == "No time"
