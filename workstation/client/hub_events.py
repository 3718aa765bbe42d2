"""What the hub pushes to a signed-in provider, as typed events, and how to read them from JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workstation.core.queue import QueueEntry


class MalformedEvent(ValueError):
    """A message from the hub that does not follow the contract."""


@dataclass(frozen=True)
class QueueSnapshot:
    """The whole queue for the provider's service lines; replaces what the provider saw."""

    entries: tuple[QueueEntry, ...]


@dataclass(frozen=True)
class QueueAdded:
    """A patient joined the queue."""

    entry: QueueEntry


@dataclass(frozen=True)
class QueueClaimed:
    """A provider (perhaps this one) claimed a waiting visit; it leaves the queue."""

    visit_id: str
    provider_id: str


@dataclass(frozen=True)
class QueueLeft:
    """A visit left the queue without a claim (cancelled, redirected, expired, ...)."""

    visit_id: str
    reason: str


@dataclass(frozen=True)
class Signal:
    """A WebRTC signaling message from the patient of a visit this provider claimed."""

    visit_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class ConnectionChanged:
    """The provider socket connected, or dropped and is being reconnected."""

    connected: bool


@dataclass(frozen=True)
class PrescriptionChanged:
    """A script of this provider's moved on (queued, sent, accepted, refused, cancelled)."""

    visit_id: str
    prescription: Mapping[str, Any]


HubEvent = (QueueSnapshot | QueueAdded | QueueClaimed | QueueLeft | Signal | ConnectionChanged
            | PrescriptionChanged)


def parse_entry(data: Any) -> QueueEntry:
    """A QueueEntry from its JSON form; raises MalformedEvent when a field is missing or wrong."""
    if not isinstance(data, Mapping):
        raise MalformedEvent("a queue entry must be an object")
    try:
        return QueueEntry(
            visit_id=_str(data, "visit_id"),
            kind=_str(data, "kind"),
            service_line=_str(data, "service_line"),
            condition=_str(data, "condition"),
            condition_name=_str(data, "condition_name"),
            age=int(data["age"]),
            sex=_str(data, "sex"),
            waiting_since=datetime.fromisoformat(_str(data, "waiting_since")),
            payment_status=_str(data, "payment_status"),
            echeckin_complete=bool(data["echeckin_complete"]),
            e_visit=bool(data["e_visit"]),
            state=_str(data, "state"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"bad queue entry: {exc}") from exc


def parse_event(message: Any) -> HubEvent | None:
    """The event a provider-socket message stands for; None for types this client ignores."""
    if not isinstance(message, Mapping):
        raise MalformedEvent("a message must be an object")
    kind = message.get("type")
    try:
        if kind == "queue.snapshot":
            return QueueSnapshot(tuple(parse_entry(e) for e in message["entries"]))
        if kind == "queue.added":
            return QueueAdded(parse_entry(message["entry"]))
        if kind == "queue.claimed":
            return QueueClaimed(_str(message, "visit_id"), str(message.get("provider_id", "")))
        if kind == "queue.left":
            return QueueLeft(_str(message, "visit_id"), str(message.get("reason", "")))
        if kind == "signal":
            data = message["data"]
            if not isinstance(data, Mapping):
                raise MalformedEvent("signal data must be an object")
            return Signal(_str(message, "visit_id"), data)
        if kind == "prescription":
            data = message["prescription"]
            if not isinstance(data, Mapping):
                raise MalformedEvent("a prescription must be an object")
            return PrescriptionChanged(_str(data, "visit_id"), data)
    except (KeyError, TypeError) as exc:
        raise MalformedEvent(f"bad {kind} message: {exc}") from exc
    return None  # "pong" and types added to the hub after this client was written


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value
