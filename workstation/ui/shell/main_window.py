"""The provider's main window: arranges the views; the presenter does the wiring."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleEvent,
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from workstation.core.demo import BANNER
from workstation.core.queue import QueueEntry
from workstation.ui.session.lock_view import LockView
from workstation.ui.session.sign_in_view import SignInView
from workstation.ui.worklists.open_visits_view import OpenVisitsView
from workstation.ui.worklists.queue_view import QueueView
from workstation.ui.worklists.schedule_view import ScheduleView
from workstation.ui.worklists.visit_panel import VisitPanel

if TYPE_CHECKING:  # built on first use: the queue paints without waiting for the chart
    from workstation.ui.call.call_pane import CallPane
    from workstation.ui.chart.chart_view import ChartView
    from workstation.ui.prescriptions.prescription_pane import PrescriptionPane

# Source texts, translated where they are shown; the markers let lupdate find them.
APP_TITLE = str(QT_TRANSLATE_NOOP("MainWindow", "Workstation"))
EVISIT_TITLE = str(QT_TRANSLATE_NOOP("MainWindow", "E-Visits waiting"))
PRACTICE_TEXT = str(QT_TRANSLATE_NOOP("MainWindow", "&Practice…"))
LIST_SHARE = 0.42  # of the workspace's width, for the work lists (until the provider moves it)


class MainWindow(QMainWindow):
    """Sign-in first; once signed in, the queue on the left and the visit on the right.

    Signals:
        sign_out_requested(): the provider chose File > Sign out.
        lock_requested(): the provider chose File > Lock (Ctrl+L).
    """

    sign_out_requested = Signal()
    lock_requested = Signal()

    def __init__(self, queue_view: QueueView | None = None,
                 parent: QWidget | None = None, *,
                 schedule_view: ScheduleView | None = None,
                 evisit_view: QueueView | None = None) -> None:
        super().__init__(parent)
        self.sign_in_view = SignInView()
        self.queue_view = queue_view or QueueView()
        self.schedule_view = schedule_view or ScheduleView()
        self.evisit_view = evisit_view or QueueView(title=self.tr(EVISIT_TITLE))
        self.work_lists = QTabWidget()
        self.work_lists.setAccessibleName(self.tr("Work lists"))
        self.work_lists.addTab(self.queue_view, self.tr("On-demand &queue"))
        self.work_lists.addTab(self.schedule_view, self.tr("Today's sc&hedule"))
        self.work_lists.addTab(self.evisit_view, self.tr("&E-Visits"))
        self.open_visits_view = OpenVisitsView()
        self.work_lists.addTab(self.open_visits_view, self.tr("My open &visits"))
        self.open_visits_view.count_changed.connect(self._on_open_visits_count_changed)
        self.visit_panel = VisitPanel()
        self._chart_view: ChartView | None = None
        self._prescription_pane: PrescriptionPane | None = None
        self._right = QStackedWidget()
        self._right.addWidget(self.visit_panel)

        self.workspace = QSplitter(Qt.Orientation.Horizontal)
        self.workspace.setAccessibleName(self.tr("Work lists and visit"))
        self.workspace.setChildrenCollapsible(False)
        self.workspace.addWidget(self.work_lists)
        self.workspace.addWidget(self._right)
        self.workspace.setStretchFactor(0, 2)
        self.workspace.setStretchFactor(1, 3)

        self._pages = QStackedWidget()
        self._pages.addWidget(self.sign_in_view)
        self._pages.addWidget(self.workspace)
        self.lock_view = LockView()
        self._pages.addWidget(self.lock_view)
        self.setCentralWidget(self._pages)

        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self.export_action = QAction(self.tr("&Export visit as FHIR…"), self)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_action.setEnabled(False)
        self.lock_action = QAction(self.tr("&Lock"), self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setEnabled(False)
        self.sign_out_action = QAction(self.tr("&Sign out"), self)
        self.sign_out_action.setEnabled(False)
        self.quit_action = QAction(self.tr("&Quit"), self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Shift+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        # One shortcut for the whole window, whatever has the focus (the chart, a list).
        self.claim_next_action = QAction(self.tr("Claim &next patient"), self)
        self.claim_next_action.setShortcut(QKeySequence("Ctrl+N"))
        self.claim_next_action.setEnabled(False)
        file_menu.insertAction(self.export_action, self.claim_next_action)
        file_menu.insertSeparator(self.export_action)

        tools_menu = self.menuBar().addMenu(self.tr("&Tools"))
        self.device_check_action = QAction(self.tr("Check camera and &microphone…"), self)
        self.device_check_action.setEnabled(False)
        tools_menu.addAction(self.device_check_action)

        # No Alt+letter: every letter of "Settings" is taken where the menu bar shows with it
        # (tests/ui/test_mnemonics.py). Alt (or F10) and the arrows reach it; Ctrl+, opens the
        # item, the usual key for settings.
        settings_menu = self.menuBar().addMenu(self.tr("Settings"))
        settings_menu.setToolTipsVisible(True)
        self.practice_action = QAction(self.tr(PRACTICE_TEXT), self)
        self.practice_action.setShortcut(QKeySequence("Ctrl+,"))
        self.practice_action.setEnabled(False)
        settings_menu.addAction(self.practice_action)
        # Open before sign-in too: IT looks here to see what the site file set.
        self.settings_action = QAction(self.tr("&Workstation settings…"), self)
        self.settings_action.setToolTip(self.tr(
            "Every setting in effect, where it came from, and which the site locks"))
        settings_menu.addAction(self.settings_action)
        self.settings_dialog: QDialog | None = None  # the last one opened
        # Whether the signed-in provider keeps the practice details (set_practice_access).
        self._practice_allowed = False

        self.provider_label = QLabel()
        self.provider_label.setAccessibleName(self.tr("Signed-in provider"))
        self.statusBar().addPermanentWidget(self.provider_label)

        self._waiting = 0
        self._split_chosen = False
        # Set by wire_chart: called with a function to run once it is safe to close.
        self.before_close: Callable[[Callable[[], None]], None] | None = None
        self._close_ready = False
        self.sign_out_action.triggered.connect(self._on_sign_out_action_triggered)
        self.lock_action.triggered.connect(self.lock_requested)
        self.quit_action.triggered.connect(self._on_quit_action_triggered)
        self.queue_view.waiting_count_changed.connect(self._on_waiting_count_changed)
        self.evisit_view.waiting_count_changed.connect(self._on_waiting_count_changed)
        self.resize(1366, 768)
        self.show_sign_in()

    def set_demo(self, menu: QMenu, status: QLabel) -> None:
        """The demo: its menu, where its scenario stands (status bar), and a banner across
        the top of the window that this is the demo."""
        self.menuBar().addMenu(menu)
        self.demo_menu = menu
        self.demo_banner = QLabel(f"<b>{BANNER}</b> — " + self.tr(
            "simulated patients on a demo database of this computer"))
        self.demo_banner.setAccessibleName(BANNER)
        self.demo_banner.setStyleSheet(
            "QLabel { background: #7a2e00; color: white; padding: 4px 10px; }")
        bar = QToolBar(self.tr("Demo"))
        bar.setObjectName("demo_banner")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setEnabled(False)  # it cannot be hidden
        bar.addWidget(self.demo_banner)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.statusBar().addPermanentWidget(status)

    @property
    def showing_workspace(self) -> bool:
        return self._pages.currentWidget() is self.workspace

    @property
    def showing_chart(self) -> bool:
        return self._chart_view is not None and self._right.currentWidget() is self._chart_view

    @property
    def chart_view(self) -> ChartView:
        """The chart, built the first time it is asked for (after the queue has painted)."""
        if self._chart_view is None:
            from workstation.ui.chart.chart_view import ChartView
            from workstation.ui.prescriptions.prescription_pane import PrescriptionPane

            self._prescription_pane = PrescriptionPane()
            view = self._chart_view = ChartView(prescriptions=self._prescription_pane)
            self._right.addWidget(view)
            self.export_action.triggered.connect(view.export_requested)
            view.export_available.connect(self.export_action.setEnabled)
        return self._chart_view

    @property
    def prescription_pane(self) -> PrescriptionPane:
        """The chart's Prescriptions tab (built with the chart)."""
        if self._prescription_pane is None:
            self.chart_view  # noqa: B018  (builds it)
        assert self._prescription_pane is not None
        return self._prescription_pane

    def set_call_pane(self, pane: CallPane) -> None:
        """The call pane above the chart's tabs, given room when its pictures appear and
        back to its lines when they go."""
        self.chart_view.set_call_pane(pane)
        pane.room_wanted.connect(self.chart_view.give_call_room)
        pane.room_released.connect(self.chart_view.return_call_room)

    def show_queue(self, entries: Sequence[QueueEntry]) -> None:
        """Video visits in the queue, E-Visits in their inbox."""
        self.queue_view.show_entries([e for e in entries if not e.e_visit])
        self.evisit_view.show_entries([e for e in entries if e.e_visit])

    def show_chart(self) -> None:
        self._right.setCurrentWidget(self.chart_view)
        self.chart_view.tabs.setFocus()

    def show_visit_panel(self) -> None:
        self._right.setCurrentWidget(self.visit_panel)

    def show_message(self, text: str) -> None:
        """A passing word where the provider looks last: the status bar, for 15 seconds (and
        read out by screen readers)."""
        self.statusBar().showMessage(text, 15_000)
        QAccessible.updateAccessibility(QAccessibleEvent(self.statusBar(), QAccessible.Event.Alert))

    def current_claim_list(self) -> QueueView:
        """The list Ctrl+N claims from: the E-Visits when they are shown, else the queue."""
        return self.evisit_view if self.work_lists.currentWidget() is self.evisit_view \
            else self.queue_view

    def save_layout(self, settings: QSettings) -> None:
        """Window size and place, and how the provider split the work lists and the chart."""
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/workspace", self.workspace.saveState())
        settings.setValue("window/work_list_tab", self.work_lists.currentIndex())

    def restore_layout(self, settings: QSettings) -> None:
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        workspace = settings.value("window/workspace")
        if isinstance(workspace, QByteArray) and not workspace.isEmpty():
            self._split_chosen = self.workspace.restoreState(workspace)
        tab = settings.value("window/work_list_tab", 0, type=int)
        if isinstance(tab, int) and 0 <= tab < self.work_lists.count():
            self.work_lists.setCurrentIndex(tab)

    @property
    def showing_lock(self) -> bool:
        return self._pages.currentWidget() is self.lock_view

    def show_lock(self, provider_name: str) -> None:
        """Nothing of any patient stays on screen; only the password brings it back."""
        self._pages.setCurrentWidget(self.lock_view)
        self.lock_action.setEnabled(False)
        self.device_check_action.setEnabled(False)
        self.claim_next_action.setEnabled(False)
        self.practice_action.setEnabled(False)
        self.lock_view.show_for(provider_name)
        self._update_title()

    def show_sign_in(self) -> None:
        self._pages.setCurrentWidget(self.sign_in_view)
        self.lock_action.setEnabled(False)
        self.sign_out_action.setEnabled(False)
        self.device_check_action.setEnabled(False)
        self.claim_next_action.setEnabled(False)
        self.practice_action.setEnabled(False)
        self.provider_label.clear()
        self._update_title()

    def show_workspace(self, provider_name: str) -> None:
        self._pages.setCurrentWidget(self.workspace)
        if not self._split_chosen:
            # Until the provider moves it: the lists get room for a condition in full at
            # 1366 px, the chart the rest.
            width = max(self.workspace.width(), 1)
            self.workspace.setSizes([int(width * LIST_SHARE), width - int(width * LIST_SHARE)])
            self._split_chosen = True
        self.sign_out_action.setEnabled(True)
        self.lock_action.setEnabled(True)
        self.device_check_action.setEnabled(True)
        self.claim_next_action.setEnabled(True)
        self.practice_action.setEnabled(self._practice_allowed)
        self.provider_label.setText(self.tr("Signed in as %1").replace("%1", provider_name))
        self.queue_view.table.setFocus()
        self._update_title()

    def set_practice_access(self, allowed: bool, short_reason: str = "",
                            reason: str = "") -> None:
        """Settings > Practice is for the provider who keeps the practice details; for anyone
        else the item is off and says why (a few words in the menu, the hub's reason as its
        tip)."""
        self._practice_allowed = allowed
        text = self.tr(PRACTICE_TEXT)
        if not allowed and short_reason:
            text = self.tr("%1 (%2)").replace("%1", text).replace("%2", short_reason)
        self.practice_action.setText(text)
        tip = self.tr("The practice address and phone on prescriptions, and your NPI") \
            if allowed else reason
        self.practice_action.setToolTip(tip)
        self.practice_action.setStatusTip(tip)
        self.practice_action.setEnabled(allowed and self.showing_workspace)

    def _update_title(self) -> None:
        waiting = self._waiting if self.showing_workspace else 0
        title = self.tr(APP_TITLE)
        #: %1 is the application's name; %n the number of patients waiting.
        self.setWindowTitle(self.tr("%1 — %n waiting", "", waiting).replace("%1", title)
                            if waiting else title)
        # The dock/taskbar badge; Qt can only place it once the app has a desktop file name
        # (and warns otherwise), which app.py sets.
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication) and app.desktopFileName():
            app.setBadgeNumber(waiting)

    def _on_waiting_count_changed(self, _count: int) -> None:
        self._waiting = len(self.queue_view.entries()) + len(self.evisit_view.entries())
        self._update_title()

    def _on_open_visits_count_changed(self, count: int) -> None:
        index = self.work_lists.indexOf(self.open_visits_view)
        self.work_lists.setTabText(index, self.tr("My open &visits (%1)").replace(
            "%1", str(count)) if count else self.tr("My open &visits"))

    def _on_sign_out_action_triggered(self) -> None:
        self.sign_out_requested.emit()

    def _on_quit_action_triggered(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        """Closing waits for ``before_close`` (the chart's drafts saved), then closes."""
        if self.before_close is None or self._close_ready:
            super().closeEvent(event)
            return
        answered_now = True  # nothing to wait for: ``ready`` runs before before_close returns
        ready_now = False

        def ready() -> None:
            nonlocal ready_now
            if answered_now:
                ready_now = True  # close() from inside closeEvent would be ignored by Qt
                return
            self._close_ready = True
            self.close()
            self._close_ready = False

        self.before_close(ready)
        answered_now = False
        if ready_now:
            super().closeEvent(event)
        else:
            event.ignore()
