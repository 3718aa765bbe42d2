"""What the hub answers, as the provider's client hands it on: a refusal (:class:`HubError`, in
the hub's own words), a session, a claim, the practice details."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from workstation.core.people import Address, Provider
from workstation.core.practice import Practice


class HubError(Exception):
    """The hub refused a request, or could not be reached.

    Attributes:
        status: the HTTP status, or 0 when the hub could not be reached at all.
        code: the hub's snake_case error code (``already_claimed``, ``unreachable``, ...).
        message: text to show the provider as it is.
        fields: per-field messages for a form, when the hub gave them.
        missing: what a note still lacks, when signing was refused as incomplete.
    """

    def __init__(self, status: int, code: str, message: str,
                 fields: Mapping[str, str] | None = None,
                 missing: Sequence[str] = (),
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields: Mapping[str, str] = dict(fields or {})
        self.missing = tuple(missing)  # what a note still lacks before it can be signed
        # The rest of the hub's error: a prescription's findings or missing fields.
        self.details: Mapping[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"HubError({self.status}, {self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class ProviderSession:
    """A signed-in provider: the bearer token and who it belongs to."""

    token: str = field(repr=False)
    expires_at: datetime
    provider: Provider
    # "Remember me": spent once at the next start for a new session (and a new one of these).
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SetupStatus:
    needs_first_provider: bool
    # The practice details the site file gives, to start the first run's form with.
    practice: Practice | None = None


@dataclass(frozen=True)
class PracticeSettings:
    """Settings > Practice as the hub keeps it: the practice in use and the provider's NPI."""

    npi: str
    practice: Practice


@dataclass(frozen=True)
class Claim:
    """The hub's answer to a won claim."""

    visit_id: str
    state: str
    provider_id: str


async def json_or_none(response: aiohttp.ClientResponse) -> Any:
    if response.status == 204 or response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except (json.JSONDecodeError, aiohttp.ContentTypeError):
        return None


_FALLBACK_MESSAGES = {
    401: "Sign in first.",
    403: "You are not allowed to do this.",
    404: "The hub does not know this address; it may be a different version.",
}


def error_from(status: int, body: Any) -> HubError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return HubError(status, "http_error", _FALLBACK_MESSAGES.get(
            status, f"The hub answered with an error (HTTP {status}). Try again."))
    fields = error.get("fields")
    return HubError(
        status, str(error.get("code", "error")),
        str(error.get("message") or _FALLBACK_MESSAGES.get(
            status, f"The hub answered with an error (HTTP {status}). Try again.")),
        {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else None,
        [str(m) for m in error.get("missing") or ()] if isinstance(error.get("missing"), list)
        else (),
        {k: v for k, v in error.items() if k in ("findings", "problems")})


def provider_from(data: Mapping[str, Any]) -> Provider:
    return Provider(id=str(data["id"]), username=str(data["username"]),
                    display_name=str(data["display_name"]),
                    service_lines=tuple(str(s) for s in data["service_lines"]),
                    npi=str(data.get("npi") or ""))


def practice_from(data: Mapping[str, Any]) -> Practice:
    """``{"address": {...} | null, "phone": "..."}`` as the hub sends it."""
    a = data.get("address")
    address = Address(str(a.get("line1", "")), str(a.get("city", "")),
                      str(a.get("state", "")), str(a.get("postal_code", "")),
                      str(a.get("line2", ""))) if isinstance(a, Mapping) else None
    return Practice(address, str(data.get("phone") or ""))


def practice_json(practice: Practice) -> dict[str, Any]:
    a = practice.address
    return {"address": None if a is None else {
        "line1": a.line1, "line2": a.line2, "city": a.city, "state": a.state,
        "postal_code": a.postal_code}, "phone": practice.phone}


def claim_from(data: Mapping[str, Any]) -> Claim:
    return Claim(str(data["visit_id"]), str(data["state"]), str(data.get("provider_id", "")))
