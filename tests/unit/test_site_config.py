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
