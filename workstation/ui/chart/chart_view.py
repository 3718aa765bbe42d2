"""The chart of the claimed patient: a header that never scrolls away, and the panes as tabs.

The view shows what the presenter gives it (the hub's chart document) and says what the
provider did; it never reads patient data by itself. All patient text is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core.charting import DRAFT_PANES
from workstation.ui.chart.chart_panes import DiagnosisPane, DispositionPane, PlanPane
from workstation.ui.widgets.card import plain
from workstation.ui.widgets.draft_pane import DraftPane
from workstation.ui.widgets.site_time import site_time, site_zone

NO_ALLERGY_WORDS = {"", "none", "no", "nka", "nkda", "n/a", "none known", "no known allergies",
                    "no known drug allergies", "no allergies"}


def _us_date(iso: str) -> str:
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


class ChartView(QWidget):
    """Header (name, age, sex, DOB, allergies, pharmacy, phone, location) and the panes.

    Signals:
        pane_changed(str): a pane's draft changed ("diagnosis", "plan", "disposition").
        export_requested(): the provider asked for the FHIR export of the signed visit.
        export_available(bool): whether there is a signed visit to export (for the menu).
        close_requested(): the provider closed the chart of a signed visit.
    """

    pane_changed = Signal(str)
    export_requested = Signal()
    close_requested = Signal()
    export_available = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *,
                 prescriptions: DraftPane | None = None) -> None:
        """``prescriptions``: the Prescriptions tab, which the prescriptions feature makes (the
        window gives it; without it the chart has no such tab)."""
        super().__init__(parent)
        self.name_label = QLabel()
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_label.setAccessibleName(self.tr("Patient"))
        self.facts_label = plain("")
        self.facts_label.setAccessibleName(self.tr("Age, sex and date of birth"))
        self.allergy_banner = plain("")
        self.allergy_banner.setObjectName("allergyBanner")
        self.allergy_banner.setAccessibleName(self.tr("Allergies"))
        self.contact_label = plain("")
        self.contact_label.setAccessibleName(self.tr("Pharmacy, callback phone and location"))
        # One line of its own that is always there: a change of status never moves the chart.
        self.save_status = QLabel()
        self.save_status.setTextFormat(Qt.TextFormat.PlainText)
        self.save_status.setWordWrap(False)
        self.save_status.setMinimumHeight(self.save_status.fontMetrics().height())
        self.save_status.setAccessibleName(self.tr("Draft saving status"))
        self.export_button = QPushButton(self.tr("Export FHIR…"))
        self.export_button.setAccessibleName(self.tr("Export the signed visit as FHIR R4"))
        self.close_button = QPushButton(self.tr("Close chart"))
        self.close_button.setAccessibleName(self.tr("Close this chart"))

        header = QFrame()
        header.setObjectName("chartHeader")
        header.setFrameShape(QFrame.Shape.StyledPanel)
        top = QHBoxLayout()
        top.addWidget(self.name_label, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.close_button)
        header_layout = QVBoxLayout(header)
        header_layout.addLayout(top)
        header_layout.addWidget(self.facts_label)
        header_layout.addWidget(self.allergy_banner)
        header_layout.addWidget(self.contact_label)
        header_layout.addWidget(self.save_status)

        self.intake_form = QFormLayout()
        intake = QWidget()
        intake.setLayout(self.intake_form)
        self.record_problems = QListWidget()
        self.record_problems.setAccessibleName(self.tr("Problems from earlier visits"))
        self.record_medications = plain("")
        self.record_allergies = plain("")
        self.record_visits = QListWidget()
        self.record_visits.setAccessibleName(self.tr("Earlier visits"))
        self.record_summary = QPlainTextEdit()
        self.record_summary.setReadOnly(True)
        self.record_summary.setAccessibleName(self.tr("Signed note of the selected visit"))
        record = QWidget()
        record_layout = QVBoxLayout(record)
        record_form = QFormLayout()
        record_form.addRow(self.tr("Medications"), self.record_medications)
        record_form.addRow(self.tr("Allergies"), self.record_allergies)
        record_layout.addLayout(record_form)
        record_layout.addWidget(QLabel(self.tr("Problems")))
        record_layout.addWidget(self.record_problems, 1)
        visits = QSplitter(Qt.Orientation.Vertical)
        visits.addWidget(self.record_visits)
        visits.addWidget(self.record_summary)
        record_layout.addWidget(QLabel(self.tr("Earlier visits and their signed notes")))
        record_layout.addWidget(visits, 3)

        self.diagnosis = DiagnosisPane()
        self.plan = PlanPane()
        self.disposition = DispositionPane()
        self.prescriptions = prescriptions
        drafts: dict[str, DraftPane] = {"diagnosis": self.diagnosis, "plan": self.plan}
        if prescriptions is not None:
            drafts["prescription"] = prescriptions
        drafts["disposition"] = self.disposition
        self._drafts = drafts  # in the order of their tabs

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        titles = {"diagnosis": "Dia&gnosis", "plan": "&Plan", "prescription": "Prescriptio&ns",
                  "disposition": "Disposition && &sign"}
        for widget, title in ((intake, "&Intake"), (record, "&Record"),
                              *((pane, titles[key]) for key, pane in drafts.items())):
            self.tabs.addTab(_scrolling(widget), self.tr(title))

        # The call pane (added by the call presenter) sits above the tabs; the provider moves
        # the divider, or floats the video away.
        self.body = QSplitter(Qt.Orientation.Vertical)
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(header)
        layout.addWidget(self.body, 1)

        for key, pane in drafts.items():
            pane.changed.connect(partial(self.pane_changed.emit, key))
        self.export_button.clicked.connect(self.export_requested)
        self.close_button.clicked.connect(self.close_requested)
        self.record_visits.currentItemChanged.connect(self._on_record_visit_changed)
        # On the chart itself, not on the pane: a shortcut of a hidden tab would never fire.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._on_sign_shortcut)
        self._summaries: dict[str, str] = {}
        self.zone: ZoneInfo | None = None  # the site's, from the chart (times are shown in it)

    # -- what the presenter calls -----------------------------------------------------------

    def set_call_pane(self, pane: QWidget) -> None:
        """Show the call pane above the tabs (hidden while a chart has no video call); the
        window has it ask for room (``give_call_room``) when its pictures appear."""
        self.body.insertWidget(0, pane)
        self.body.setStretchFactor(0, 1)
        self.body.setStretchFactor(1, 1)

    def give_call_room(self) -> None:
        """Half the height for the call (the provider can move the divider)."""
        total = sum(self.body.sizes())
        self.body.setSizes([total // 2, total - total // 2])

    def return_call_room(self) -> None:
        """The call's pictures are gone: the pane is back to its lines and the chart gets the
        rest. (The splitter keeps the pane's last height while it is hidden and gives it back
        when it shows again: without this, every chart after the first call would open with
        half its height spent on an empty call pane.)"""
        pane = self.body.widget(0)
        if pane is None or pane is self.tabs:
            return
        total = sum(self.body.sizes()) or self.body.height()
        wanted = min(pane.sizeHint().height(), total)
        self.body.setSizes([wanted, total - wanted])

    def show_chart(self, chart: Mapping[str, Any]) -> None:
        self.zone = site_zone((chart.get("site") or {}).get("time_zone"))
        patient, intake = chart["patient"], chart.get("intake") or {}
        visit = chart["visit"]
        self.name_label.setText(f"{patient['family_name']}, {patient['given_name']}")
        self.facts_label.setText(self.tr("%1 years · %2 · born %3 · %4").replace(
            "%1", str(patient["age"])).replace("%2", str(patient["sex"]).title()).replace(
            "%3", _us_date(str(patient["date_of_birth"]))).replace(
            "%4", str(visit["condition_name"])))
        # A hub that does not send "told" yet: the check-in intake is what the patient told.
        told = chart["told"] if "told" in chart else (
            {"allergies": intake.get("allergies"), "medications": intake.get("medications")}
            if intake else None)
        allergies = str((told or {}).get("allergies") or "")
        if told is None:  # never asked (a scheduled visit before eCheck-in): not "none"
            self.allergy_banner.setText(self.tr("Allergies not asked yet: ask the patient "
                                                "before prescribing"))
            self.allergy_banner.setProperty("severity", "alert")
        elif allergies.strip().casefold().rstrip(".") in NO_ALLERGY_WORDS:
            self.allergy_banner.setText(self.tr("No known allergies (as told by the patient)"))
            self.allergy_banner.setProperty("severity", "none")
        else:
            self.allergy_banner.setText(self.tr("ALLERGIES: ") + allergies)
            self.allergy_banner.setProperty("severity", "alert")
        self.allergy_banner.setStyleSheet(
            "" if self.allergy_banner.property("severity") == "none" else
            "QLabel { background: #b3261e; color: white; font-weight: bold; padding: 4px; }")
        pharmacy = chart.get("pharmacy")
        parts = []
        if pharmacy:
            parts.append(self.tr("Pharmacy: ") + f"{pharmacy['name']}, {pharmacy['address']}, "
                         f"{pharmacy['city']} {pharmacy['state']} · {pharmacy['phone']}")
        if intake:
            parts.append(self.tr("Callback: ") + str(intake.get("callback_phone", "")))
            parts.append(self.tr("Located in: ") + str(intake.get("patient_location_state", "")))
        parts.append(self._primary_care_text(chart.get("primary_care")))
        self.contact_label.setText("   ".join(p for p in parts if p))
        self._show_intake(chart)
        self._show_record(chart)
        # The templates' placeholders, filled so the provider edits a finished sentence.
        filled_in = {"{patient_name}": f"{patient['given_name']} {patient['family_name']}",
                     "{visit_date}": _us_date(str(visit.get("created_at") or ""))}
        template = {}
        for key, text in (chart.get("plan_template") or {}).items():
            for placeholder, value in filled_in.items():
                text = str(text).replace(placeholder, value)
            template[key] = text
        self.plan.set_template(template)
        self.disposition.set_fee_note(str(chart.get("fee_note") or ""))
        drafts = chart.get("drafts") or {}
        self.diagnosis.set_body((drafts.get("diagnosis") or {}).get("body") or {})
        self.plan.set_body((drafts.get("plan") or {}).get("body") or {})
        self.disposition.set_call_failed(bool(visit.get("call_failed")))
        self.disposition.set_body((drafts.get("disposition") or {}).get("body") or {})
        self.diagnosis.show_results(chart.get("shortlist") or (), shortlist=True)
        note = chart.get("note")
        if note:
            self.show_signed(note, chart.get("addenda") or ())
        else:
            self.set_read_only(False)
            self.disposition.show_editing()
        self._set_exportable(bool(note))

    def _primary_care_text(self, told: Mapping[str, Any] | None) -> str:
        """The patient's own doctor, whether the summary may go there, and where it stands."""
        if not told:
            return self.tr("Own doctor: not given")
        text = self.tr("Own doctor: ") + str(told.get("label", ""))
        deliveries = told.get("deliveries") or []
        if deliveries:
            last = deliveries[-1]
            text += " · " + self.tr("Summary: ") + str(last.get("state_text", ""))
            if last.get("state") == "failed":
                text += f" ({last.get('reason', '')})"
        elif not told.get("share"):
            text += " · " + self.tr("the patient did not allow sending the summary")
        elif not told.get("sending"):
            text += " · " + self.tr("no endpoint is set for summaries: send it by fax")
        else:
            text += " · " + self.tr("the summary is sent when you sign")
        return text

    def panes(self) -> dict[str, dict[str, Any]]:
        return {key: self._drafts[key].body() for key in DRAFT_PANES if key in self._drafts}

    def set_panes(self, panes: Mapping[str, Mapping[str, Any]]) -> None:
        for key in DRAFT_PANES:
            if key in panes and key in self._drafts:
                self._drafts[key].set_body(panes[key])

    def show_signed(self, note: Mapping[str, Any], addenda: Sequence[Mapping[str, Any]]) -> None:
        text = str(note["summary"])
        text += "\n\n" + self.tr("Signed by %1 at %2").replace(
            "%1", str(note["signed_by_name"])).replace(
            "%2", site_time(str(note["signed_at"]), self.zone))
        for a in addenda:
            text += "\n\n" + self.tr("Addendum by %1 at %2:").replace(
                "%1", str(a["author_name"])).replace(
                "%2", site_time(str(a["at"]), self.zone)) + "\n" + str(a["text"])
        self.set_read_only(True)
        self.disposition.show_signed(text)
        self._set_exportable(True)

    def set_read_only(self, read_only: bool) -> None:
        self.diagnosis.set_read_only(read_only)
        self.plan.set_read_only(read_only)

    def set_save_status(self, text: str, *, problem: bool = False) -> None:
        self.save_status.setText(text)
        self.save_status.setStyleSheet("QLabel { color: #b3261e; font-weight: bold; }"
                                       if problem else "")

    def clear(self) -> None:
        """Nothing of the patient stays in the widgets (sign-out, lock, chart closed)."""
        for label in (self.name_label, self.facts_label, self.allergy_banner,
                      self.contact_label, self.record_medications, self.record_allergies,
                      self.save_status):
            label.clear()
        _clear_form(self.intake_form)
        self.record_problems.clear()
        self.record_visits.clear()
        self.record_summary.clear()
        self._summaries = {}
        self.diagnosis.set_body({})
        self.diagnosis.show_results((), shortlist=True)
        self.diagnosis.search_edit.clear()
        self.plan.set_body({})
        self.plan.set_template({})
        self.disposition.set_call_failed(False)
        self.disposition.set_body({})
        if self.prescriptions is not None:
            self.prescriptions.set_body({})
        self.disposition.show_editing()
        self.disposition.signed_text.clear()
        self.disposition.clear_addendum()
        self._set_exportable(False)

    def _on_sign_shortcut(self) -> None:
        """Ctrl+Enter from any tab: signs when nothing is missing; otherwise what is missing
        shows where the provider looks (the header's status line and the sign tab, scrolled
        to it) instead of nothing happening."""
        if self.disposition.sign_button.isEnabled() or self.disposition.editing.isHidden():
            self.disposition.request_sign()
            return
        self.set_save_status(self.disposition.missing_label.text(), problem=True)
        area = self.tabs.widget(self.tabs.count() - 1)  # Disposition & sign, the last tab
        if isinstance(area, QScrollArea):
            self.tabs.setCurrentWidget(area)
            area.ensureWidgetVisible(self.disposition.missing_label)

    def _set_exportable(self, exportable: bool) -> None:
        self.export_button.setEnabled(exportable)
        self.export_available.emit(exportable)

    # -- sections ---------------------------------------------------------------------------

    def _show_intake(self, chart: Mapping[str, Any]) -> None:
        _clear_form(self.intake_form)
        intake = chart.get("intake")
        form = self.intake_form
        if not intake:
            form.addRow(plain(self.tr("No intake answers (scheduled visit without check-in).")))
        else:
            for title, key in (("Symptoms", "symptoms"), ("Onset", "onset"),
                               ("Allergies", "allergies"), ("Medications", "medications"),
                               ("Callback phone", "callback_phone"),
                               ("Patient's location", "patient_location_state")):
                form.addRow(self.tr(title), plain(str(intake.get(key) or "—")))
            for flag in intake.get("red_flags") or ():
                answer = self.tr("YES") if flag["answer"] else self.tr("no")
                # On one line: a wrapped question in the label column was cut off, and a "no"
                # could be read against the wrong question.
                question = plain(str(flag["question"]))
                question.setWordWrap(False)
                form.addRow(question, plain(answer))
            consent = (self.tr("Agreed") if intake.get("consent_telehealth")
                       else self.tr("NOT agreed"))
            form.addRow(self.tr("Consent to video care"), plain(consent))
        for payment in chart.get("payments") or ():
            method = "HSA" if payment["method"] == "hsa" else self.tr("Card")
            form.addRow(self.tr("Payment"), plain(
                f"{payment['amount']} {payment['currency']} · {method} "
                f"…{payment['card_last4']} · {payment['status']}"))
        if chart.get("fee_note"):
            form.addRow(plain(str(chart["fee_note"])))

    def _show_record(self, chart: Mapping[str, Any]) -> None:
        intake = chart.get("intake") or {}
        self.record_medications.setText(str(intake.get("medications") or "—"))
        self.record_allergies.setText(str(intake.get("allergies") or "—"))
        self.record_problems.clear()
        for p in chart.get("problems") or ():
            self.record_problems.addItem(f"{p['code']}  {p['description']}")
        if not self.record_problems.count():
            self.record_problems.addItem(self.tr("No problems recorded in earlier visits."))
        self.record_visits.clear()
        self._summaries = {}
        for h in chart.get("history") or ():
            item = QListWidgetItem(f"{_us_date(str(h['date']))}  {h['condition_name']} · "
                                   f"{h['provider_name'] or '—'} · {h['state']}")
            item.setData(Qt.ItemDataRole.UserRole, h["visit_id"])
            self._summaries[str(h["visit_id"])] = str(h.get("summary") or self.tr(
                "No signed note."))
            self.record_visits.addItem(item)
        self.record_summary.clear()
        if self.record_visits.count():
            self.record_visits.setCurrentRow(0)  # the latest visit's note, without a click
        else:
            self.record_summary.setPlainText(self.tr("No earlier visits."))

    def _on_record_visit_changed(self, item: QListWidgetItem | None,
                                 _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.record_summary.setPlainText(
                self._summaries.get(str(item.data(Qt.ItemDataRole.UserRole)), ""))


def _scrolling(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _clear_form(form: QFormLayout) -> None:
    while form.rowCount():
        form.removeRow(0)
