"""Today's scheduled video visits, and the button that begins one when its time has come."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAccessible, QAccessibleEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core.visit import VisitState
from workstation.ui.widgets.card import ERROR_STYLE
from workstation.ui.widgets.table_model import AnyIndex, RowTableModel
from workstation.ui.worklists.queue_model import Clock, utc_now
from workstation.ui.worklists.queue_view import QueueTable

VISIT_ID_ROLE = Qt.ItemDataRole.UserRole + 1

# Beginning a visit makes sense before the patient is with a provider; the hub decides for good.
BEGINNABLE = frozenset({VisitState.CHECKING_IN.value, VisitState.WAITING.value})
ENDED = frozenset({VisitState.SIGNED.value, VisitState.CANCELLED.value,
                   VisitState.NO_SHOW.value, VisitState.EXPIRED.value,
                   VisitState.REDIRECTED.value})


@dataclass(frozen=True)
class Appointment:
    """One row of ``GET /api/schedule``, with its time parsed."""

    visit_id: str
    scheduled_for: datetime | None
    patient_name: str
    condition_name: str
    echeckin_complete: bool
    state: str
    service_line: str

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Appointment:
        return cls(
            visit_id=str(item["visit_id"]),
            scheduled_for=_parse_time(item.get("scheduled_for")),
            patient_name=str(item.get("patient_name") or ""),
            condition_name=str(item.get("condition_name") or ""),
            echeckin_complete=bool(item.get("echeckin_complete")),
            state=str(item.get("state") or ""),
            service_line=str(item.get("service_line") or ""),
        )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # The hub always sends an offset; a bare time would be its UTC storage time.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _order(appointment: Appointment) -> tuple[bool, datetime, str]:
    # Appointments without a time (none are expected) go last rather than failing the sort.
    when = appointment.scheduled_for or datetime.max.replace(tzinfo=UTC)
    return (appointment.scheduled_for is None, when, appointment.visit_id)


class Column(IntEnum):
    TIME = 0
    PATIENT = 1
    REASON = 2
    ECHECKIN = 3
    STATUS = 4


class ScheduleTableModel(RowTableModel):
    """Today's appointments in time order, times shown in the workstation's zone.

    Every cell is display text only (the delegate draws it as plain text): patient names and
    reasons are never interpreted as markup.
    """

    def __init__(self, parent: QObject | None = None, *, tz: tzinfo | None = None) -> None:
        super().__init__(parent, Column, lambda: self._appointments)
        self._tz = tz
        self._appointments: list[Appointment] = []
        self._headers = {
            Column.TIME: self.tr("Time"),
            Column.PATIENT: self.tr("Patient"),
            Column.REASON: self.tr("Reason"),
            Column.ECHECKIN: self.tr("eCheck-in"),
            Column.STATUS: self.tr("Status"),
        }
        self._states = {
            VisitState.CHECKING_IN.value: self.tr("Checking in"),
            VisitState.WAITING.value: self.tr("Waiting"),
            VisitState.CLAIMED.value: self.tr("With a provider"),
            VisitState.IN_CALL.value: self.tr("In call"),
            VisitState.RECONNECTING.value: self.tr("Reconnecting"),
            VisitState.DOCUMENTING.value: self.tr("Documenting"),
            VisitState.SIGNED.value: self.tr("Signed"),
            VisitState.CANCELLED.value: self.tr("Cancelled"),
            VisitState.NO_SHOW.value: self.tr("No-show"),
            VisitState.EXPIRED.value: self.tr("Expired"),
            VisitState.REDIRECTED.value: self.tr("Sent to in-person care"),
        }

    def set_appointments(self, appointments: Sequence[Appointment]) -> None:
        self.beginResetModel()
        unique = {a.visit_id: a for a in appointments}
        self._appointments = sorted(unique.values(), key=_order)
        self.endResetModel()

    def clear(self) -> None:
        self.set_appointments(())

    @property
    def appointments(self) -> list[Appointment]:
        return list(self._appointments)

    def appointment_at(self, row: int) -> Appointment | None:
        return self._appointments[row] if 0 <= row < len(self._appointments) else None

    def row_of(self, visit_id: str) -> int | None:
        return next((i for i, a in enumerate(self._appointments) if a.visit_id == visit_id),
                    None)

    def local_time(self, when: datetime) -> str:
        """``HH:MM`` in the workstation's zone (the system's own when none was given)."""
        return when.astimezone(self._tz).strftime("%H:%M")

    def status_text(self, state: str) -> str:
        return self._states.get(state, state.replace("_", " ").capitalize())

    # -- Qt model interface ---------------------------------------------------------------

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        appointment = self.appointment_at(index.row()) if index.isValid() else None
        if appointment is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(appointment, column)
        if role == VISIT_ID_ROLE:
            return appointment.visit_id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{self._headers[column]}: {self._text(appointment, column)}"
        return None

    def _text(self, appointment: Appointment, column: Column) -> str:
        if column is Column.TIME:
            when = appointment.scheduled_for
            return self.local_time(when) if when is not None else self.tr("No time")
        if column is Column.PATIENT:
            return appointment.patient_name
        if column is Column.REASON:
            return appointment.condition_name
        if column is Column.ECHECKIN:
            return self.tr("Complete") if appointment.echeckin_complete else self.tr("Not done")
        return self.status_text(appointment.state)


class ScheduleView(QWidget):
    """Today's scheduled video visits for the signed-in provider.

    "Begin visit" is enabled for the selected appointment once the patient has completed
    eCheck-in, the begin window has opened (``begin_window_minutes`` before the appointment)
    and the visit has not started or ended; otherwise a line below the table says why. A timer
    calls :meth:`recheck` every ``recheck_ms`` so the button turns on by itself when the window
    opens.

    Signals:
        begin_requested(str): the provider asked to begin this visit (by id).
        refresh_requested(): the provider asked to load the schedule again (Refresh or F5).
    """

    begin_requested = Signal(str)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, tz: tzinfo | None = None,
                 clock: Clock = utc_now, begin_window_minutes: int = 30,
                 recheck_ms: int = 30_000) -> None:
        super().__init__(parent)
        self._clock = clock
        self._window = timedelta(minutes=begin_window_minutes)
        self._window_minutes = begin_window_minutes
        self._loading = False
        self._loaded = False
        self.model = ScheduleTableModel(self, tz=tz)

        self.title_label = QLabel(self.tr("Today's schedule"))
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title_label.setFont(font)

        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName(self.tr("Error"))
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        self.table = QueueTable()
        self.table.setModel(self.model)
        self.table.setAccessibleName(self.tr("Today's appointments"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.REASON, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)

        self.placeholder_label = QLabel()
        self.placeholder_label.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label.setWordWrap(True)
        self.placeholder_label.setAccessibleName(self.tr("Schedule status"))
        placeholder_font = self.placeholder_label.font()
        placeholder_font.setPointSizeF(placeholder_font.pointSizeF() * 1.2)
        self.placeholder_label.setFont(placeholder_font)

        self._stack = QStackedWidget()
        self._stack.addWidget(self.placeholder_label)
        self._stack.addWidget(self.table)

        self.reason_label = QLabel()
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_label.setWordWrap(True)
        self.reason_label.setAccessibleName(self.tr("Why the visit cannot begin"))

        self.begin_button = QPushButton(self.tr("&Begin visit"))
        self.begin_button.setAccessibleName(self.tr("Begin the selected visit"))
        self.begin_button.setToolTip(self.tr("Begin the selected visit (Enter)"))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.refresh_button.setAccessibleName(self.tr("Refresh today's schedule"))
        self.refresh_button.setToolTip(self.tr("Load today's schedule again (F5)"))

        buttons = QHBoxLayout()
        buttons.addWidget(self.begin_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.reason_label)
        layout.addLayout(buttons)
        self.setTabOrder(self.table, self.begin_button)
        self.setTabOrder(self.begin_button, self.refresh_button)

        self._timer = QTimer(self)
        self._timer.setInterval(recheck_ms)
        self._timer.timeout.connect(self.recheck)
        self._timer.start()

        self.begin_button.clicked.connect(self._on_begin_button_clicked)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.table.row_chosen.connect(self._on_table_row_chosen)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.selectionModel().selectionChanged.connect(
            self._on_selection_model_selection_changed)
        self._update_state()

    # -- what the presenter tells the view ------------------------------------------------

    def show_appointments(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Show the hub's schedule (``GET /api/schedule``); keeps the selected visit selected,
        otherwise selects the first visit that can still begin."""
        selected = self.selected_visit_id()
        self._loading = False
        self._loaded = True
        self._hide_error()
        self.model.set_appointments([Appointment.from_json(item) for item in items])
        row = self.model.row_of(selected) if selected else None
        if row is None:
            row = next((i for i, a in enumerate(self.model.appointments)
                        if a.state in BEGINNABLE), 0 if self.model.rowCount() else None)
        if row is not None:
            self._select_row(row)
        self._update_state()

    def show_loading(self) -> None:
        """The schedule is being fetched; appointments already shown stay until it arrives."""
        self._loading = True
        self._hide_error()
        self._update_state()

    def show_error(self, message: str) -> None:
        """The schedule could not be loaded: say so above the table (which keeps what it had)
        and announce it to assistive technology."""
        self._loading = False
        self.error_label.setText(message)
        self.error_label.setAccessibleDescription(message)
        self.error_label.show()
        QAccessible.updateAccessibility(QAccessibleEvent(self.error_label,
                                                         QAccessible.Event.Alert))
        self._update_state()

    def clear(self) -> None:
        """Nothing of any patient stays in the widget (lock, sign-out)."""
        self._loading = False
        self._loaded = False
        self._hide_error()
        self.model.clear()
        self._update_state()

    def appointments(self) -> list[Appointment]:
        """The appointments shown, in time order."""
        return self.model.appointments

    def selected_visit_id(self) -> str | None:
        appointment = self._selected()
        return appointment.visit_id if appointment else None

    def begin_blocked_reason(self, appointment: Appointment) -> str | None:
        """Why this visit cannot begin now, in words; None when it can."""
        if appointment.state in ENDED:
            return self.tr("This visit has ended.")
        if appointment.state not in BEGINNABLE:
            return self.tr("This visit has already begun.")
        if not appointment.echeckin_complete:
            return self.tr("eCheck-in is not complete yet.")
        if appointment.scheduled_for is None:
            return self.tr("This appointment has no time set.")
        opens = appointment.scheduled_for - self._window
        if self._clock() < opens:
            return self.tr("Begin opens at %1 (%2 minutes before the appointment).").replace(
                "%1", self.model.local_time(opens)).replace("%2", str(self._window_minutes))
        return None

    def recheck(self) -> None:
        """Re-evaluate "Begin visit" against the clock (the timer calls this)."""
        self._update_begin()

    # -- slots ----------------------------------------------------------------------------

    def _on_begin_button_clicked(self) -> None:
        self._request_begin(self._selected())

    def _on_refresh_button_clicked(self) -> None:
        self.refresh_requested.emit()

    def _on_table_row_chosen(self, row: int) -> None:
        self._request_begin(self.model.appointment_at(row))

    def _on_table_double_clicked(self, index: AnyIndex) -> None:
        self._on_table_row_chosen(index.row())

    def _on_selection_model_selection_changed(self, *_args: object) -> None:
        self._update_begin()

    # -- helpers --------------------------------------------------------------------------

    def _request_begin(self, appointment: Appointment | None) -> None:
        if appointment is not None and self.begin_blocked_reason(appointment) is None:
            self.begin_requested.emit(appointment.visit_id)

    def _selected(self) -> Appointment | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.appointment_at(rows[0].row()) if rows else None

    def _select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)

    def _hide_error(self) -> None:
        self.error_label.clear()
        self.error_label.setAccessibleDescription("")
        self.error_label.hide()

    def _update_state(self) -> None:
        count = self.model.rowCount()
        self._stack.setCurrentWidget(self.table if count else self.placeholder_label)
        if self._loading and not count:
            self.placeholder_label.setText(self.tr("Loading today's schedule…"))
        elif self._loaded:
            self.placeholder_label.setText(self.tr("No appointments today."))
        elif self.error_label.isVisibleTo(self):
            self.placeholder_label.setText("")  # the error above says what happened
        else:
            self.placeholder_label.setText(
                self.tr("Today's schedule is not loaded. Press Refresh (F5)."))
        self.title_label.setText(
            self.tr("Today's schedule (loading…)") if self._loading
            else self.tr("Today's schedule (%1)").replace("%1", str(count)) if count
            else self.tr("Today's schedule"))
        self._update_begin()

    def _update_begin(self) -> None:
        appointment = self._selected()
        reason = self.begin_blocked_reason(appointment) if appointment else None
        self.begin_button.setEnabled(appointment is not None and reason is None)
        self.reason_label.setText(reason or "")
        self.reason_label.setVisible(bool(reason))
