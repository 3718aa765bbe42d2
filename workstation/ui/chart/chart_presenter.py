"""The presenter of the chart: opens it through the hub, saves drafts as the provider types,
searches codes, signs, adds addenda and exports.

Drafts are saved within 2 seconds of the last change (``SAVE_DELAY_MS`` after typing stops),
and retried while the hub is away; the pane keeps what was typed whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from workstation.client.hub_answers import HubError
from workstation.core.charting import (
    DRAFT_PANES,
    PANES,
    missing_for_signing,
    note_from_drafts,
)
from workstation.ui.chart.chart_view import ChartView
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.error_text import describe
from workstation.ui.widgets.site_time import site_time

if TYPE_CHECKING:
    from workstation.storage.draft_cache import DraftCache

log = logging.getLogger(__name__)

SAVE_DELAY_MS = 1000
RETRY_MS = 5000
SEARCH_DELAY_MS = 250
FLUSH_TIMEOUT_MS = 5000


class ChartHub(Protocol):
    base_url: str

    async def open_chart(self, visit_id: str) -> dict[str, Any]: ...
    async def save_draft(self, visit_id: str, pane: str, body: Mapping[str, Any],
                         ) -> dict[str, Any]: ...
    async def sign(self, visit_id: str, panes: Mapping[str, Mapping[str, Any]],
                   ) -> dict[str, Any]: ...
    async def add_addendum(self, visit_id: str, text: str) -> dict[str, Any]: ...
    async def export_fhir(self, visit_id: str) -> str: ...
    async def search_diagnoses(self, query: str, condition: str | None = None,
                               ) -> list[dict[str, Any]]: ...


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


class ChartController(QObject):
    """One chart at a time.

    Signals:
        opened(str): the chart of this visit is shown.
        shown(str, object): the same, with the chart document (for the prescriptions).
        closed(): the chart was closed (after signing, or on sign-out).
        failed(str): the chart could not be opened; words for the provider.
        signed_now(str): the provider signed the open chart's note (visit id).
    """

    opened = Signal(str)
    signed_now = Signal(str)
    shown = Signal(str, object)
    closed = Signal()
    failed = Signal(str)

    def __init__(self, bridge: AsyncBridge, view: ChartView, *,
                 ask_save_path: Callable[[str], str] | None = None,
                 clock: Callable[[], datetime] = datetime.now,
                 cache: DraftCache | None = None) -> None:
        super().__init__(view)
        self._cache = cache  # this computer's copy of what the hub has not confirmed yet
        self._bridge = bridge
        self._view = view
        self._client: ChartHub | None = None
        self._visit_id: str | None = None
        self._condition: str | None = None
        self._signed = False
        self._dirty: set[str] = set()
        self._in_flight: set[str] = set()
        self._generation = 0
        self.visit_kind = ""  # of the open chart: "on_demand", "scheduled" or "e_visit"
        self.visit_state = ""  # of the open chart when it opened ("claimed", "in_call", ...)
        self.patient_name = ""  # of the open chart, for questions about it
        self.chat_lines: list[dict[str, Any]] = []  # the open chart's in-call chat so far
        # The open video visit's call never connected, or dropped for good (as the hub says
        # at opening, then as the call goes): signing asks what happened.
        self._call_failed = False
        # Asked before signing, with what to do next (the wiring ends a connected call first).
        self.before_sign: Callable[[Callable[[], None]], None] | None = None
        self._clock = clock
        self._ask_save_path = ask_save_path or self._default_save_path
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.timeout.connect(self._save_dirty)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search)

        # Answers that arrive after the window is gone (a save still in flight) are dropped.
        view.destroyed.connect(lambda *_args: self._drop_pending_answers())
        view.pane_changed.connect(self._on_pane_changed)
        view.diagnosis.search_requested.connect(lambda _text: self._search_timer.start())
        view.disposition.sign_requested.connect(self._sign)
        view.disposition.addendum_requested.connect(self._add_addendum)
        view.export_requested.connect(self._export)
        # Closing waits for the drafts to reach the hub: reopened, the chart shows them.
        view.close_requested.connect(lambda: self.flush_then(self.close))

    # -- public -----------------------------------------------------------------------------

    @property
    def has_cache(self) -> bool:
        return self._cache is not None

    def set_cache(self, cache: DraftCache | None) -> None:
        """The local copy store, once opened off the GUI thread at start."""
        self._cache = cache

    @property
    def visit_id(self) -> str | None:
        return self._visit_id

    @property
    def unsaved_panes(self) -> set[str]:
        return set(self._dirty | self._in_flight)

    def open(self, client: ChartHub, visit_id: str) -> None:
        self.close()
        self._client = client
        self._visit_id = visit_id
        generation = self._generation
        self._view.set_save_status(self.tr("Opening the chart…"))
        self._bridge.submit(client.open_chart(visit_id),
                            lambda chart: self._on_opened(chart, generation),
                            lambda error: self._on_open_failed(error, generation))

    def close(self) -> None:
        """Forget the chart; unsaved drafts are flushed first when the hub is there."""
        if self._visit_id is not None and self._dirty and not self._signed:
            self._save_dirty()
        self._generation += 1
        self._save_timer.stop()
        self._search_timer.stop()
        had = self._visit_id is not None
        self._visit_id = None
        self._condition = None
        self._signed = False
        self._dirty.clear()
        self._in_flight.clear()
        self._view.clear()
        if had:
            self.closed.emit()

    def _drop_pending_answers(self) -> None:
        self._generation += 1

    @property
    def signed(self) -> bool:
        """The open chart's note is signed (read-only)."""
        return self._signed

    def flush(self) -> None:
        """Save every changed pane now (before signing, locking or quitting)."""
        self._save_timer.stop()
        self._save_dirty()

    def flush_then(self, done: Callable[[], None], timeout_ms: int = FLUSH_TIMEOUT_MS) -> None:
        """Save every changed pane, then call ``done`` once no save is in flight (saved, or
        failed and kept on this computer), or after ``timeout_ms``: before sign-out or quit."""
        self.flush()
        deadline = time.monotonic() + timeout_ms / 1000

        def check() -> None:
            if not self._in_flight or time.monotonic() >= deadline:
                done()
            else:  # with the controller as context: nothing runs once the window is gone
                QTimer.singleShot(50, self, check)

        check()

    # -- opening ----------------------------------------------------------------------------

    def _on_opened(self, chart: dict[str, Any], generation: int) -> None:
        if generation != self._generation:
            return
        self._condition = str(chart["visit"]["condition"])
        self.visit_kind = str(chart["visit"].get("kind", ""))
        self.visit_state = str(chart["visit"].get("state", ""))
        patient = chart.get("patient") or {}
        self.patient_name = f"{patient.get('given_name', '')} {patient.get('family_name', '')}"
        self.chat_lines = list(chart.get("chat") or [])
        self._call_failed = bool(chart["visit"].get("call_failed"))
        self._signed = chart.get("note") is not None
        self._view.show_chart(chart)
        self._view.set_save_status(self.tr("Signed") if self._signed else self._saved_text(
            bool(chart.get("drafts"))))
        self._update_missing()
        if self._cache is not None and self._client is not None and not self._signed:
            assert self._visit_id is not None
            self._bridge.submit(
                asyncio.to_thread(self._cache.get, self._client.base_url, self._visit_id),
                partial(self._on_local_copies, generation))
        assert self._visit_id is not None
        self.opened.emit(self._visit_id)
        self.shown.emit(self._visit_id, chart)

    def _on_local_copies(self, generation: int, panes: dict[str, dict[str, Any]]) -> None:
        """Words typed here that the hub never confirmed win over the hub's older draft."""
        if generation != self._generation or not panes or self._signed:
            return
        self._view.set_panes(panes)
        self._dirty.update(p for p in panes if p in DRAFT_PANES)
        self._update_missing()
        self._view.set_save_status(self.tr(
            "Restored unsaved work from this computer; saving it now."))
        self._save_timer.start(0)

    def _on_open_failed(self, error: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        message = describe(error)
        self._view.set_save_status(self.tr("Could not open the chart"), problem=True)
        self._visit_id = None
        self.failed.emit(message)

    # -- drafts -----------------------------------------------------------------------------

    def _on_pane_changed(self, pane: str) -> None:
        if self._visit_id is None or self._signed or pane not in DRAFT_PANES:
            return
        self._dirty.add(pane)
        self._view.set_save_status(self.tr("Unsaved changes…"))
        self._save_timer.start(SAVE_DELAY_MS)
        self._update_missing()

    def _save_dirty(self) -> None:
        if self._client is None or self._visit_id is None:
            return
        panes = self._view.panes()
        generation = self._generation
        for pane in sorted(self._dirty - self._in_flight):
            self._dirty.discard(pane)
            self._in_flight.add(pane)
            self._bridge.submit(self._save(self._client, self._visit_id, pane, panes[pane]),
                                partial(self._on_saved, pane, generation),
                                partial(self._on_save_failed, pane, generation))
        if self._in_flight:
            self._view.set_save_status(self.tr("Saving…"))

    async def _save(self, client: ChartHub, visit_id: str, pane: str,
                    body: dict[str, Any]) -> None:
        """Keep it here first (encrypted), then give it to the hub."""
        if self._cache is not None:
            await asyncio.to_thread(self._cache.put, client.base_url, visit_id, pane, body,
                                    datetime.now(UTC))
        await client.save_draft(visit_id, pane, body)

    def _forget_local(self, pane: str | None = None) -> None:
        if self._cache is not None and self._client is not None and self._visit_id:
            self._bridge.submit(asyncio.to_thread(self._cache.discard, self._client.base_url,
                                                  self._visit_id, pane))

    def _on_saved(self, pane: str, generation: int, _saved: object) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(pane)
        if pane not in self._dirty:  # nothing newer typed: the hub has the latest words
            self._forget_local(pane)
        if not self._in_flight and not self._dirty:
            self._view.set_save_status(self._saved_text(True))

    def _on_save_failed(self, pane: str, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(pane)
        self._dirty.add(pane)  # what was typed stays in the pane and is sent again
        if self._signed:
            return  # a save that lost the race with signing: the signed note stands
        if isinstance(error, HubError) and error.status == 401:
            # No retry can succeed; the words stay in the pane (and on this computer).
            self._view.set_save_status(self.tr(
                "Not saved: your session has ended. Sign in again to save this chart."),
                problem=True)
            return
        if isinstance(error, HubError) and error.status in (403, 404, 409):
            self._view.set_save_status(describe(error), problem=True)
            self._dirty.clear()
            return
        self._view.set_save_status(
            self.tr("Not saved: the hub is not answering. Retrying; keep working."),
            problem=True)
        self._save_timer.start(RETRY_MS)

    def _saved_text(self, saved: bool) -> str:
        if not saved:
            return ""
        return self.tr("Draft saved %1").replace(
            "%1", site_time(self._clock().astimezone(), self._view.zone, date=False,
                            seconds=True))

    def note_call_state(self, state: str) -> None:
        """The open chart's call moved on: connected, it holds; dropped, it failed unless it
        comes back."""
        if self._visit_id is None or self._signed:
            return
        if state == "connected":
            self._call_failed = False
        elif state in ("reconnecting", "away"):
            self._call_failed = True
        else:
            return
        self._view.disposition.set_call_failed(self._call_failed)
        self._update_missing()

    def _missing(self, panes: Mapping[str, Mapping[str, Any]]) -> list[str]:
        return missing_for_signing(note_from_drafts(panes), call_failed=self._call_failed)

    def _update_missing(self) -> None:
        self._view.disposition.set_missing(self._missing(self._view.panes()))

    # -- diagnosis search -------------------------------------------------------------------

    def _search(self) -> None:
        if self._client is None or self._visit_id is None:
            return
        query = self._view.diagnosis.search_edit.text().strip()
        generation = self._generation

        def found(codes: list[dict[str, Any]]) -> None:
            if generation == self._generation \
                    and self._view.diagnosis.search_edit.text().strip() == query:
                self._view.diagnosis.show_results(codes, shortlist=not query)
                if query and not codes:
                    self._view.diagnosis.show_message(self.tr(
                        "No billable ICD-10-CM code matches. Try other words or a code."))

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self._view.diagnosis.show_message(describe(error))

        self._bridge.submit(self._client.search_diagnoses(query, self._condition), found,
                            failed)

    # -- signing ----------------------------------------------------------------------------

    def _sign(self) -> None:
        if self._client is None or self._visit_id is None or self._signed:
            return
        panes = {pane: body for pane, body in self._view.panes().items() if pane in PANES}
        missing = self._missing(panes)
        if missing:
            self._view.disposition.set_missing(missing)
            return
        if self.before_sign is not None:
            visit_id = self._visit_id
            self.before_sign(lambda: self._sign_now(visit_id))
        else:
            self._sign_now(self._visit_id)

    def _sign_now(self, visit_id: str | None) -> None:
        """Sign what the panes say now (the chart may have changed while a question was
        asked: nothing is signed for another visit)."""
        if self._client is None or visit_id is None or visit_id != self._visit_id \
                or self._signed:
            return
        panes = {pane: body for pane, body in self._view.panes().items() if pane in PANES}
        self._save_timer.stop()
        generation = self._generation
        self._view.disposition.sign_button.setEnabled(False)
        self._view.set_save_status(self.tr("Signing…"))
        self._bridge.submit(self._client.sign(self._visit_id, panes),
                            lambda note: self._on_signed(note, generation),
                            lambda error: self._on_sign_failed(error, generation))

    def _on_signed(self, note: dict[str, Any], generation: int) -> None:
        if generation != self._generation:
            return
        self._signed = True
        self._dirty.clear()
        self._forget_local()
        self._view.show_signed(note, ())
        self._view.set_save_status(self.tr("Signed"))
        if self._visit_id is not None:
            self.signed_now.emit(self._visit_id)

    def _on_sign_failed(self, error: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        if isinstance(error, HubError) and error.missing:
            self._view.disposition.set_missing(error.missing)
        else:
            self._view.disposition.set_missing([])
            self._view.disposition.missing_label.setText(
                self.tr("Not signed: ") + describe(error))
        self._view.set_save_status(self.tr("Not signed"), problem=True)
        if self._dirty:  # signing stopped the autosave: what was typed must still be saved
            self._save_timer.start(SAVE_DELAY_MS)

    def _add_addendum(self, text: str) -> None:
        if self._client is None or self._visit_id is None or not self._signed:
            return
        client, visit_id, generation = self._client, self._visit_id, self._generation

        async def add_and_reload() -> dict[str, Any]:
            await client.add_addendum(visit_id, text)
            return await client.open_chart(visit_id)

        def done(chart: dict[str, Any]) -> None:
            if generation == self._generation:
                self._view.disposition.clear_addendum()
                self._view.show_signed(chart["note"], chart.get("addenda") or ())

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self._view.set_save_status(describe(error), problem=True)

        self._bridge.submit(add_and_reload(), done, failed)

    # -- export -----------------------------------------------------------------------------

    def _export(self) -> None:
        if self._client is None or self._visit_id is None:
            return
        path = self._ask_save_path(f"visit-{self._visit_id}.fhir.json")
        if not path:
            return
        client, visit_id, generation = self._client, self._visit_id, self._generation

        async def export() -> str:
            text = await client.export_fhir(visit_id)
            await asyncio.to_thread(_write_text, path, text)
            return path

        def done(written: str) -> None:
            if generation == self._generation:
                self._view.set_save_status(self.tr("Exported to %1").replace("%1", written))

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                message = describe(error) if isinstance(error, HubError) else str(error)
                self._view.set_save_status(self.tr("Export failed: ") + message, problem=True)

        self._bridge.submit(export(), done, failed)

    def _default_save_path(self, suggested: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(
            self._view, self.tr("Export the visit as FHIR R4"), suggested,
            self.tr("FHIR JSON (*.json)"))
        return path

