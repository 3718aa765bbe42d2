"""The presenter of the Prescriptions pane: the formulary and checks on this computer as the
provider types, the pre-send check, sending and cancelling through the hub, live status.

The warnings shown while typing come from the same rules the hub applies when the script is
sent; the hub's answer is final (it may know of a script sent from another workstation).
Each script gets its MessageID when it is first sent and keeps it until it is changed, so
pressing Send again after a lost answer cannot make a second script.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QLineEdit

from workstation.client.hub_answers import HubError
from workstation.core.prescribing import Finding, RxDraft, check_draft
from workstation.ui.prescriptions.prescription_pane import PrescriptionPane
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.error_text import describe

if TYPE_CHECKING:
    from workstation.resource_files import Resources

SEARCH_DELAY_MS = 200
ACTIVE = frozenset({"queued", "sent", "accepted", "cancel_failed"})


class PrescriptionHub(Protocol):
    async def prescriptions(self, visit_id: str) -> list[dict[str, Any]]: ...
    async def check_prescription(self, visit_id: str, script: Mapping[str, Any],
                                 ) -> dict[str, Any]: ...
    async def prescribe(self, visit_id: str, script: Mapping[str, Any]) -> dict[str, Any]: ...
    async def cancel_prescription(self, prescription_id: str, reason: str,
                                  ) -> dict[str, Any]: ...
    async def search_pharmacies(self, query: str) -> list[dict[str, Any]]: ...


def _load_resources() -> Resources:
    from workstation.resource_files import load_resources

    return load_resources()


def _ask_cancel_reason(parent: PrescriptionPane) -> str | None:
    text, ok = QInputDialog.getText(
        parent, parent.tr("Cancel prescription"),
        parent.tr("Why is this prescription cancelled? The reason is kept in the record."),
        QLineEdit.EchoMode.Normal, "")
    return text.strip() if ok else None


class PrescriptionController(QObject):
    """One chart's prescriptions at a time."""

    def __init__(self, bridge: AsyncBridge, pane: PrescriptionPane, *,
                 ask_cancel_reason: Callable[[PrescriptionPane], str | None] = _ask_cancel_reason,
                 load: Callable[[], Resources] = _load_resources) -> None:
        super().__init__(pane)
        self._bridge = bridge
        self._pane = pane
        self._ask_cancel_reason = ask_cancel_reason
        self._load = load
        self._resources: Resources | None = None
        self._client: PrescriptionHub | None = None
        self._visit_id: str | None = None
        self._condition = ""
        self._allergies = ""
        self._medications = ""
        self._generation = 0
        self._prescriptions: dict[str, dict[str, Any]] = {}
        self._hub_findings: list[Finding] = []
        self._drug_timer = QTimer(self)
        self._drug_timer.setSingleShot(True)
        self._drug_timer.setInterval(SEARCH_DELAY_MS)
        self._drug_timer.timeout.connect(self._search_drugs)
        self._pharmacy_timer = QTimer(self)
        self._pharmacy_timer.setSingleShot(True)
        self._pharmacy_timer.setInterval(SEARCH_DELAY_MS)
        self._pharmacy_timer.timeout.connect(self._search_pharmacies)

        pane.drug_search_changed.connect(lambda _text: self._drug_timer.start())
        pane.pharmacy_search_changed.connect(lambda _text: self._pharmacy_timer.start())
        pane.draft_changed.connect(self._on_draft_changed)
        pane.check_requested.connect(self._check)
        pane.send_requested.connect(self._send)
        pane.cancel_requested.connect(self._cancel)
        pane.destroyed.connect(lambda *_args: self._forget())

    # -- what the chart calls ---------------------------------------------------------------

    def open(self, client: PrescriptionHub, visit_id: str, chart: Mapping[str, Any]) -> None:
        self._generation += 1
        generation = self._generation
        self._client, self._visit_id = client, visit_id
        intake = chart.get("intake") or {}
        self._condition = str(chart["visit"]["condition"])
        self._allergies = str(intake.get("allergies") or "")
        self._medications = str(intake.get("medications") or "")
        self._prescriptions = {}
        self._pane.reset(chart.get("pharmacy"))
        draft = (chart.get("drafts") or {}).get("prescription") or {}
        self._pane.set_body(draft.get("body") or {})
        # A signed visit takes no new scripts; its scripts can still be cancelled.
        self._pane.set_writable(chart.get("note") is None)
        if self._resources is None:
            self._bridge.submit(asyncio.to_thread(self._load),
                                partial(self._on_resources, generation),
                                partial(self._on_failed, generation))
        else:
            self._search_drugs()
        self._bridge.submit(client.prescriptions(visit_id),
                            partial(self._on_listed, generation),
                            partial(self._on_failed, generation))

    def close(self) -> None:
        self._forget()
        self._pane.reset(None)

    def on_changed(self, visit_id: str, prescription: Mapping[str, Any]) -> None:
        """A status pushed by the hub; scripts of other charts are not this pane's."""
        if visit_id == self._visit_id and "id" in prescription:
            if not _newer(prescription, self._prescriptions.get(str(prescription["id"]))):
                return  # an older push overtaken by a newer answer
            self._prescriptions[str(prescription["id"])] = dict(prescription)
            self._show_list()

    def _forget(self) -> None:
        self._generation += 1
        self._client = self._visit_id = None

    # -- answers ----------------------------------------------------------------------------

    def _on_resources(self, generation: int, resources: Resources) -> None:
        self._resources = resources
        self._pane.set_lookup(resources.formulary.get)
        if generation == self._generation:
            self._search_drugs()

    def _on_listed(self, generation: int, listed: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return
        for rx in listed:  # a status pushed meanwhile may be newer than this list
            if _newer(rx, self._prescriptions.get(str(rx["id"]))):
                self._prescriptions[str(rx["id"])] = rx
        self._show_list()

    def _on_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._pane.show_message(describe(error))

    def _show_list(self) -> None:
        self._pane.show_prescriptions(sorted(self._prescriptions.values(),
                                             key=lambda rx: str(rx.get("created_at", ""))))
        self._on_draft_changed()  # duplicates and interactions depend on what was sent

    # -- searching --------------------------------------------------------------------------

    def _search_drugs(self) -> None:
        if self._resources is None:
            return
        text = self._pane.drug_search.text()
        formulary = self._resources.formulary
        if text.strip():
            self._pane.set_drug_results(formulary.search(text), shortlist=False)
        else:
            self._pane.set_drug_results(formulary.shortlist(self._condition), shortlist=True)

    def _search_pharmacies(self) -> None:
        if self._client is None:
            return
        generation = self._generation

        def found(pharmacies: list[dict[str, Any]]) -> None:
            if generation == self._generation:  # the directory calls the NCPDP ID "id"
                self._pane.set_pharmacy_results(
                    [{**p, "ncpdp_id": p.get("ncpdp_id", p.get("id", ""))} for p in pharmacies])

        self._bridge.submit(self._client.search_pharmacies(self._pane.pharmacy_search.text()),
                            found, partial(self._on_failed, generation))

    # -- checking, sending, cancelling ------------------------------------------------------

    def _findings(self) -> list[Finding]:
        drug, sig = self._pane.drug(), self._pane.sig()
        if self._resources is None or drug is None or sig is None:
            return []
        values = self._pane.draft_values()
        draft = RxDraft(drug=drug, sig=sig, quantity=Decimal(str(values["quantity"])),
                        quantity_unit=str(values["quantity_unit"]),
                        days_supply=int(values["days_supply"]), refills=int(values["refills"]),
                        substitution_allowed=bool(values["substitution_allowed"]),
                        note=str(values["note"]))
        formulary = self._resources.formulary
        others = [formulary.get(str(rx.get("rxcui", ""))) for rx in self._prescriptions.values()
                  if rx.get("status") in ACTIVE]
        return check_draft(draft, allergies=self._allergies, medications=self._medications,
                           others=[d for d in others if d is not None], formulary=formulary,
                           rules=self._resources.prescribing_rules)

    def _on_draft_changed(self) -> None:
        self._hub_findings = []  # what the hub said was about the script as it was
        self._pane.show_findings(self._findings())

    def _shown_findings(self) -> list[Finding]:
        """This computer's findings, and any the hub found that it did not (another
        workstation's script, a changed intake)."""
        local = self._findings()
        known = {f.message for f in local}
        return local + [f for f in self._hub_findings if f.message not in known]

    def _script(self) -> dict[str, Any] | None:
        if self._pane.drug() is None or self._visit_id is None:
            return None
        if self._pane.message_id is None:
            self._pane.assign_message_id(uuid.uuid4().hex)
        return {"message_id": self._pane.message_id, **self._pane.draft_values(),
                "acknowledged": [f.message for f in self._shown_findings()
                                 if not f.blocks]}

    def _check(self) -> None:
        script, client = self._script(), self._client
        if script is None or client is None or self._visit_id is None:
            return
        generation = self._generation
        self._pane.show_message(self.tr("Checking…"))

        def checked(answer: dict[str, Any]) -> None:
            if generation != self._generation:
                return
            problems = [f"{p['label']} ({p['message']})" for p in answer.get("problems", ())]
            self._hub_findings = _findings_from(answer.get("findings", ()))
            self._pane.show_findings(self._shown_findings(), problems)
            hints = " ".join(str(h) for h in answer.get("hints", ()))
            self._pane.show_message(self.tr("Ready to send.") if not problems else self.tr(
                "The pharmacy needs the fields listed before this can be sent.") + (
                " " + hints if hints else ""))

        self._bridge.submit(client.check_prescription(self._visit_id, script), checked,
                            partial(self._on_send_failed, generation))

    def _send(self) -> None:
        script, client = self._script(), self._client
        if script is None or client is None or self._visit_id is None:
            return
        generation = self._generation
        self._pane.send_button.setEnabled(False)
        self._pane.show_message(self.tr("Sending…"))

        def sent(rx: dict[str, Any]) -> None:
            if generation != self._generation:
                return
            self._prescriptions[str(rx["id"])] = rx
            self._pane.clear_after_send()
            self._show_list()
            pharmacy = str((rx.get("pharmacy") or {}).get("name", ""))
            self._pane.show_message(self.tr(
                "Queued for %1. Its status shows in the list of sent scripts.").replace(
                "%1", pharmacy))

        self._bridge.submit(client.prescribe(self._visit_id, script), sent,
                            partial(self._on_send_failed, generation))

    def _on_send_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._pane.show_findings(self._shown_findings())  # re-enables what may be pressed
        if not isinstance(error, HubError):
            self._pane.show_message(describe(error))
            return
        if error.code == "incomplete":
            problems = [f"{p['label']} ({p['message']})"
                        for p in error.details.get("problems", ())]
            self._pane.show_findings(self._shown_findings(), problems)
        if error.code == "needs_override":
            before = {f.message for f in self._shown_findings()}
            self._hub_findings = _findings_from(error.details.get("findings", ()))
            if any(f.message not in before for f in self._hub_findings):
                self._pane.override_reason.clear()  # a reason must cover what is new
            self._pane.show_findings(self._shown_findings())
        if error.status == 0:
            self._pane.show_message(self.tr(
                "Not sent: the hub cannot be reached. Press Send again when it is back; the "
                "same prescription is never sent twice."))
            return
        self._pane.show_message(error.message)

    def _cancel(self, prescription_id: str) -> None:
        client = self._client
        if client is None:
            return
        reason = self._ask_cancel_reason(self._pane)
        if reason is None:
            return
        generation = self._generation

        def cancelled(rx: dict[str, Any]) -> None:
            if generation == self._generation:
                self._prescriptions[str(rx["id"])] = rx
                self._show_list()
                self._pane.show_message(self.tr(
                    "Cancel sent for %1; the pharmacy's answer shows in the list.").replace(
                    "%1", str(rx.get("drug", ""))) if rx.get("status") == "cancelling"
                    else str(rx.get("status_text", "")))

        self._bridge.submit(client.cancel_prescription(prescription_id, reason), cancelled,
                            partial(self._on_failed, generation))


def _newer(candidate: Mapping[str, Any], known: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` is at least as recent as ``known`` (by the hub's revision)."""
    if known is None:
        return True
    try:
        return int(candidate.get("revision", 0)) >= int(known.get("revision", 0))
    except (TypeError, ValueError):
        return True


def _findings_from(data: Any) -> list[Finding]:
    """The hub's findings (JSON) as Findings; anything malformed is left out."""
    found = []
    for item in data if isinstance(data, list) else ():
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            found.append(Finding(str(item.get("kind", "")),
                                 str(item.get("severity", "warning")), item["message"]))
    return found

