"""The presenter of a provider's session: wires the views to the hub client through the bridge.

Views emit requests; this class turns them into hub calls on the asyncio thread and shows
the answers. It holds no widgets of its own and no clinical logic.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.client import hub_events as ev
from workstation.client.hub_answers import (
    Claim,
    HubError,
    PracticeSettings,
    ProviderSession,
    SetupStatus,
)
from workstation.client.hub_client import HubClient
from workstation.core.people import Provider, ServiceLine
from workstation.core.practice import Practice
from workstation.core.queue import QueueEntry
from workstation.ui.shell.main_window import MainWindow
from workstation.ui.widgets.bridge import AsyncBridge, Job
from workstation.ui.widgets.error_text import describe
from workstation.ui.worklists.queue_alert import QueueAlert

log = logging.getLogger(__name__)

SCHEDULE_REFRESH_MS = 60_000


class ProviderHub(Protocol):
    """What the presenter needs of :class:`HubClient` (a fake stands in for it in tests)."""

    base_url: str

    async def setup_status(self) -> SetupStatus: ...
    async def create_first_provider(self, username: str, display_name: str, password: str,
                                    service_lines: Sequence[str], *, npi: str = "",
                                    practice: Practice | None = None) -> Provider: ...
    async def sign_in(self, username: str, password: str, *, remember: bool = False,
                      code: str | None = None) -> ProviderSession: ...
    async def refresh(self, refresh_token: str) -> ProviderSession: ...
    def adopt_session(self, body: Mapping[str, Any]) -> ProviderSession: ...
    async def sign_out(self) -> None: ...
    async def verify_password(self, password: str) -> None: ...
    async def claim(self, visit_id: str) -> Claim: ...
    async def claim_next(self, service_line: str | None = None, *,
                         e_visit: bool = False) -> Claim: ...
    async def release(self, visit_id: str) -> None: ...
    async def schedule(self, day: date | None = None) -> list[dict[str, Any]]: ...
    async def open_visits(self) -> list[dict[str, Any]]: ...
    # Settings > Practice (ui/session/practice_presenter.py), handed this client by app.py.
    async def practice_settings(self) -> PracticeSettings: ...
    async def save_practice_settings(self, npi: str,
                                     practice: Practice) -> PracticeSettings: ...
    def events(self, service_lines: Sequence[str] | None = None,
               ) -> AsyncIterator[ev.HubEvent]: ...
    async def close(self) -> None: ...


class ProviderController(QObject):
    """Sign-in, the live queue and claims for the provider at this workstation.

    Signals:
        signed_in(object, bool): a ProviderSession, and whether "Remember me" was ticked
            (app.py keeps the username in the keyring).
        signed_out(): the provider signed out, or the hub ended the session.
        remembered_sign_in_failed(): the remembered sign-in was refused (expired, revoked):
            app.py forgets it.
        visit_claimed(str): this provider won the claim of a visit (the chart opens next).
        signal_received(str, object): signaling data from the patient of a claimed visit.
        prescription_changed(str, object): a script of a visit moved on (visit id, script).
    """

    signed_in = Signal(object, bool)
    signed_out = Signal()
    remembered_sign_in_failed = Signal()
    visit_claimed = Signal(str)
    signal_received = Signal(str, object)
    prescription_changed = Signal(str, object)

    def __init__(
        self, bridge: AsyncBridge, window: MainWindow, *,
        service_lines: Sequence[ServiceLine] = (),
        client_factory: Callable[[str], ProviderHub] = HubClient,
        alert: QueueAlert | None = None,
    ) -> None:
        super().__init__(window)
        self._bridge = bridge
        self._window = window
        self._service_lines = tuple(service_lines)
        self._client_factory = client_factory
        self._alert = alert if alert is not None else QueueAlert(window)
        self._client: ProviderHub | None = None
        self._session: ProviderSession | None = None
        self._stream: Job | None = None
        self._remembered_username: str | None = None
        # Set by the chart's life (shell/chart_life.py): before signing out, and before a
        # claim, it settles the open chart, then calls the given function (or never, when the
        # provider cancels).
        self.before_sign_out: Callable[[Callable[[], None]], None] | None = None
        self.before_claim: Callable[[Callable[[], None]], None] | None = None
        self._refresh_token: str | None = None
        # Bumped on sign-out: answers to requests of an earlier session are dropped.
        self._generation = 0

        self._sign_in = window.sign_in_view
        self._queue = window.queue_view
        self._evisits = window.evisit_view  # E-Visits: the same line, answered without video
        self._lists = (self._queue, self._evisits)
        self._schedule = window.schedule_view
        self._schedule_timer = QTimer(self)
        self._schedule_timer.setInterval(SCHEDULE_REFRESH_MS)
        self._schedule_timer.timeout.connect(self.refresh_schedule)
        self._panel = window.visit_panel
        self._open_visits = window.open_visits_view
        self._open_visits.release_requested.connect(self._on_visit_panel_release_requested)
        self._open_visits.refresh_requested.connect(self.refresh_open_visits)
        self._sign_in.sign_in_requested.connect(self._on_sign_in_view_sign_in_requested)
        self._sign_in.first_account_requested.connect(
            self._on_sign_in_view_first_account_requested)
        self._queue.claim_requested.connect(self._on_queue_view_claim_requested)
        self._queue.claim_next_requested.connect(self._on_queue_view_claim_next_requested)
        self._evisits.claim_requested.connect(self._on_queue_view_claim_requested)
        self._evisits.claim_next_requested.connect(self._on_evisit_view_claim_next_requested)
        self._schedule.begin_requested.connect(self._on_schedule_view_begin_requested)
        self._schedule.refresh_requested.connect(self.refresh_schedule)
        self._panel.release_requested.connect(self._on_visit_panel_release_requested)
        window.sign_out_requested.connect(self._on_window_sign_out_requested)
        # A window gone (closed for good) hears nothing more from the hub.
        window.destroyed.connect(self._stop_events)
        bridge.add_cleanup(self._close_client)

    def _stop_events(self, *_args: object) -> None:
        self._generation += 1  # whatever is already on its way is dropped
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    # -- public ---------------------------------------------------------------------------

    @property
    def session(self) -> ProviderSession | None:
        return self._session

    @property
    def client(self) -> ProviderHub | None:
        return self._client

    @property
    def hub_url(self) -> str | None:
        return self._client.base_url if self._client else None

    def set_in_call(self, in_call: bool) -> None:
        """The provider is on a video call: new-patient alerts hold back (see QueueAlert)."""
        self._alert.set_in_call(in_call)

    def show_starting(self, message: str = "Starting the hub on this computer…") -> None:
        """While the hub is not there yet (the embedded one is starting)."""
        self._sign_in.show_connecting(message)

    def show_startup_error(self, message: str, title: str | None = None, *,
                           offer_demo: bool = False) -> None:
        """The hub could not be started or reached: say so where the provider looks, under
        ``title`` when the cause is known (no keyring, ...), offering the demo if asked."""
        self._sign_in.show_unavailable(message, title, offer_demo=offer_demo)

    def start(self, hub_url: str, *, username: str | None = None,
              refresh_token: str | None = None) -> None:
        """Use the hub at ``hub_url``: ask whether it needs its first account, then sign in
        with ``refresh_token`` ("remember me") or show the sign-in (``username`` pre-filled)
        or the setup form."""
        if self._client is not None:
            old = self._client
            self._bridge.submit(old.close())
        self._client = self._client_factory(hub_url)
        self._remembered_username = username
        self._refresh_token = refresh_token
        self._sign_in.show_connecting(f"Connecting to the hub at {hub_url}…")
        self._bridge.submit(self._client.setup_status(), self._on_setup_status_answered,
                            self._on_setup_status_failed)

    def adopt(self, hub_url: str, session_body: Mapping[str, Any],
              entries: Sequence[QueueEntry] | None) -> None:
        """Take over a remembered sign-in done before this controller existed (the quick
        start), keeping the queue it painted; the live socket's snapshot follows."""
        if self._client is not None:
            self._bridge.submit(self._client.close())
        self._client = self._client_factory(hub_url)
        self._sign_in.set_hub_address(self._client.base_url)
        session = self._client.adopt_session(session_body)
        self._on_hub_signed_in(session, True, entries)

    def sign_out(self, *, flush: bool = True) -> None:
        """Leave the queue and sign out; the hub is told in the background. With ``flush``,
        the chart's unsaved drafts go to the hub first, while the session is still valid."""
        if flush and self.before_sign_out is not None and self._session is not None:
            self.before_sign_out(lambda: self.sign_out(flush=False))
            return
        self._generation += 1
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        username = self._session.provider.username if self._session else None
        self._session = None
        if self._client is not None:
            self._bridge.submit(self._client.sign_out())
        self._alert.set_signed_in(False)
        for view in self._lists:
            view.show_entries([])
            view.set_claiming(False)
        self._schedule_timer.stop()
        self._schedule.clear()
        self._open_visits.show_visits([])
        self._panel.show_placeholder()
        self._window.show_sign_in()
        self._sign_in.show_sign_in(username)
        self.signed_out.emit()

    # -- setup and sign-in ----------------------------------------------------------------

    def _on_setup_status_answered(self, status: SetupStatus) -> None:
        assert self._client is not None
        self._sign_in.set_hub_address(self._client.base_url)
        if status.needs_first_provider:
            self._sign_in.show_first_account(self._service_lines, status.practice)
        elif self._refresh_token:
            token, self._refresh_token = self._refresh_token, None
            self._sign_in.show_connecting("Signing you in (remembered on this computer)…")
            self._bridge.submit(self._client.refresh(token),
                                lambda session: self._on_hub_signed_in(session, True),
                                self._on_remembered_sign_in_failed)
        else:
            self._sign_in.show_sign_in(self._remembered_username)

    def _on_remembered_sign_in_failed(self, error: BaseException) -> None:
        self.remembered_sign_in_failed.emit()
        self._sign_in.show_sign_in(self._remembered_username)
        expired = isinstance(error, HubError) and error.status == 401
        self._sign_in.show_error("The remembered sign-in has ended. Please sign in again."
                                 if expired else describe(error))

    def _on_setup_status_failed(self, error: BaseException) -> None:
        assert self._client is not None
        self._sign_in.set_hub_address(self._client.base_url)
        self._sign_in.show_sign_in(self._remembered_username)
        self._sign_in.show_error(describe(error))

    def _on_sign_in_view_sign_in_requested(self, username: str, password: str,
                                           remember: bool, code: str) -> None:
        client = self._require_client()
        if client is None:
            return
        self._bridge.submit(
            client.sign_in(username, password, remember=remember, code=code or None),
            lambda session: self._on_hub_signed_in(session, remember),
            self._on_sign_in_failed)

    def _on_sign_in_view_first_account_requested(self, display_name: str, username: str,
                                                 password: str, lines: list[str], npi: str,
                                                 practice: Practice) -> None:
        client = self._require_client()
        if client is None:
            return

        async def create_and_sign_in() -> ProviderSession:
            await client.create_first_provider(username, display_name, password, lines,
                                               npi=npi, practice=practice)
            return await client.sign_in(username, password)

        self._bridge.submit(create_and_sign_in(),
                            lambda session: self._on_hub_signed_in(session, False),
                            self._on_sign_in_failed)

    def _on_hub_signed_in(self, session: ProviderSession, remember: bool,
                          entries: Sequence[QueueEntry] | None = None) -> None:
        assert self._client is not None
        self._session = session
        self._sign_in.clear_passwords()
        self._sign_in.set_busy(False)
        self._sign_in.clear_error()
        self._panel.show_placeholder()
        mine = [line for line in self._service_lines
                if line.code in session.provider.service_lines]
        for view in self._lists:
            view.set_service_lines(mine)
        self._window.show_queue(entries or ())
        for view in self._lists:
            view.show_connecting()
            view.set_live(True)
        self._window.show_workspace(session.provider.display_name)
        self._alert.set_signed_in(True)
        self.refresh_schedule()
        self.refresh_open_visits()
        self._schedule_timer.start()
        generation = self._generation
        self._stream = self._bridge.stream(
            self._client.events(),
            lambda event: self._on_hub_event(event, generation),
            lambda error: self._on_hub_events_failed(error, generation))
        self.signed_in.emit(session, remember)

    def _on_sign_in_failed(self, error: BaseException) -> None:
        code = error.code if isinstance(error, HubError) else ""
        if code == "code_required":
            self._sign_in.ask_for_code(describe(error))
        else:
            self._sign_in.show_error(describe(error), about_code=code == "bad_code")

    # -- the live queue -------------------------------------------------------------------

    def _on_hub_event(self, event: ev.HubEvent, generation: int) -> None:
        if generation != self._generation:
            return
        if isinstance(event, ev.ConnectionChanged):
            if event.connected:
                for view in self._lists:
                    view.show_connected(self._client.base_url if self._client else "")
            else:
                for view in self._lists:
                    view.show_reconnecting()
        elif isinstance(event, ev.QueueSnapshot):
            self._window.show_queue(event.entries)
        elif isinstance(event, ev.QueueAdded):
            (self._evisits if event.entry.e_visit else self._queue).add_entry(event.entry)
            self._alert.patient_joined(event.entry, sum(len(v.entries()) for v in self._lists))
        elif isinstance(event, ev.QueueClaimed | ev.QueueLeft):
            self._remove(event.visit_id)
        elif isinstance(event, ev.Signal):
            self.signal_received.emit(event.visit_id, event.data)
        elif isinstance(event, ev.PrescriptionChanged):
            self.prescription_changed.emit(event.visit_id, event.prescription)

    def _on_hub_events_failed(self, error: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        if isinstance(error, HubError) and error.status == 401:
            username = self._session.provider.username if self._session else None
            self.sign_out(flush=False)  # the session is gone: saves could not succeed
            self._sign_in.show_sign_in(username)
            self._sign_in.show_error(error.message)
            return
        log.error("The queue stream stopped", exc_info=error)
        for view in self._lists[1:]:
            view.show_disconnected("Lost the live queue.")
        self._queue.show_disconnected(
            "Lost the live queue. Sign out and sign in again to reconnect.")

    # -- claims ---------------------------------------------------------------------------

    def _on_queue_view_claim_requested(self, visit_id: str) -> None:
        client = self._require_client()
        if client is None or self._session is None:
            return
        self._claim(lambda: client.claim(visit_id), visit_id)

    def _on_queue_view_claim_next_requested(self) -> None:
        client = self._require_client()
        if client is None or self._session is None:
            return
        self._claim(lambda: client.claim_next(self._queue.service_line_filter), None)

    def _claim(self, request: Callable[[], Coroutine[Any, Any, Claim]],
               visit_id: str | None) -> None:
        """``request`` makes the hub call once the claim goes ahead (it may not)."""
        if self.before_claim is not None:
            hook, self.before_claim = self.before_claim, None  # not asked again inside
            try:
                hook(lambda: self._claim_now(request, visit_id))
            finally:
                self.before_claim = hook
            return
        self._claim_now(request, visit_id)

    def _claim_now(self, request: Callable[[], Coroutine[Any, Any, Claim]],
                   visit_id: str | None) -> None:
        generation = self._generation
        for view in self._lists:
            view.set_claiming(True)
        self._bridge.submit(request(),
                            lambda claim: self._on_claim_won(claim, generation),
                            lambda error: self._on_claim_lost(error, visit_id, generation))

    def _on_claim_won(self, claim: Claim, generation: int) -> None:
        if generation != self._generation:
            return
        for view in self._lists:
            view.set_claiming(False)
        entry = self._remove(claim.visit_id)
        self._panel.show_claimed(claim.visit_id, entry)
        self.refresh_schedule()
        self.refresh_open_visits()
        self.visit_claimed.emit(claim.visit_id)

    def _on_claim_lost(self, error: BaseException, visit_id: str | None,
                       generation: int) -> None:
        if generation != self._generation:
            return
        for view in self._lists:
            view.set_claiming(False)
        if visit_id is not None and isinstance(error, HubError) \
                and error.code in ("already_claimed", "not_found"):
            self._remove(visit_id)
        self._panel.show_claim_failed(describe(error))

    def _on_evisit_view_claim_next_requested(self) -> None:
        client = self._require_client()
        if client is None or self._session is None:
            return
        self._claim(lambda: client.claim_next(self._evisits.service_line_filter, e_visit=True),
                    None)

    def _remove(self, visit_id: str) -> QueueEntry | None:
        removed = [view.remove_entry(visit_id) for view in self._lists]
        return next((e for e in removed if e is not None), None)

    def _on_schedule_view_begin_requested(self, visit_id: str) -> None:
        client = self._require_client()
        if client is None or self._session is None:
            return
        self._claim(lambda: client.claim(visit_id), visit_id)

    # -- today's schedule -----------------------------------------------------------------

    def refresh_schedule(self) -> None:
        """Ask the hub for today's appointments (at sign-in, after a claim, every minute)."""
        if self._client is None or self._session is None:
            return
        generation = self._generation

        def shown(items: list[dict[str, Any]]) -> None:
            if generation == self._generation:
                self._schedule.show_appointments(items)

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self._schedule.show_error(describe(error))

        if not self._schedule.appointments():
            self._schedule.show_loading()
        self._bridge.submit(self._client.schedule(), shown, failed)

    def refresh_open_visits(self) -> None:
        """Ask the hub for this provider's claimed visits not signed yet (at sign-in, after a
        claim, a release, a signature or a chart closed)."""
        if self._client is None or self._session is None:
            return
        generation = self._generation

        def shown(items: list[dict[str, Any]]) -> None:
            if generation == self._generation:
                self._open_visits.show_visits(items)

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self._open_visits.show_error(describe(error))

        self._bridge.submit(self._client.open_visits(), shown, failed)

    def release(self, visit_id: str, done: Callable[[], None] | None = None,
                failed: Callable[[str], None] | None = None) -> None:
        """Put a claimed visit back in the queue; ``done`` or ``failed`` (with words for the
        provider) follows the hub's answer."""
        client = self._require_client()
        if client is None:
            return
        generation = self._generation

        def released(_result: None) -> None:
            if generation == self._generation:
                self._panel.show_placeholder()
                self.refresh_open_visits()
                if done is not None:
                    done()

        def refused(error: BaseException) -> None:
            if generation == self._generation:
                self._panel.set_releasing(False)
                self.refresh_open_visits()
                message = describe(error)
                if failed is not None:
                    failed(message)
                else:
                    self._panel.show_claim_failed(message)

        self._panel.set_releasing(True)
        self._bridge.submit(client.release(visit_id), released, refused)

    def _on_visit_panel_release_requested(self, visit_id: str) -> None:
        self.release(visit_id)

    def _on_window_sign_out_requested(self) -> None:
        self.sign_out()

    # -- helpers --------------------------------------------------------------------------

    def _require_client(self) -> ProviderHub | None:
        if self._client is None:
            self._sign_in.show_error("The hub is not ready yet. Wait a moment and try again.")
        return self._client

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.close()

