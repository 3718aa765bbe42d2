"""Errors as JSON a person can act on: ``{"error": {"code", "message", "fields"?}}``."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from workstation.hub.text_rules import CONTROL_CHARACTER

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


def error_response(status: int, code: str, message: str, *,
                   headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}},
                             status=status, headers=headers)


# -- reading JSON -------------------------------------------------------------------------------

# The deepest request the hub takes nests four levels; the parser recurses once per level and
# runs out of stack near a thousand, so deeper text is refused before it is parsed.
MAX_JSON_DEPTH = 32

# A string, or an unfinished one to the end of the text (so that each character is read once).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


class UnreadableJson(ValueError):
    """JSON the hub does not read: ``code`` and ``message`` say why, for the sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def load_json(data: str | bytes) -> Any:
    """``json.loads`` for text from outside. Text nested more than ``MAX_JSON_DEPTH`` deep is
    refused before it is parsed (``too_deep``); text that is not UTF-8 or not JSON, or holds a
    number too long to convert, is refused as ``bad_json``."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise UnreadableJson("bad_json", "The request body is not valid JSON.") from exc
    # The brackets outside strings; each pass takes away the innermost pairs, one level.
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            break
        inner = _INNERMOST.sub("", brackets)
        if len(inner) == len(brackets):  # brackets that do not pair up
            raise UnreadableJson("bad_json", "The request body is not valid JSON.")
        brackets = inner
    if brackets:
        raise UnreadableJson("too_deep", "The request body nests arrays and objects more "
                                         f"than {MAX_JSON_DEPTH} deep.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableJson("bad_json", "The request body is not valid JSON.") from exc
    except ValueError as exc:  # an integer of thousands of digits
        raise UnreadableJson("bad_json", "A number in the request body is too long.") from exc


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
    if kind == "string_unicode":  # e.g. half of a surrogate pair
        return "This holds something that is not text. Type it again."
    return str(err["msg"]).removeprefix("Value error, ")


def fields_from(exc: ValidationError) -> dict[str, str]:
    """Field path -> first human message, e.g. ``patient.date_of_birth``."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = err["loc"]
        if loc and loc[-1] == "[key]":  # a key of a mapping: named by the mapping, not itself
            loc = loc[:-2]
        path = ".".join(str(p) for p in loc)
        out.setdefault(path or "body", _human(err))
    return out


async def parse_body(request: web.Request, model: type[M], *, empty: M | None = None) -> M:
    """The request's JSON body as ``model``: 400 when it is not JSON (or nested too deeply),
    422 naming each field that needs attention. ``empty`` is the answer for a request without
    a body, where one is optional."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "too_large", "The request is too large.") from exc
    if not raw and empty is not None:
        return empty
    try:
        data = load_json(raw or b"null")
    except UnreadableJson as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "Some answers need attention.",
                       fields=fields_from(exc)) from exc


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API paths always answer JSON, whatever went wrong; details never reach the client."""
    try:
        if request.path.startswith("/api/") and any(
                CONTROL_CHARACTER.search(value) for value in request.match_info.values()):
            # Ids and links are plain text: one with a control character names nothing (and
            # PostgreSQL could not even compare it).
            raise web.HTTPNotFound()
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        allow = exc.headers.get("Allow")  # 405 says which methods the address takes
        return error_response(exc.status, _code(exc.status), _message(exc),
                              headers={"Allow": allow} if allow is not None else None)
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
