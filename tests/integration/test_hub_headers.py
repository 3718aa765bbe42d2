"""Every answer of the hub carries its security headers, aiohttp's own 404 and 405 included,
and a hub served over TLS tells browsers to come back only over TLS."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.test_clinic_hub_cli import _self_signed
from workstation.hub.server import create_app, start_hub, tls_context

SECURITY_HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_store, site, resources):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(sqlite_store, site, resources, embedded=True))


def _has_security_headers(headers: Any) -> bool:
    return all(headers.get(name) == value for name, value in SECURITY_HEADERS.items())


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("GET", "/no-such-page", 404, None),
    ("GET", "/api/no-such-thing", 404, None),
    ("POST", "/checkin", 405, "GET"),
    ("DELETE", "/api/checkins", 405, "POST"),
    ("GET", "/api/schedule", 401, None),
    ("GET", "/v/not-a-visit-link", 404, None),
])
async def test_error_answers_carry_the_security_headers(client, method, path, status, allow):
    r = await client.request(method, path)
    assert r.status == status
    assert _has_security_headers(r.headers), dict(r.headers)
    if allow is not None:
        assert allow in r.headers["Allow"].split(",")


async def test_pages_may_connect_only_to_their_own_hub(client):
    r = await client.get("/checkin")
    policy = dict(part.strip().split(" ", 1) for part in
                  r.headers["Content-Security-Policy"].split(";") if part.strip())
    assert policy["connect-src"] == "'self'"  # not any ws: or wss: host
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: the embedded hub


async def test_a_tls_hub_asks_browsers_to_stay_on_https(sqlite_store, site, resources,
                                                        tmp_path: Path, caplog):
    cert, key = _self_signed(tmp_path)
    key.chmod(0o600)
    hub = await start_hub(sqlite_store, site, resources, ssl_context=tls_context(cert, key))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
            for path in ("/checkin", "/api/site", "/no-such-page"):
                async with http.get(f"{hub.url}{path}") as r:
                    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        await hub.close()
    assert "can be read by other accounts" not in caplog.text


def test_a_tls_key_others_can_read_is_warned_about(tmp_path: Path, caplog):
    cert, key = _self_signed(tmp_path)
    key.chmod(0o644)

    tls_context(cert, key)

    assert f"The TLS key {key} can be read by other accounts (mode 644)" in caplog.text
    assert f"chmod 600 {key}" in caplog.text
