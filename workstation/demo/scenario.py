"""Demo scenarios: one TOML file each in ``resources/scenarios/`` (schema in docs/TRAINERS.md).

A scenario is read whole and checked before anything starts: a mistake is reported with the
file, the line and the field (``sore-throat.toml:14: patients[1].condition: ...``), every
mistake at once, and no demo starts half-way on a file that has one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from workstation.core.charting import Disposition
from workstation.core.eligibility import RED_FLAG_CODES
from workstation.core.people import Sex
from workstation.core.visit import VisitState
from workstation.resource_files import Resources, resources_dir

DEMO_MARK = " (Demo)"  # every demo patient's family name ends so: no one takes them for real
VISITS = ("video", "e_visit", "scheduled")
CALLS = ("joins", "drops", "no_show", "poor")
CHECKINS = ("accepted", "too_young", "emergency", "not_listed")
VIDEO = ("connected", "reconnected", "no_join")
PRESCRIPTIONS = ("accepted", "rejected", "none")
FINAL_STATES = tuple(s.value for s in VisitState)


def scenarios_dir() -> Path:
    return resources_dir() / "scenarios"


def shipped() -> list[Path]:
    """The scenarios that come with the workstation, by file name."""
    return sorted(scenarios_dir().glob("*.toml"))


def titles() -> list[tuple[Path, str]]:
    """The shipped scenarios and their titles (read without checking the rest), for menus."""
    found = []
    for path in shipped():
        try:
            title = tomllib.loads(path.read_text(encoding="utf-8")).get("title")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            title = None
        found.append((path, title if isinstance(title, str) and title else path.stem))
    return found


def find(name: str) -> Path:
    """A scenario by path, or by the name of a shipped one (``sore-throat``)."""
    given = Path(name)
    if given.suffix == ".toml" and given.exists():
        return given
    candidate = scenarios_dir() / f"{given.stem}.toml"
    if candidate.exists():
        return candidate
    names = ", ".join(p.stem for p in shipped())
    raise ScenarioError([Problem(str(given), 0, "", f"No such scenario. Shipped: {names}.")])


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 0: the file as a whole
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else \
            f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario file that cannot be played; lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Script:
    """A prescription the scripted provider writes (``demo run``), with the directions and
    quantity the formulary suggests, as the prescribing pane fills them in."""

    rxcui: str
    override_reason: str = ""  # given: a prescribing warning is overridden with this reason


@dataclass(frozen=True)
class ProviderScript:
    """What the scripted provider of ``demo run`` does with this patient."""

    says: str = "Hello, I'm Dr. Demo. How can I help today?"
    diagnosis: str = ""
    plan: str = ""
    prescribe: tuple[Script, ...] = ()
    disposition: str = "treated"
    redirect_to: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Expect:
    """The outcomes ``demo run`` checks; a field left out is not checked."""

    checkin: str | None = None
    video: str | None = None
    chat_answer: bool | None = None
    allergy_warning: bool | None = None
    prescription: str | None = None
    final_state: str | None = None
    busier_than_usual: bool | None = None
    begin_refused: bool | None = None
    primary_care_sent: bool | None = None


@dataclass(frozen=True)
class ScenarioPatient:
    given_name: str
    family_name: str  # with the demo mark
    date_of_birth: date
    sex: Sex
    condition: str
    # When the patient checks in (an appointment: begins the visit), in minutes from the start;
    # None for an appointment whose patient does not come during the scenario by themselves.
    arrives_at_minute: float | None = 0.0
    visit: str = "video"
    symptoms: str = ""
    onset: str = "1 day ago"
    allergies: str = "None known"
    medications: str = "None"
    red_flags: tuple[str, ...] = ()
    pharmacy: str = "4410011"
    primary_care: Mapping[str, Any] | None = None
    chat: tuple[str, ...] = ()
    call: str = "joins"
    starts_in_minutes: int = 30  # scheduled visits
    echeckin: bool = True  # scheduled visits: eCheck-in done before the day starts
    echeckin_at_minute: float | None = None  # ... or done then, during the day
    provider_sees: bool = True  # the scripted provider of ``demo run`` takes this patient
    provider: ProviderScript = field(default_factory=ProviderScript)
    expect: Expect = field(default_factory=Expect)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class Scenario:
    path: Path
    title: str
    about: str
    patients: tuple[ScenarioPatient, ...]
    rejecting_pharmacies: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.stem


# --- reading ---------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class _Lines:
    """Where each key of the file stands: (table path, patient index, key) → line number."""

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[str, int, str], int] = {}
        table, index = "", -1
        for number, raw in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(raw)
            if header:
                table = header.group(1)
                if raw.lstrip().startswith("[[") and table == "patients":
                    index += 1
                self.at.setdefault((table, index if table.startswith("patients") else -1, ""),
                                   number)
                continue
            key = _KEY.match(raw)
            if key:
                self.at.setdefault(
                    (table, index if table.startswith("patients") else -1, key.group(1)), number)

    def line(self, table: str, index: int, key: str) -> int:
        return (self.at.get((table, index, key)) or self.at.get((table, index, ""))
                or self.at.get(("patients", index, "")) or 0)


class _Reader:
    def __init__(self, path: Path, lines: _Lines, resources: Resources) -> None:
        self.path = path
        self.lines = lines
        self.resources = resources
        self.problems: list[Problem] = []

    def problem(self, table: str, index: int, key: str, message: str) -> None:
        label = (f"patients[{index + 1}]" + table.removeprefix("patients")) if index >= 0 \
            else table
        name = f"{label}.{key}" if label and key else (label or key)
        self.problems.append(Problem(str(self.path), self.lines.line(table, index, key), name,
                                     message))

    def take(self, data: Mapping[str, Any], table: str, index: int, key: str, kind: type,
             default: Any = None, *, required: bool = False, choices: Sequence[str] = ()) -> Any:
        if key not in data:
            if required:
                self.problem(table, index, key, "is required.")
            return default
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(table, index, key, f"should be {_KIND_WORDS[kind]}, not {value!r}.")
            return default
        if choices and value not in choices:
            self.problem(table, index, key,
                         f"{value!r} is not one of: {', '.join(choices)}.")
            return default
        return value

    def unknown(self, data: Mapping[str, Any], table: str, index: int,
                known: Sequence[str]) -> None:
        for key in data:
            if key not in known:
                self.problem(table, index, key, f"is not a field here (known: "
                                                f"{', '.join(known)}).")


_KIND_WORDS = {str: "text in quotes", int: "a whole number", float: "a number",
               bool: "true or false", list: "a list [...]", dict: "a table {...}",
               date: "a date like 1990-05-17"}


def load(path: Path, resources: Resources) -> Scenario:
    """Read and check a scenario file; raises :class:`ScenarioError` naming every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), 0, "", f"Cannot read it: {exc}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ScenarioError([Problem(str(path), int(found.group(1)) if found else 0, "",
                                     f"Not valid TOML: {exc}")]) from exc
    reader = _Reader(path, _Lines(text), resources)
    reader.unknown(data, "", -1, ("title", "about", "patients", "simulators"))
    title = reader.take(data, "", -1, "title", str, "", required=True)
    about = reader.take(data, "", -1, "about", str, "")
    simulators = reader.take(data, "", -1, "simulators", dict, {})
    reader.unknown(simulators, "simulators", -1, ("rejecting_pharmacies",))
    rejecting = tuple(str(p) for p in reader.take(simulators, "simulators", -1,
                                                  "rejecting_pharmacies", list, []))
    for ncpdp_id in rejecting:
        if resources.pharmacy(ncpdp_id) is None:
            reader.problem("simulators", -1, "rejecting_pharmacies",
                           f"no pharmacy with NCPDP ID {ncpdp_id!r} in resources/pharmacies.json.")
    raw_patients = reader.take(data, "", -1, "patients", list, [], required=True)
    if "patients" in data and not raw_patients:
        reader.problem("", -1, "patients", "a scenario needs at least one [[patients]].")
    patients = [_patient(reader, i, raw) for i, raw in enumerate(raw_patients)]
    _check_codes(reader, patients)
    if reader.problems:
        raise ScenarioError(sorted(reader.problems, key=lambda p: p.line))
    return Scenario(path, title, about, tuple(p for p in patients if p is not None), rejecting)


PATIENT_KEYS = ("given_name", "family_name", "date_of_birth", "age_years", "sex", "condition",
                "arrives_at_minute", "visit", "symptoms", "onset", "allergies", "medications",
                "red_flags", "pharmacy", "primary_care", "chat", "call", "starts_in_minutes",
                "echeckin", "echeckin_at_minute", "provider", "expect")


def _patient(reader: _Reader, i: int, raw: Any) -> ScenarioPatient | None:
    t = "patients"
    if not isinstance(raw, dict):
        reader.problem(t, i, "", "each [[patients]] entry should be a table.")
        return None
    reader.unknown(raw, t, i, PATIENT_KEYS)
    given = reader.take(raw, t, i, "given_name", str, "", required=True)
    family = reader.take(raw, t, i, "family_name", str, "", required=True)
    born = _born(reader, i, raw)
    sex = reader.take(raw, t, i, "sex", str, "female", choices=[s.value for s in Sex])
    visit = reader.take(raw, t, i, "visit", str, "video", choices=VISITS)
    expect = _expect(reader, i, reader.take(raw, t, i, "expect", dict, {}))
    condition = reader.take(raw, t, i, "condition", str, "", required=True)
    known = reader.resources.conditions.get(condition) if condition else None
    if condition and known is None and expect.checkin != "not_listed" and visit != "scheduled":
        reader.problem(t, i, "condition", f"{condition!r} is not on the condition list (codes: "
                       f"{', '.join(c.code for c in reader.resources.conditions)}); "
                       "a patient asking for one is expected to be turned away "
                       "(expect.checkin = \"not_listed\").")
    if visit == "e_visit" and known is not None and not known.e_visit:
        reader.problem(t, i, "visit", f"{known.name} is not offered as an E-Visit.")
    red_flags = tuple(str(f) for f in reader.take(raw, t, i, "red_flags", list, []))
    for flag in red_flags:
        if flag not in RED_FLAG_CODES:
            reader.problem(t, i, "red_flags", f"{flag!r} is not a red flag (known: "
                                              f"{', '.join(sorted(RED_FLAG_CODES))}).")
    pharmacy = reader.take(raw, t, i, "pharmacy", str, "4410011")
    if reader.resources.pharmacy(pharmacy) is None:
        reader.problem(t, i, "pharmacy",
                       f"no pharmacy with NCPDP ID {pharmacy!r} in resources/pharmacies.json.")
    primary_care = reader.take(raw, t, i, "primary_care", dict, None)
    if primary_care is not None:
        reader.unknown(primary_care, t, i, ("name", "practice", "phone", "fax",
                                            "direct_address", "share"))
        for key in ("name", "practice"):
            if not isinstance(primary_care.get(key), str):
                reader.problem(t, i, "primary_care", f"needs {key} = \"...\".")
    chat = reader.take(raw, t, i, "chat", list, [])
    if not all(isinstance(line, str) and line.strip() for line in chat):
        reader.problem(t, i, "chat", "should be a list of lines in quotes.")
    arrives = reader.take(raw, t, i, "arrives_at_minute", float,
                          None if visit == "scheduled" else 0.0)
    if arrives is not None and not 0 <= arrives <= 600:
        reader.problem(t, i, "arrives_at_minute", "should be between 0 and 600 minutes.")
    starts = reader.take(raw, t, i, "starts_in_minutes", int, 30)
    if visit == "scheduled" and not 1 <= starts <= 600:
        reader.problem(t, i, "starts_in_minutes", "should be between 1 and 600 minutes.")
    return ScenarioPatient(
        given_name=given, family_name=family + DEMO_MARK, date_of_birth=born, sex=Sex(sex),
        condition=condition, arrives_at_minute=arrives, visit=visit,
        symptoms=reader.take(raw, t, i, "symptoms", str, "") or "Feeling unwell",
        onset=reader.take(raw, t, i, "onset", str, "1 day ago"),
        allergies=reader.take(raw, t, i, "allergies", str, "None known"),
        medications=reader.take(raw, t, i, "medications", str, "None"),
        red_flags=red_flags, pharmacy=pharmacy, primary_care=primary_care,
        chat=tuple(str(line) for line in chat),
        call=reader.take(raw, t, i, "call", str, "joins", choices=CALLS),
        starts_in_minutes=starts,
        echeckin=reader.take(raw, t, i, "echeckin", bool, True),
        echeckin_at_minute=reader.take(raw, t, i, "echeckin_at_minute", float, None),
        provider_sees="provider" in raw,
        provider=_provider(reader, i, reader.take(raw, t, i, "provider", dict, {})),
        expect=expect)


def _check_codes(reader: _Reader, patients: Sequence[ScenarioPatient | None]) -> None:
    """Each diagnosis the scripted provider gives must be a billable ICD-10-CM code."""
    from workstation.core import icd10
    from workstation.hub.codes import load_codes

    coded = [(i, p.provider.diagnosis) for i, p in enumerate(patients)
             if p is not None and p.provider.diagnosis]
    if not coded:
        return
    load_codes()  # parsed in a child process, once
    for i, code in coded:
        try:
            icd10.check_billable(code)
        except icd10.DiagnosisCodeRefused as exc:
            reader.problem("patients.provider", i, "diagnosis", str(exc))


def _born(reader: _Reader, i: int, raw: Mapping[str, Any]) -> date:
    """The date of birth, or for ``age_years`` one that makes the patient that old today (a
    birthday 100 days ago), so a scenario about a 17-year-old stays about one."""
    t = "patients"
    if "age_years" in raw and "date_of_birth" in raw:
        reader.problem(t, i, "age_years", "give date_of_birth or age_years, not both.")
    if "age_years" not in raw:
        return reader.take(raw, t, i, "date_of_birth", date, date(1990, 1, 1), required=True)  # type: ignore[no-any-return]
    years = reader.take(raw, t, i, "age_years", int, 30)
    if not 0 <= years <= 120:
        reader.problem(t, i, "age_years", "should be between 0 and 120.")
        years = 30
    birthday = date.today() - timedelta(days=100)
    try:
        return birthday.replace(year=birthday.year - years)
    except ValueError:  # 29 February in a year without one
        return birthday.replace(year=birthday.year - years, day=28)


def _provider(reader: _Reader, i: int, raw: Mapping[str, Any]) -> ProviderScript:
    t = "patients.provider"
    reader.unknown(raw, t, i, ("says", "diagnosis", "plan", "prescribe", "disposition",
                               "redirect_to", "reason"))
    scripts = []
    for item in reader.take(raw, t, i, "prescribe", list, []):
        script = _script(reader, i, item)
        if script is not None:
            scripts.append(script)
    return ProviderScript(
        says=reader.take(raw, t, i, "says", str, ProviderScript.says),
        diagnosis=reader.take(raw, t, i, "diagnosis", str, ""),
        plan=reader.take(raw, t, i, "plan", str, ""),
        prescribe=tuple(scripts),
        disposition=reader.take(raw, t, i, "disposition", str, "treated",
                                choices=[d.value for d in Disposition]),
        redirect_to=reader.take(raw, t, i, "redirect_to", str, ""),
        reason=reader.take(raw, t, i, "reason", str, ""))


def _script(reader: _Reader, i: int, raw: Any) -> Script | None:
    t = "patients.provider"
    if not isinstance(raw, dict):
        reader.problem(t, i, "prescribe", "each prescription should be a table {rxcui = ...}.")
        return None
    reader.unknown(raw, t, i, ("rxcui", "override_reason"))
    rxcui = reader.take(raw, t, i, "rxcui", str, "")
    if not rxcui:
        reader.problem(t, i, "prescribe", "each prescription needs rxcui = \"...\".")
        return None
    if reader.resources.formulary.get(rxcui) is None:
        reader.problem(t, i, "prescribe", f"rxcui {rxcui!r} is not in resources/formulary.json.")
    return Script(rxcui=rxcui,
                  override_reason=reader.take(raw, t, i, "override_reason", str, ""))


def _expect(reader: _Reader, i: int, raw: Mapping[str, Any]) -> Expect:
    t = "patients.expect"
    reader.unknown(raw, t, i, ("checkin", "video", "chat_answer", "allergy_warning",
                               "prescription", "final_state", "busier_than_usual",
                               "begin_refused", "primary_care_sent"))
    return Expect(
        checkin=reader.take(raw, t, i, "checkin", str, None, choices=CHECKINS),
        video=reader.take(raw, t, i, "video", str, None, choices=VIDEO),
        chat_answer=reader.take(raw, t, i, "chat_answer", bool, None),
        allergy_warning=reader.take(raw, t, i, "allergy_warning", bool, None),
        prescription=reader.take(raw, t, i, "prescription", str, None, choices=PRESCRIPTIONS),
        final_state=reader.take(raw, t, i, "final_state", str, None, choices=FINAL_STATES),
        busier_than_usual=reader.take(raw, t, i, "busier_than_usual", bool, None),
        begin_refused=reader.take(raw, t, i, "begin_refused", bool, None),
        primary_care_sent=reader.take(raw, t, i, "primary_care_sent", bool, None))
