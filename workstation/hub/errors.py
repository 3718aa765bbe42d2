"""Errors as JSON a person can act on: ``{"error": {"code", "message", "fields"?}}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, **self.extra)


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}},
                             status=status)


FORMAT_HINTS = {
    "postal_code": "Enter a 5-digit ZIP code.",
    "phone": "Enter a phone number: digits, spaces and + ( ) - . only.",
    "callback_phone": "Enter a phone number: digits, spaces and + ( ) - . only.",
    "state": "Use the two-letter state code, e.g. TX.",
    "location_state": "Use the two-letter state code, e.g. TX.",
    "email": "Enter an email address like name@example.org, or leave it blank.",
    "username": "Use letters, digits and . _ @ - only.",
}


def _human(err: Any) -> str:
    kind = err["type"]
    field = str(err["loc"][-1]) if err["loc"] else ""
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "This is required."
    if kind == "extra_forbidden":
        return "This field is not expected."
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "This is required."
        return f"Use at least {ctx.get('min_length')} characters."
    if kind == "string_too_long":
        return f"This is too long: at most {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        return FORMAT_HINTS.get(field, "Check the format of this answer.")
    if kind.startswith("date"):
        return "Enter the date as YYYY-MM-DD."
    if kind.startswith("datetime"):
        return "Enter the date and time with its UTC offset, e.g. 2026-11-24T15:00:00-06:00."
    if kind == "literal_error":
        return "Choose one of the options offered."
    if kind.startswith(("int_", "decimal_", "float_")) or kind in (
            "greater_than_equal", "less_than_equal"):
        return str(err["msg"]).removeprefix("Input should be ").capitalize().rstrip(".") + "."
    if kind == "bool_type" or kind == "bool_parsing":
        return "Answer yes or no."
    return str(err["msg"]).removeprefix("Value error, ")


def fields_from(exc: ValidationError) -> dict[str, str]:
    """Field path -> first human message, e.g. ``patient.date_of_birth``."""
    out: dict[str, str] = {}
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        out.setdefault(path or "body", _human(err))
    return out


async def parse_body(request: web.Request, model: type[M]) -> M:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "too_large", "The request is too large.") from exc
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "Some answers need attention.",
                       fields=fields_from(exc)) from exc


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API paths always answer JSON, whatever went wrong; details never reach the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        return error_response(exc.status, _code(exc.status), _message(exc))
    except Exception:
        # Log the route only: request bodies may hold patient data.
        log.exception("Unhandled error on %s %s", request.method, request.match_info.route.name)
        if request.path.startswith("/api/"):
            return error_response(500, "server_error",
                                  "Something went wrong on our side. Nothing was saved; "
                                  "please try again.")
        raise


def _code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 413: "too_large"}.get(status, "error")


def _message(exc: web.HTTPException) -> str:
    return {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
        413: "The request is too large.",
        401: "Sign in first.",
    }.get(exc.status, exc.reason)
