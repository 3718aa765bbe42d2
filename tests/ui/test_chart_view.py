"""The chart shows what the hub sends, as plain text, and forgets it when cleared."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from workstation.ui.chart.chart_view import ChartView


def chart(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "visit": {"id": "v-2", "condition": "sore_throat", "condition_name": "Sore throat",
                  "created_at": "2026-11-24T16:00:00+00:00", "state": "claimed"},
        "patient": {"given_name": "Avery", "family_name": "Lindqvist <b>", "age": 35,
                    "sex": "female", "date_of_birth": "1991-06-02"},
        "intake": {"symptoms": "<script>alert(1)</script> sore", "onset": "1 day",
                   "allergies": "Penicillin (rash)", "medications": "None",
                   "callback_phone": "512-555-0199", "patient_location_state": "TX",
                   "consent_telehealth": True,
                   "red_flags": [{"code": "chest_pain", "question": "Chest pain or pressure",
                                  "answer": False}]},
        "payments": [], "fee_note": "", "pharmacy": None, "drafts": {}, "note": None,
        "addenda": [], "shortlist": [], "plan_template": {},
        "problems": [{"code": "J06.9", "description": "Acute upper respiratory infection"}],
        "history": [{"visit_id": "v-1", "date": "2026-08-25T16:00:00+00:00",
                     "condition_name": "Cold / flu", "provider_name": "Dr. Demo",
                     "state": "signed", "summary": "Outcome: Treated"}],
    }
    base.update(overrides)
    return base


@pytest.fixture
def view(qtbot: QtBot) -> ChartView:
    v = ChartView()
    qtbot.addWidget(v)
    v.show()
    return v


def test_the_record_opens_on_the_latest_signed_note(view: ChartView):
    view.show_chart(chart())

    assert view.record_summary.toPlainText() == "Outcome: Treated"
    assert view.record_problems.item(0).text().startswith("J06.9")
    assert view.allergy_banner.text() == "ALLERGIES: Penicillin (rash)"


def test_patient_text_is_shown_as_typed_never_as_markup(view: ChartView):
    view.show_chart(chart())

    assert view.name_label.text() == "Lindqvist <b>, Avery"
    labels = view.findChildren(QLabel)
    assert any(label.text() == "<script>alert(1)</script> sore" for label in labels)
    assert all(label.textFormat().name == "PlainText" for label in labels
               if "<" in label.text())


def test_no_known_allergies_is_not_an_alarm(view: ChartView):
    view.show_chart(chart(intake={**chart()["intake"], "allergies": "NKDA"}))
    assert view.allergy_banner.text() == "No known allergies (as told by the patient)"


def test_clearing_leaves_nothing_of_the_patient(view: ChartView):
    view.show_chart(chart())
    view.clear()

    texts = [label.text() for label in view.findChildren(QLabel)]
    assert not any("Lindqvist" in t or "Penicillin" in t for t in texts)
    assert view.record_summary.toPlainText() == ""
    assert view.record_visits.count() == 0


def test_ctrl_enter_with_items_missing_shows_them_where_the_eye_is(view: ChartView,
                                                                   qtbot: QtBot):
    view.resize(900, 500)  # smaller than 1366x768's chart side: the list is below the fold
    view.show_chart(chart())
    view.disposition.set_missing(["a diagnosis", "the patient's identity confirmed"])
    view.tabs.setCurrentIndex(1)  # the provider is on the Record tab
    with qtbot.waitActive(view):
        view.activateWindow()

    with qtbot.assertNotEmitted(view.disposition.sign_requested):
        qtbot.keyClick(view.record_summary, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)

    assert view.save_status.text() == \
        "Before signing: a diagnosis; the patient's identity confirmed."
    assert view.tabs.currentIndex() == view.tabs.count() - 1
    label = view.disposition.missing_label
    area = view.tabs.currentWidget()
    top_left = label.mapTo(area, label.rect().topLeft())
    assert 0 <= top_left.y() < area.height()  # scrolled into view


def test_allergies_never_asked_are_not_shown_as_none(view: ChartView):
    # A scheduled visit before eCheck-in: nobody asked, which is not "no known allergies".
    view.show_chart(chart(intake=None, told=None))

    assert view.allergy_banner.text() == \
        "Allergies not asked yet: ask the patient before prescribing"
    assert view.allergy_banner.property("severity") == "alert"


def test_allergies_told_at_echeckin_are_shown(view: ChartView):
    view.show_chart(chart(intake=None, told={"allergies": "Sulfa (hives)", "medications": ""}))

    assert view.allergy_banner.text() == "ALLERGIES: Sulfa (hives)"
