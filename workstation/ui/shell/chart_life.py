"""The chart's life, owned in one place: which visit's chart is open, what a claim, a close, a
sign-out or quitting does to it, and where the provider finds an unsigned visit again.

States: no chart (the visit panel shows what to do next), opening a visit's chart, a chart
open and not signed, a chart open and signed. An unsigned visit is never dropped: it stays
claimed by the provider and listed in My open visits until it is signed or returned to the
queue, also across a sign-out or a crash.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import cast

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from workstation.ui.chart.chart_presenter import ChartController, ChartHub
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.shell.provider_session import ProviderController

# Asks the provider: (title, question, the choices' button texts) -> the chosen text, or None
# for cancel. The app shows a dialog; tests answer themselves.
Ask = Callable[[str, str, Sequence[str]], str | None]

KEEP = "Keep it in My open visits"
RELEASE = "Return the patient to the queue"
SIGN_OUT = "Sign out"
QUIT = "Quit"


class ChartState(enum.Enum):
    NONE = "none"
    OPENING = "opening"
    UNSIGNED = "unsigned"
    SIGNED = "signed"


def ask_with_dialog(parent: QWidget) -> Ask:
    """The app's way to ask: a modal question with one button per choice and Cancel."""

    def ask(title: str, question: str, choices: Sequence[str]) -> str | None:
        box = QMessageBox(QMessageBox.Icon.Question, title, question,
                          QMessageBox.StandardButton.Cancel, parent)
        buttons = [(box.addButton(box.tr(choice), QMessageBox.ButtonRole.AcceptRole), choice)
                   for choice in choices]
        box.setDefaultButton(buttons[0][0])
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return next((choice for button, choice in buttons if button is clicked), None)

    return ask


class ChartLife(QObject):
    """Opens the chart of each won claim and of each visit picked in My open visits, settles
    the open chart before another claim, a sign-out or quitting, and keeps the right side of
    the window in step (the chart, or the visit panel)."""

    def __init__(self, chart: ChartController, session: ProviderController,
                 window: MainWindow, *, ask: Ask | None = None) -> None:
        super().__init__(window)
        self._chart = chart
        self._session = session
        self._window = window
        self._ask = ask or ask_with_dialog(window)
        self._opening: str | None = None
        self._last_opened: str | None = None

        session.before_sign_out = self._before_sign_out
        session.before_claim = self._before_claim
        window.before_close = self._before_close
        session.visit_claimed.connect(self.open)
        session.signed_out.connect(chart.close)
        chart.opened.connect(self._on_chart_opened)
        chart.closed.connect(self._on_chart_closed)
        chart.failed.connect(self._on_chart_failed)
        chart.signed_now.connect(lambda _visit_id: session.refresh_open_visits())
        window.open_visits_view.open_requested.connect(self._on_open_visits_open_requested)
        window.claim_next_action.triggered.connect(self._on_claim_next_triggered)

    @property
    def state(self) -> ChartState:
        if self._opening is not None:
            return ChartState.OPENING
        if self._chart.visit_id is None:
            return ChartState.NONE
        return ChartState.SIGNED if self._chart.signed else ChartState.UNSIGNED

    def open(self, visit_id: str) -> None:
        """Show this visit's chart (the one open before is saved and closed first)."""
        client = self._session.client
        if client is None:
            return
        self._opening = visit_id
        if visit_id != self._last_opened:
            self._window.chart_view.tabs.setCurrentIndex(0)  # a new patient starts on Intake
        self._chart.open(cast(ChartHub, client), visit_id)
        self._window.show_chart()

    # -- before a claim, a sign-out, quitting -------------------------------------------------

    def _before_claim(self, proceed: Callable[[], None]) -> None:
        if self.state is ChartState.OPENING:  # its patient is not known yet: nothing to ask
            self._window.show_message(self.tr("A chart is still opening. Try again in a "
                                              "moment."))
            return
        if self.state is not ChartState.UNSIGNED:
            proceed()
            return
        visit_id, name = self._chart.visit_id, self._chart.patient_name
        assert visit_id is not None
        choices = [KEEP] + ([RELEASE] if self._chart.visit_state == "claimed" else [])
        answer = self._ask(
            self.tr("Claim another patient"),
            self.tr("The visit of %1 is not signed. Keep it in My open visits to finish later, "
                    "or return %1 to the queue for any provider?").replace("%1", name)
            if len(choices) > 1 else
            self.tr("The visit of %1 is not signed. It stays in My open visits to finish "
                    "later.").replace("%1", name),
            choices)
        if answer == KEEP:
            self._chart.flush_then(proceed)
        elif answer == RELEASE:
            self._chart.flush_then(lambda: self._session.release(
                visit_id, done=proceed, failed=self._window.show_message))

    def _before_sign_out(self, proceed: Callable[[], None]) -> None:
        if self._confirm_leaving(SIGN_OUT, self.tr("Sign out")):
            self._chart.flush_then(proceed)

    def _before_close(self, ready: Callable[[], None]) -> None:
        if self._confirm_leaving(QUIT, self.tr("Quit")):
            self._chart.flush_then(ready)

    def _confirm_leaving(self, choice: str, title: str) -> bool:
        # From the lock screen no patient may be named: signing out there goes ahead (the
        # drafts are saved and the visit stays in My open visits).
        if self.state is not ChartState.UNSIGNED or self._window.showing_lock:
            return True
        return self._ask(title, self.tr(
            "The visit of %1 is not signed. What you wrote is saved, and the visit stays in "
            "My open visits for you to finish after you sign in again.").replace(
            "%1", self._chart.patient_name), [choice]) == choice

    # -- the chart's answers ----------------------------------------------------------------

    def _on_chart_opened(self, visit_id: str) -> None:
        if visit_id == self._opening:
            self._opening = None
        self._last_opened = visit_id

    def _on_chart_closed(self) -> None:
        self._session.refresh_open_visits()
        if self._opening is None:  # closed for good, not for another chart
            self._window.visit_panel.show_placeholder()
            self._window.show_visit_panel()

    def _on_chart_failed(self, message: str) -> None:
        self._opening = None
        self._window.show_visit_panel()
        self._window.visit_panel.show_claim_failed(message)
        self._session.refresh_open_visits()

    # -- the provider's requests ------------------------------------------------------------

    def _on_open_visits_open_requested(self, visit_id: str) -> None:
        if visit_id == self._chart.visit_id and self._opening is None:
            self._window.show_chart()
        elif self.state is ChartState.UNSIGNED:  # it stays in My open visits
            self._chart.flush_then(lambda: self.open(visit_id))
        else:
            self.open(visit_id)

    def _on_claim_next_triggered(self) -> None:
        why = self._window.current_claim_list().request_claim_next()
        if why is None:
            return
        waiting = len(self._window.open_visits_view.visit_ids())
        if waiting:
            why += " " + self.tr("You have %n visit(s) to finish in My open visits.", "",
                                 waiting)
        self._window.show_message(why)
        if self.state is ChartState.NONE:
            self._window.visit_panel.show_claim_failed(why)
