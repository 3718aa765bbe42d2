"""Times on screen: the site's zone, read at a glance, never ISO text."""

from __future__ import annotations

from datetime import UTC, datetime

from workstation.ui.widgets.site_time import site_time, site_zone

CHICAGO = site_zone("America/Chicago")


def test_an_iso_time_from_the_hub_reads_in_the_site_zone():
    assert site_time("2026-12-03T06:17:24.117045+00:00", CHICAGO) == "12/03/2026 12:17 AM CST"
    assert site_time(datetime(2026, 7, 1, 15, 5, tzinfo=UTC), CHICAGO) == "07/01/2026 10:05 AM CDT"


def test_the_clock_alone_with_seconds():
    assert site_time(datetime(2026, 12, 3, 15, 5, 9, tzinfo=UTC), CHICAGO, date=False,
                     seconds=True) == "9:05:09 AM CST"


def test_text_that_is_not_a_time_is_shown_as_it_is():
    assert site_time("soon", CHICAGO) == "soon"


def test_an_unknown_zone_is_none():
    assert site_zone("Mars/Olympus") is None
    assert site_zone("") is None
