"""The site configuration: sensible defaults, and clear refusals of values that cannot work."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from workstation.core.people import ServiceLine
from workstation.core.site import SCHEMA_VERSION, SiteConfig, SiteConfigError
from workstation.settings import load_site_config

WEEKDAY_HOURS = {d: (time(9, 0), time(18, 0)) for d in range(5)}


def test_defaults_are_the_standard_clinic():
    config = SiteConfig()

    assert config.fee == Decimal("49.00")
    assert str(config.fee) == "49.00"
    assert config.currency == "USD"
    assert config.minimum_age == 18
    assert config.zone == ZoneInfo("America/Chicago")
    assert dict(config.hours.by_weekday) == WEEKDAY_HOURS
    assert 5 not in config.hours.by_weekday and 6 not in config.hours.by_weekday
    assert [s.name for s in config.service_lines] == [
        "On-demand urgent care", "Virtual specialty care"]
    assert config.schema_version == SCHEMA_VERSION


def test_service_lines_are_found_by_code():
    config = SiteConfig()
    assert config.service_line("urgent_care") == ServiceLine("urgent_care",
                                                             "On-demand urgent care")
    assert config.service_line("specialty_care").name == "Virtual specialty care"
    assert config.service_line("dermatology") is None


def test_an_empty_mapping_gives_the_defaults():
    assert SiteConfig.from_mapping({}) == SiteConfig()


def test_from_mapping_reads_hours_fee_and_service_lines():
    config = SiteConfig.from_mapping({
        "schema_version": 1,
        "site_name": "Lakeside Virtual Care",
        "time_zone": "America/Denver",
        "fee": 39.5,
        "hours": {"mon": ["08:00", "20:00"], "sat": ["10:00", "14:30"], "sun": []},
        "service_lines": [{"code": "urgent_care", "name": "Same-day care"},
                          {"code": "derm", "name": "Skin clinic"}],
    })

    assert config.site_name == "Lakeside Virtual Care"
    assert config.zone == ZoneInfo("America/Denver")
    assert config.fee == Decimal("39.50")
    assert dict(config.hours.by_weekday) == {0: (time(8, 0), time(20, 0)),
                                             5: (time(10, 0), time(14, 30))}
    assert config.service_lines == (ServiceLine("urgent_care", "Same-day care"),
                                    ServiceLine("derm", "Skin clinic"))
    assert config.service_line("derm").name == "Skin clinic"


def test_a_float_fee_does_not_pick_up_binary_rounding():
    assert SiteConfig.from_mapping({"fee": 49.99}).fee == Decimal("49.99")
    assert SiteConfig.from_mapping({"fee": "25"}).fee == Decimal("25")


def test_unknown_settings_are_named():
    with pytest.raises(SiteConfigError, match="Unknown site settings: colour, feee"):
        SiteConfig.from_mapping({"feee": 10, "colour": "blue"})


def test_an_unknown_time_zone_is_named():
    with pytest.raises(SiteConfigError, match="Unknown time zone 'America/Chicgo'"):
        SiteConfig.from_mapping({"time_zone": "America/Chicgo"})


def test_closing_before_opening_names_the_day():
    with pytest.raises(SiteConfigError, match="Hours for tue close before they open"):
        SiteConfig.from_mapping({"hours": {"mon": ["09:00", "17:00"],
                                           "tue": ["18:00", "09:00"]}})


def test_closing_when_opening_is_refused_too():
    with pytest.raises(SiteConfigError, match="wed close before they open"):
        SiteConfig.from_mapping({"hours": {"wed": ["09:00", "09:00"]}})


def test_an_unknown_weekday_lists_the_accepted_names():
    with pytest.raises(SiteConfigError, match=r"Unknown weekday 'monday'.*mon, tue, wed"):
        SiteConfig.from_mapping({"hours": {"monday": ["09:00", "17:00"]}})


def test_a_negative_fee_is_refused():
    with pytest.raises(SiteConfigError, match="fee cannot be negative"):
        SiteConfig.from_mapping({"fee": -1})


def test_a_newer_configuration_asks_for_an_update():
    with pytest.raises(SiteConfigError) as caught:
        SiteConfig.from_mapping({"schema_version": SCHEMA_VERSION + 1})
    message = str(caught.value)
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert f"reads up to {SCHEMA_VERSION}" in message
    assert "Update the workstation" in message


def test_site_config_errors_are_value_errors():
    assert issubclass(SiteConfigError, ValueError)


def test_a_toml_file_is_read_and_its_errors_name_the_file(tmp_path: Path):
    good = tmp_path / "site.toml"
    good.write_text('site_name = "North Clinic"\nfee = "55.00"\n'
                    '[hours]\nmon = ["07:30", "19:00"]\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('time_zone = "Mars/Olympus"\n', encoding="utf-8")

    config = load_site_config(good)
    assert config.site_name == "North Clinic"
    assert config.fee == Decimal("55.00")
    assert dict(config.hours.by_weekday) == {0: (time(7, 30), time(19, 0))}

    with pytest.raises(SiteConfigError, match=r"bad\.toml: Unknown time zone 'Mars/Olympus'"):
        load_site_config(bad)
    with pytest.raises(SiteConfigError, match="does not exist"):
        load_site_config(tmp_path / "missing.toml")


def test_no_file_means_defaults():
    assert load_site_config(None) == SiteConfig()


def test_the_example_site_file_for_it_lists_the_defaults():
    example = Path(__file__).parents[2] / "installers" / "site.example.toml"
    assert load_site_config(example) == SiteConfig()


def test_the_practice_address_for_prescriptions_is_read_and_checked() -> None:
    config = SiteConfig.from_mapping({"clinic_address": {
        "line1": "500 Clinic Way", "city": "Austin", "state": "TX", "postal_code": "78702"},
        "clinic_phone": "512-555-0100", "erx_simulator_closed": ["4410044"]})
    assert config.clinic_address is not None and config.clinic_address.city == "Austin"
    assert config.erx_simulator_closed == ("4410044",)
    with pytest.raises(SiteConfigError, match="clinic_address needs"):
        SiteConfig.from_mapping({"clinic_address": {"line1": "500 Clinic Way"}})


def test_an_e_visit_has_its_own_reply_promise_in_hours():
    assert SiteConfig().e_visit_reply_hours == 4
    assert SiteConfig.from_mapping({"e_visit_reply_hours": 24}).e_visit_reply_hours == 24
    with pytest.raises(SiteConfigError, match="e_visit_reply_hours"):
        SiteConfig.from_mapping({"e_visit_reply_hours": 0})


def test_the_site_file_wins_over_the_users_and_locks_what_it_sets(tmp_path: Path) -> None:
    from workstation.settings import describe, load_settings

    site = tmp_path / "site.toml"
    site.write_text('site_name = "North Clinic"\nlock_minutes = 5\n', encoding="utf-8")
    user = tmp_path / "settings.toml"
    user.write_text('lock_minutes = 30\nalert_during_calls = true\n', encoding="utf-8")

    settings = load_settings(site, user)

    assert settings.config.site_name == "North Clinic"
    assert settings.config.lock_minutes == 5  # the site's
    assert settings.config.alert_during_calls is True  # the user's, the site says nothing
    assert settings.locked == {"site_name", "lock_minutes"}
    assert settings.origins["lock_minutes"] == str(site)
    assert settings.origins["alert_during_calls"] == str(user)
    assert settings.origins["fee"] == "default"
    shown = describe(settings)
    assert f"lock_minutes = 5    # {site} (locked by the site)" in shown
    assert f"alert_during_calls = true    # {user}" in shown


def test_the_system_site_file_is_read_when_no_site_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.settings import SYSTEM_SITE_ENV, load_settings

    system = tmp_path / "etc-site.toml"
    monkeypatch.setenv(SYSTEM_SITE_ENV, str(system))
    assert load_settings(None, tmp_path / "none.toml").config == SiteConfig()  # none there
    system.write_text('site_name = "From IT"\n', encoding="utf-8")
    assert load_settings(None, tmp_path / "none.toml").config.site_name == "From IT"


def test_a_bad_file_in_any_layer_is_named_and_nothing_is_guessed(tmp_path: Path) -> None:
    from workstation.settings import load_settings

    site = tmp_path / "site.toml"
    site.write_text('site_name = "North Clinic"\n', encoding="utf-8")
    user = tmp_path / "settings.toml"
    user.write_text('lock_minutes = 900\n', encoding="utf-8")
    with pytest.raises(SiteConfigError, match=r"settings\.toml: lock_minutes must be between"):
        load_settings(site, user)
    user.write_text('nonsense = 1\n', encoding="utf-8")
    with pytest.raises(SiteConfigError, match=r"settings\.toml: Unknown site settings: nonsense"):
        load_settings(site, user)


def test_config_show_prints_no_secret(tmp_path: Path) -> None:
    from workstation.settings import describe, load_settings

    site = tmp_path / "site.toml"
    site.write_text('erx_inbound_token = "s3cret-token-value"\n', encoding="utf-8")
    shown = "\n".join(describe(load_settings(site, tmp_path / "none.toml")))
    assert "s3cret" not in shown and 'erx_inbound_token = "(set; not shown)"' in shown


EXAMPLE = Path(__file__).parents[2] / "installers" / "site.example.toml"


def documented_keys() -> list[str]:
    """Every key the example site file for IT names, set or in a comment."""
    import re

    text = EXAMPLE.read_text(encoding="utf-8")
    keys = re.findall(r"^#?\s*\[{0,2}([a-z_]+)\]{0,2}\s*(?:=|#|$)", text, flags=re.MULTILINE)
    return sorted({k for k in keys if k not in ("code", "name", "urls", "username",
                                                 "credential", "mon", "tue", "wed", "thu",
                                                 "fri")})


def test_every_setting_is_documented_in_the_example_for_it() -> None:
    from dataclasses import fields

    assert documented_keys() == sorted(f.name for f in fields(SiteConfig))


@pytest.mark.parametrize("key", documented_keys())
def test_every_documented_key_refuses_a_value_of_the_wrong_kind_by_name(key: str) -> None:
    wrong: object = [["not", "this"]] if key in ("hours", "clinic_address") else {"x": 1}
    with pytest.raises(SiteConfigError, match=rf"^{key}\b"):
        SiteConfig.from_mapping({key: wrong})


@pytest.mark.parametrize(("data", "problem"), [
    ({"lock_minutes": "ten"}, "lock_minutes must be a whole number, not 'ten'"),
    ({"alert_during_calls": 1}, "alert_during_calls must be true or false"),
    ({"fee": "forty"}, 'fee cannot be read from \'forty\': write the amount like "49.00"'),
    ({"hub_url": "hub.clinic.example"}, "hub_url 'hub.clinic.example' is not a web address"),
    ({"ice_servers": [{"urls": "http://turn.example"}]}, "ice_servers: .* needs urls"),
    ({"erx_simulator_closed": "4410044"}, "erx_simulator_closed must be a list"),
])
def test_a_wrong_value_names_its_key_and_what_to_write(data: dict, problem: str) -> None:
    with pytest.raises(SiteConfigError, match=problem):
        SiteConfig.from_mapping(data)


def test_the_hub_a_workstation_uses_is_a_site_setting() -> None:
    assert SiteConfig().hub_url == ""  # the embedded hub
    config = SiteConfig.from_mapping({"hub_url": "https://hub.clinic.example:8443"})
    assert config.hub_url == "https://hub.clinic.example:8443"


def test_installer_properties_become_site_keys() -> None:
    from workstation.settings import installer_updates

    assert installer_updates() == {}  # no property given: nothing changes
    assert installer_updates(
        hub_url=" https://hub.clinic.example:8443 ", site_name="Riverside Clinic",
        lock_minutes="5", ice_servers="stun:stun.clinic.example:3478, turns:t.example:5349",
        turn_username="clinic", turn_credential="pw") == {
        "hub_url": "https://hub.clinic.example:8443", "site_name": "Riverside Clinic",
        "lock_minutes": 5,
        "ice_servers": [{"urls": ["stun:stun.clinic.example:3478"]},
                        {"urls": ["turns:t.example:5349"], "username": "clinic",
                         "credential": "pw"}]}
    with pytest.raises(SiteConfigError, match="lock_minutes must be a whole number"):
        installer_updates(lock_minutes="five")
    with pytest.raises(SiteConfigError, match="needs the TURN server's address"):
        installer_updates(turn_username="clinic")


def test_writing_the_site_file_keeps_its_comments_and_refuses_bad_values(
        tmp_path: Path) -> None:
    from workstation.settings import load_settings, write_site

    site = tmp_path / "site.toml"
    site.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")

    write_site(site, {"hub_url": "https://hub.clinic.example:8443", "lock_minutes": 5})

    text = site.read_text(encoding="utf-8")
    assert "# How the fee is taken." in text  # IT's comments stay
    assert 'hub_url = "https://hub.clinic.example:8443"' in text
    config = load_settings(site, tmp_path / "none.toml").config
    assert (config.hub_url, config.lock_minutes, config.site_name) == (
        "https://hub.clinic.example:8443", 5, "Virtual Care")
    assert site.stat().st_mode & 0o777 == 0o644

    before = site.read_bytes()
    with pytest.raises(SiteConfigError, match="lock_minutes must be between 1 and 60"):
        write_site(site, {"lock_minutes": 600})
    assert site.read_bytes() == before  # nothing half-written
    assert [p.name for p in tmp_path.iterdir()] == ["site.toml"]  # no temporary left

    made = tmp_path / "ProgramData" / "Workstation" / "site.toml"
    write_site(made, {"site_name": "Riverside Clinic"})  # no file yet: made, folder too
    assert load_settings(made, tmp_path / "none.toml").config.site_name == "Riverside Clinic"


def test_config_write_site_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workstation.cli import main

    site = tmp_path / "site.toml"
    assert main(["config", "write-site", "--out", str(site), "--hub-url",
                 "https://hub.clinic.example:8443", "--ice-servers", "turns:t.example:5349",
                 "--turn-username", "clinic", "--turn-credential", "pw", "--lock-minutes", "",
                 "--site-name", "Riverside Clinic"]) == 0
    assert "set hub_url, ice_servers, site_name" in capsys.readouterr().out

    assert main(["config", "write-site", "--out", str(site), "--hub-url", "ftp://x"]) == 2
    assert "hub_url 'ftp://x' is not a web address" in capsys.readouterr().err
    assert main(["--site", str(site), "config", "show"]) == 0
    shown = capsys.readouterr().out
    assert 'hub_url = "https://hub.clinic.example:8443"' in shown
    assert '"pw"' not in shown
    assert 'credential = "(set; not shown)"' in shown


def test_a_hub_the_site_locks_is_not_replaced_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workstation.cli import main

    site = tmp_path / "site.toml"
    site.write_text('hub_url = "https://hub.clinic.example:8443"\n', encoding="utf-8")
    assert main(["--site", str(site), "--hub-url", "https://elsewhere.example"]) == 1
    err = capsys.readouterr().err
    assert "sets the hub to https://hub.clinic.example:8443 and locks it" in err


def test_the_workstation_refuses_to_start_on_a_bad_system_site_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from workstation.cli import main
    from workstation.settings import SYSTEM_SITE_ENV

    system = tmp_path / "etc" / "site.toml"
    system.parent.mkdir()
    system.write_text('lock_minutes = "ten"\n', encoding="utf-8")
    monkeypatch.setenv(SYSTEM_SITE_ENV, str(system))

    assert main([]) == 2  # the window is never opened on a guess
    assert capsys.readouterr().err == (
        f"workstation: {system}: lock_minutes must be a whole number, not 'ten'.\n")
