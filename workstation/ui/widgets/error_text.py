"""Words for the provider when a request to the hub fails."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from workstation.client.hub_answers import HubError

log = logging.getLogger(__name__)


def describe(error: BaseException) -> str:
    """Words for the provider: the hub's own message, or a plain fallback (logged in full)."""
    if isinstance(error, HubError):
        details = [m for m in _field_messages(error.fields) if m != error.message]
        return " ".join([error.message, *details[:3]])
    log.error("Unexpected error talking to the hub", exc_info=error)
    return "Something went wrong on this workstation. Try again; if it keeps happening, " \
           "restart the workstation."


def _field_messages(fields: Mapping[str, str]) -> list[str]:
    return [f"{name.rsplit('.', 1)[-1].replace('_', ' ').capitalize()}: {message}"
            for name, message in fields.items()]
