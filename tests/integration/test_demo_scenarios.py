"""The shipped demo scenarios, each played end to end by ``demo run --headless``'s scripted
provider against a demo hub of its own (real sockets, real calls, the simulators), and the
scenario files' error reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.cli import main
from workstation.core.site import SiteConfig
from workstation.demo import scenario as scenarios
from workstation.demo.headless import play
from workstation.resource_files import Resources

REQUIRED = {"sore-throat", "sulfa-allergy", "under-18", "chest-pain", "not-on-the-list",
            "network-drop", "pharmacy-rejects", "echeckin-incomplete", "e-visit", "busy-hour"}


def test_the_required_scenarios_are_shipped() -> None:
    assert {p.stem for p in scenarios.shipped()} >= REQUIRED


@pytest.mark.parametrize("path", scenarios.shipped(), ids=lambda p: p.stem)
async def test_each_shipped_scenario_plays_with_every_expected_outcome(
        path: Path, resources: Resources, site: SiteConfig) -> None:
    said: list[str] = []
    checks = await play(scenarios.load(path, resources), resources, site, say=said.append)

    assert checks, f"{path.name} expects nothing"
    failed = [str(c) for c in checks if not c.ok]
    assert not failed, "\n".join([*failed, "", *said])


async def test_the_video_patient_shows_their_own_name_and_answers_in_the_chat(
        resources: Resources, site: SiteConfig) -> None:
    """Read back from the received picture: the provider sees the patient's name, not
    another's (the reader picks among every patient of the scenario)."""
    said: list[str] = []
    checks = await play(scenarios.load(scenarios.find("not-on-the-list"), resources),
                        resources, site, say=said.append)
    shown = [c for c in checks if c.what == "the video shows the patient"]
    assert [(c.expected, c.actual) for c in shown] == [("Omar Haddad (Demo)",) * 2], said
    assert any("wrote in the chat: \"It's very swollen" in line for line in said), said


BROKEN = """\
title = "Broken on purpose"

[[patients]]
given_name = "Ada"
family_name = "Byrne"
date_of_birth = 1990-01-01
condition = "sore_throat"

[[patients]]
given_name = "Cy"
family_name = "Dunn"
date_of_birth = "yesterday"
condition = "sore_thraot"
call = "maybe"

[patients.provider]
prescribe = [{ rxcui = "999999" }]
diagnosis = "J02"

[patients.expect]
video = "great"
"""


def test_a_broken_scenario_names_the_file_line_and_field_of_every_mistake(
        tmp_path: Path, resources: Resources) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")

    with pytest.raises(scenarios.ScenarioError) as raised:
        scenarios.load(path, resources)

    found = {(p.line, p.field) for p in raised.value.problems}
    assert found == {(12, "patients[2].date_of_birth"), (13, "patients[2].condition"),
                     (14, "patients[2].call"), (17, "patients[2].provider.prescribe"),
                     (18, "patients[2].provider.diagnosis"),
                     (21, "patients[2].expect.video")}
    assert all(p.file == str(path) for p in raised.value.problems)
    assert f"{path}:18: patients[2].provider.diagnosis: J02 is not billable" in str(raised.value)


def test_a_file_that_is_not_toml_is_reported_at_its_line(tmp_path: Path,
                                                         resources: Resources) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('title = "x"\n\n[[patients]\ngiven_name = "A"\n', encoding="utf-8")

    with pytest.raises(scenarios.ScenarioError) as raised:
        scenarios.load(path, resources)

    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert "Not valid TOML" in problem.message


def test_demo_run_of_a_broken_file_starts_nothing_and_says_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")

    assert main(["demo", "run", str(path), "--headless"]) == 2

    out, err = capsys.readouterr()
    assert f"{path}:14: patients[2].call: 'maybe' is not one of" in err
    assert "the scenario was not started (6 problems)" in err
    assert "Scenario:" not in out  # the day never began


def test_demo_run_exits_0_when_every_expected_outcome_happened(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "run", "chest-pain", "--headless"]) == 0

    out = capsys.readouterr().out
    assert "turned away at check-in: Your answers suggest you may need emergency care" in out
    assert "ok   Walter Brandt (Demo): check-in: emergency" in out
    assert out.rstrip().endswith("1 of 1 expected outcomes happened.")


def test_demo_run_exits_1_when_an_expected_outcome_did_not_happen(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(scenarios.find("chest-pain").read_text(encoding="utf-8").replace(
        'checkin = "emergency"', 'checkin = "accepted"'), encoding="utf-8")

    assert main(["demo", "run", str(wrong), "--headless"]) == 1

    out = capsys.readouterr().out
    assert "FAIL Walter Brandt (Demo): check-in: expected accepted, got emergency" in out
    assert "0 of 1 expected outcomes happened; 1 did not." in out


def test_an_age_instead_of_a_birth_date_stays_that_age(resources: Resources) -> None:
    jordan = scenarios.load(scenarios.find("under-18"), resources).patients[0]
    from datetime import date

    from workstation.core.people import age_on

    assert age_on(jordan.date_of_birth, date.today()) == 17
    assert jordan.family_name.endswith("(Demo)")
