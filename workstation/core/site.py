"""Site configuration: one typed, versioned record read once at start and passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from workstation.core.people import Address, ServiceLine

SCHEMA_VERSION = 1

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SiteConfigError(ValueError):
    """The site configuration holds a value that cannot be used."""


@dataclass(frozen=True)
class OpeningHours:
    """Hours for each weekday (0 = Monday); a missing day is closed."""

    by_weekday: Mapping[int, tuple[time, time]]


def default_hours() -> OpeningHours:
    return OpeningHours({d: (time(9, 0), time(18, 0)) for d in range(5)})


@dataclass(frozen=True)
class SiteConfig:
    """Everything a site may set. Read once in the CLI or app and passed to what needs it."""

    schema_version: int = SCHEMA_VERSION
    site_name: str = "Virtual Care"
    time_zone: str = "America/Chicago"
    minimum_age: int = 18
    hours: OpeningHours = field(default_factory=default_hours)
    fee: Decimal = Decimal("49.00")
    currency: str = "USD"
    service_lines: tuple[ServiceLine, ...] = (
        ServiceLine("urgent_care", "On-demand urgent care"),
        ServiceLine("specialty_care", "Virtual specialty care"),
    )
    promised_wait_minutes: int = 20
    minutes_per_visit: int = 12
    # E-Visits are answered without video: a provider replies within this many hours (their
    # own promise; they are late by it, not by the video visits' minutes).
    e_visit_reply_hours: int = 4
    link_lifetime_hours: int = 24  # how long a link lets the patient join
    summary_days: int = 14  # how long a signed visit's link still shows its summary
    begin_window_minutes: int = 30
    echeckin_open_days: int = 3  # a scheduled visit's eCheck-in opens this long before it
    session_hours: int = 12
    lock_minutes: int = 10  # the workstation locks after this long without input
    remember_days: int = 14  # "remember me" signs in again without a password this long
    alert_during_calls: bool = False  # new-patient sound and tray message while on a call
    ice_servers: tuple[Mapping[str, Any], ...] = ()
    # Where prescriptions go: empty means the hub's own pharmacy network simulator.
    erx_gateway_url: str = ""
    # The practice address and phone printed on prescriptions as the prescriber's.
    clinic_address: Address | None = None
    clinic_phone: str = ""
    # A clinic's hub runs the pharmacy network simulator only when asked (training sites);
    # the workstation's embedded hub always does, when no gateway is set.
    erx_simulator: bool = False
    # The simulator answers "closed, try later" for these NCPDP IDs (trainers show retries).
    erx_simulator_closed: tuple[str, ...] = ()
    # ... and refuses every script sent to these (trainers show a rejected prescription).
    erx_simulator_rejects: tuple[str, ...] = ()
    # How long the simulator's pharmacies take to confirm a script or a cancel.
    erx_simulator_delay_seconds: float = 2.0
    # The gateway sends later answers (Verify, CancelRxResponse) to /erx/inbound with this
    # bearer token; empty: the route is closed.
    erx_inbound_token: str = ""
    # Where signed visits' summaries for patients' own doctors are posted (FHIR document
    # Bundles); empty: the hub's primary-care simulator when it runs one (embedded, or with
    # erx_simulator on a training site), else nothing is sent.
    pcp_endpoint_url: str = ""
    # How the fee is taken. "stripe": Stripe (the card goes from the page's Stripe element to
    # Stripe, never through the hub); "simulated": the training processor, which charges
    # nothing; "none": not online at all, and ``payment_note`` tells patients how. Unset: the
    # embedded hub simulates; a clinic's hub refuses to start.
    payment: str = ""
    payment_note: str = ""
    # Every provider signs in with a code from an authenticator app (TOTP) too; without it,
    # only those whose account has one set up (``workstation provider totp``).
    require_totp: bool = False
    stripe_publishable_key: str = ""
    stripe_secret_key_file: str = ""  # else the STRIPE_SECRET_KEY environment variable
    stripe_api_base: str = ""  # Stripe's own API unless set (a test server)
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # The clinic's hub this workstation works with (https://…); empty: its own embedded hub.
    hub_url: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def service_line(self, code: str) -> ServiceLine | None:
        return next((s for s in self.service_lines if s.code == code), None)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SiteConfig:
        """Build from parsed TOML/JSON, upgrading older schema versions."""
        data = dict(migrate(data))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SiteConfigError(f"Unknown site settings: {', '.join(sorted(unknown))}.")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            _check_type(key, value)
            try:
                kwargs[key] = _parsed(key, value)
            except SiteConfigError:
                raise
            except (TypeError, ValueError, AttributeError, KeyError, ArithmeticError) as exc:
                raise SiteConfigError(f"{key} cannot be read from {value!r}: "
                                      f"{EXPECTED.get(key, exc)}.") from exc
        config = cls(**kwargs)
        try:
            config.zone  # noqa: B018 - validates the name
        except Exception as exc:
            raise SiteConfigError(f"Unknown time zone {config.time_zone!r}.") from exc
        if config.fee < 0:
            raise SiteConfigError("The visit fee cannot be negative.")
        if not 0 <= config.remember_days <= 90:
            raise SiteConfigError("remember_days must be between 0 (never) and 90.")
        if not 1 <= config.lock_minutes <= 60:
            raise SiteConfigError("lock_minutes must be between 1 and 60.")
        if not 0 <= config.echeckin_open_days <= 30:
            raise SiteConfigError("echeckin_open_days must be between 0 and 30.")
        if not 1 <= config.e_visit_reply_hours <= 72:
            raise SiteConfigError("e_visit_reply_hours must be between 1 and 72.")
        if not 0 <= config.summary_days <= 90:
            raise SiteConfigError("summary_days must be between 0 and 90.")
        if config.hub_url and not _is_web_address(config.hub_url):
            raise SiteConfigError(f"hub_url {config.hub_url!r} is not a web address; write it "
                                  "like https://hub.clinic.example:8443.")
        if config.payment not in PAYMENT_CHOICES:
            raise SiteConfigError(
                f"payment must be one of {', '.join(repr(c) for c in PAYMENT_CHOICES[1:])}.")
        if config.payment == "stripe" and not config.stripe_publishable_key.startswith("pk_"):
            raise SiteConfigError("payment = \"stripe\" needs stripe_publishable_key (pk_…).")
        if config.payment == "none" and not config.payment_note.strip():
            raise SiteConfigError("payment = \"none\" needs payment_note: how patients pay "
                                  "the fee, shown on the check-in page.")
        return config


PAYMENT_CHOICES = ("", "stripe", "simulated", "none")
EXPECTED = {
    "fee": 'write the amount like "49.00"',
    "hours": 'write each day like mon = ["09:00", "18:00"]',
    "service_lines": "each needs a code and a name",
    "ice_servers": "each needs urls",
    "clinic_address": "it needs line1, city, state and postal_code",
}


def _parsed(key: str, value: Any) -> Any:
    if key == "hours":
        return _parse_hours(value)
    if key == "fee":
        return Decimal(str(value))
    if key == "service_lines":
        return tuple(ServiceLine(str(s["code"]), str(s["name"])) for s in value)
    if key == "ice_servers":
        return tuple(dict(s) for s in value)
    if key == "clinic_address":
        return _parse_address(value)
    if key in ("erx_simulator_closed", "erx_simulator_rejects"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SiteConfigError(f'{key} must be a list of NCPDP IDs, like ["4410044"].')
        return tuple(value)
    return value
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
# What a key's value must be, in the words of the error (the rest have their own parsers).
KINDS: dict[type, str] = {str: "text in quotes", bool: "true or false", int: "a whole number",
                          float: "a number"}


def _check_type(key: str, value: Any) -> None:
    """A value of the wrong kind is refused with the key's name (not a TypeError later)."""
    kind = next((f.default.__class__ for f in fields(SiteConfig) if f.name == key), None)
    if kind is str and isinstance(value, str):
        return
    if kind is bool and isinstance(value, bool):
        return
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return
    if kind in KINDS:
        raise SiteConfigError(f"{key} must be {KINDS[kind]}, not {value!r}.")
    if key == "ice_servers":
        _check_ice_servers(value)


def _check_ice_servers(value: Any) -> None:
    if not isinstance(value, list):
        raise SiteConfigError("ice_servers must be a list of servers, each with urls.")
    for server in value:
        urls = server.get("urls") if isinstance(server, Mapping) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(u, str) and u.startswith(ICE_SCHEMES) for u in urls):
            raise SiteConfigError(
                f"ice_servers: {server!r} needs urls beginning with stun:, turn: or turns: "
                "(as turns:turn.clinic.example:5349).")


def _is_web_address(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def migrate(data: Mapping[str, Any]) -> Mapping[str, Any]:
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SiteConfigError(f"schema_version must be a whole number, not {version!r}.")
    if version > SCHEMA_VERSION:
        raise SiteConfigError(
            f"This site configuration is version {version}; this program reads up to "
            f"{SCHEMA_VERSION}. Update the workstation."
        )
    return {**data, "schema_version": SCHEMA_VERSION}


def _parse_address(value: Mapping[str, Any]) -> Address:
    try:
        return Address(line1=str(value["line1"]), city=str(value["city"]),
                       state=str(value["state"]), postal_code=str(value["postal_code"]),
                       line2=str(value.get("line2", "")))
    except (KeyError, TypeError) as exc:
        raise SiteConfigError(
            "clinic_address needs line1, city, state and postal_code.") from exc


def _parse_hours(value: Mapping[str, Any]) -> OpeningHours:
    by_weekday: dict[int, tuple[time, time]] = {}
    for day, span in value.items():
        if day not in WEEKDAYS:
            raise SiteConfigError(f"Unknown weekday {day!r} in hours; use {', '.join(WEEKDAYS)}.")
        if not span:
            continue
        opens, closes = (time.fromisoformat(str(t)) for t in span)
        if closes <= opens:
            raise SiteConfigError(f"Hours for {day} close before they open.")
        by_weekday[WEEKDAYS.index(day)] = (opens, closes)
    return OpeningHours(by_weekday)
