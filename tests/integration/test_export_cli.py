"""Exporting a signed visit as FHIR from the command line: file or stdout, private, audited.

The CLI runs as its own process against PostgreSQL: an SQLite file would need the OS keyring,
which a subprocess on these machines does not have.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.conftest import fresh_pg_database
from tests.factories import waiting_visit
from workstation.core.charting import (
    CodedDiagnosis,
    Disposition,
    NoteContent,
    TreatmentPlan,
    check_ready,
)
from workstation.core.people import Provider
from workstation.storage.charts import ChartStore
from workstation.storage.database import open_store
from workstation.storage.store import VisitStore, new_id

pytestmark = pytest.mark.postgres

NOT_SIGNED = "Only a signed visit can be exported."
NOTE = NoteContent(
    diagnoses=(CodedDiagnosis("J02.9", "Acute pharyngitis, unspecified", primary=True),
               CodedDiagnosis("R50.9", "Fever, unspecified")),
    plan=TreatmentPlan(plan="Supportive care.",
                       patient_instructions="Rest, fluids, salt-water gargles.",
                       follow_up="Your own doctor if not better in 5 days.",
                       return_precautions="Trouble breathing or swallowing: go to the ED."),
    disposition=Disposition.TREATED,
    identity_confirmed=True,
)


@dataclass(frozen=True)
class Clinic:
    url: str
    store: VisitStore
    signed_visit: str
    patient_id: str
    unsigned_visit: str

    def exports(self, visit_id: str) -> list[str]:
        return [e.action for e in self.store.audit_events(visit_id=visit_id)
                if e.action == "chart.export"]


@pytest.fixture
def clinic() -> Iterator[Clinic]:
    """A clinic database with one signed visit and one claimed but unsigned visit."""
    with fresh_pg_database("ws_export") as url:
        store = open_store(url)
        try:
            now = datetime.now(UTC)
            house = Provider(new_id(), "house", "Dr. House", ("urgent_care",))
            store.add_provider(house, "not a real hash: nobody signs in here", now)
            check_ready(NOTE)
            signed, _ = waiting_visit(store, now=now)
            assert store.claim(signed.id, house.id, now) is not None
            ChartStore(store).sign(signed.id, NOTE, "Summary.", provider_id=house.id, now=now)
            unsigned, _ = waiting_visit(store, now=now)
            assert store.claim(unsigned.id, house.id, now) is not None
            yield Clinic(url.render_as_string(hide_password=False), store, signed.id,
                         signed.patient_id, unsigned.id)
        finally:
            store.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workstation", *args],
                          capture_output=True, text=True, timeout=60)


def _diagnosis_codes(bundle: Bundle) -> set[str]:
    return {c.code for e in bundle.entry if e.resource.get_resource_type() == "Condition"
            for c in e.resource.code.coding}


def test_a_signed_visit_is_written_to_a_private_file_and_audited(clinic: Clinic, tmp_path: Path):
    out = tmp_path / "visit.json"

    done = _cli("export", "fhir", clinic.signed_visit, "--db", clinic.url, "--out", str(out))

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # patient data goes to the file only
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    assert {"J02.9", "R50.9"} <= _diagnosis_codes(bundle)
    kinds = {e.resource.get_resource_type() for e in bundle.entry}
    assert {"Patient", "Encounter", "Condition", "CarePlan"} <= kinds
    [event] = [e for e in clinic.store.audit_events(visit_id=clinic.signed_visit)
               if e.action == "chart.export"]
    assert event.outcome == "success"
    assert event.actor.startswith("cli:") and len(event.actor) > len("cli:")
    assert event.patient_id == clinic.patient_id and event.detail == "fhir"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_without_out_the_bundle_goes_to_stdout(clinic: Clinic, tmp_path: Path):
    site = tmp_path / "site.toml"
    site.write_text('site_name = "Test Clinic"\n', encoding="utf-8")

    done = _cli("--site", str(site), "export", "fhir", clinic.signed_visit, "--db", clinic.url)

    assert done.returncode == 0, done.stderr
    assert "J02.9" in _diagnosis_codes(Bundle.model_validate_json(done.stdout))
    assert clinic.exports(clinic.signed_visit) == ["chart.export"]


def test_an_unsigned_visit_is_refused_in_plain_words(clinic: Clinic, tmp_path: Path):
    out = tmp_path / "visit.json"

    done = _cli("export", "fhir", clinic.unsigned_visit, "--db", clinic.url, "--out", str(out))

    assert done.returncode == 1
    assert NOT_SIGNED in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and done.stdout == ""
    assert clinic.exports(clinic.unsigned_visit) == []


def test_an_unknown_visit_is_refused_and_a_bad_command_line_is_a_usage_error(clinic: Clinic):
    done = _cli("export", "fhir", new_id(), "--db", clinic.url)
    assert done.returncode == 1
    assert "there is no visit" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""

    no_db = _cli("export", "fhir", clinic.signed_visit)
    assert no_db.returncode == 2 and "--db" in no_db.stderr


def test_an_existing_file_is_kept_unless_forced(clinic: Clinic, tmp_path: Path):
    out = tmp_path / "visit.json"
    out.write_text("keep me", encoding="utf-8")
    out.chmod(0o644)

    refused = _cli("export", "fhir", clinic.signed_visit, "--db", clinic.url, "--out", str(out))
    assert refused.returncode == 2
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert out.read_text(encoding="utf-8") == "keep me"
    assert clinic.exports(clinic.signed_visit) == []

    forced = _cli("export", "fhir", clinic.signed_visit, "--db", clinic.url, "--out", str(out),
                  "--force")
    assert forced.returncode == 0, forced.stderr
    assert "J02.9" in _diagnosis_codes(Bundle.model_validate_json(out.read_text("utf-8")))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [out]
    assert clinic.exports(clinic.signed_visit) == ["chart.export"]


def test_a_database_without_the_current_schema_is_refused_with_the_fix():
    with fresh_pg_database("ws_export_empty") as url:
        done = _cli("export", "fhir", new_id(), "--db", url.render_as_string(hide_password=False))
    assert done.returncode != 0
    assert "Run: workstation db upgrade --db URL" in done.stderr


def test_a_mistyped_database_path_is_refused_and_nothing_is_created(tmp_path: Path):
    wrong = tmp_path / "no-such.db"
    done = subprocess.run([sys.executable, "-m", "workstation", "export", "fhir", "v-1",
                           "--db", str(wrong)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"there is no database at {wrong}" in done.stderr
    assert not wrong.exists()
