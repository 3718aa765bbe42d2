"""Times as the clinic reads them: in the site's time zone, in words a person reads at a glance
(12/03/2026 9:05 AM CST), never an ISO string."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def site_zone(name: str | None) -> ZoneInfo | None:
    """The zone called ``name`` (the hub's site setting), or None when unknown."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def site_time(value: str | datetime, zone: ZoneInfo | None, *, date: bool = True,
              seconds: bool = False) -> str:
    """``value`` (an aware datetime or ISO text) in ``zone`` (this computer's own when None);
    text that is not a time comes back as it is."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    local = moment.astimezone(zone)
    clock = local.strftime("%I:%M:%S %p" if seconds else "%I:%M %p").lstrip("0")
    text = f"{local:%m/%d/%Y} {clock}" if date else clock
    return f"{text} {local.tzname()}" if local.tzname() else text
