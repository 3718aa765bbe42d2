"""How the features follow one another: the chart opens on a won claim, the call and the
prescriptions follow the open chart, and the lock and the queue's alerts follow the call.

The features never import each other; these functions connect their signals, and ``app.py``
(or a test) calls them once the controllers exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtWidgets import QMessageBox, QWidget

from workstation.ui.chart.chart_presenter import ChartController
from workstation.ui.prescriptions.prescription_presenter import (
    PrescriptionController,
    PrescriptionHub,
)
from workstation.ui.shell.chart_life import Ask, ChartLife
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController
from workstation.ui.shell.session_lock import SessionLock

if TYPE_CHECKING:  # the media stack loads on a worker thread after start-up
    from workstation.ui.call.call_presenter import CallController


def wire_chart(chart: ChartController, session: ProviderController, window: MainWindow, *,
               ask: Ask | None = None) -> ChartLife:
    """A won claim opens the chart; closing it, or signing out, brings back the visit panel;
    an unsigned chart is settled (kept in My open visits, or returned to the queue) before
    another claim, and signing out and quitting ask first and save its drafts."""
    return ChartLife(chart, session, window, ask=ask)


def wire_prescriptions(prescriptions: PrescriptionController, chart: ChartController,
                       session: ProviderController) -> None:
    """The pane follows the open chart; pushed statuses reach it."""
    def shown(visit_id: str, document: Mapping[str, Any]) -> None:
        client = session.client
        if client is not None:
            prescriptions.open(cast(PrescriptionHub, client), visit_id, document)

    chart.shown.connect(shown)
    chart.closed.connect(prescriptions.close)
    session.prescription_changed.connect(prescriptions.on_changed)


def wire_call(call: CallController, chart: ChartController, session: ProviderController,
              *, ask: Callable[[str, str], bool] | None = None) -> None:
    """The call follows the open chart: a video visit not yet signed gets the call pane;
    another chart, a closed chart or signing out ends the call. Signing while the call is on
    asks first (``ask(title, text)``, a yes/no question) and ends it; the chart learns how the
    call goes (a call that never held needs a word in the note)."""

    def opened(visit_id: str) -> None:
        from workstation.client.hub_client import HubClient

        client = session.client
        call.set_visit(client if isinstance(client, HubClient) else None, visit_id,
                       video=chart.visit_kind != "e_visit" and not chart.signed,
                       chat=chart.chat_lines)

    def before_sign(sign: Callable[[], None]) -> None:
        if not call.in_call:
            sign()
            return
        question = ask or _ask_yes_no(call.pane)
        if question("End the call and sign?",
                    f"The video call with {chart.patient_name.strip() or 'the patient'} is "
                    "still on. Signing ends it for both of you."):
            call.end(then=sign)

    def signed(_visit_id: str) -> None:
        call.set_visit(None, None, video=False)  # a signed visit has no call

    chart.before_sign = before_sign
    chart.opened.connect(opened)
    chart.signed_now.connect(signed)
    chart.closed.connect(lambda: call.set_visit(None, None, video=False))
    call.state_changed.connect(chart.note_call_state)
    session.signal_received.connect(call.on_patient_signal)
    session.signed_out.connect(lambda: call.set_visit(None, None, video=False))


def _ask_yes_no(parent: QWidget) -> Callable[[str, str], bool]:
    def question(title: str, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          parent)
        box.button(QMessageBox.StandardButton.Yes).setText("End call && sign")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        return box.exec() == QMessageBox.StandardButton.Yes

    return question


def wire_call_to_window(call: CallController, session: ProviderController,
                        lock: SessionLock) -> None:
    """While on a call, new-patient alerts hold back; locking hides the floating video (the
    call and its sound go on behind the lock screen)."""
    call.state_changed.connect(lambda _state: session.set_in_call(call.in_call))
    lock.locked.connect(lambda: call.pane.set_floating(False))
