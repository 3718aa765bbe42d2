"""The clinic hub over TLS, and the site's STUN/TURN servers.

The hub is asked for ``/api/site`` (what the workstation's device check asks) with the
system's default trust, as the workstation's hub client does: a certificate this PC does not
trust fails here just as it would fail the provider's sign-in.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import json
import math
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from workstation.readiness.runner import Finding

HUB_TIMEOUT_S = 8.0
CERT_RENEW_DAYS = 14
TRUST_FIX = ("Install the clinic's certificate authority in this PC's trusted certificates "
             "(or give the hub a certificate from a public authority). Do not turn "
             "certificate checks off.")
# OpenSSL's verify codes (X509_V_ERR_*) that mean "issued by no authority this PC trusts".
UNTRUSTED_CODES = {2, 18, 19, 20, 21}
EXPIRED, NOT_YET_VALID, HOST_MISMATCH = 10, 9, 62


def check_hub(hub_url: str, *, context: ssl.SSLContext | None = None,
              timeout_s: float = HUB_TIMEOUT_S) -> Finding:
    """Reach the hub at ``hub_url`` ("" for the embedded hub). ``context``: the TLS trust to
    use, the system's default when None."""
    if not hub_url:
        return Finding("pass", "No clinic hub is set: the workstation runs its embedded hub on "
                               "this PC (nothing to reach).")
    parts = urlsplit(hub_url)
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        return Finding("fail", f"{hub_url!r} is not a hub address.",
                       "Set hub_url to the hub's address, such as "
                       "https://hub.clinic.example:8443.")
    local = _is_loopback(host)
    if parts.scheme == "http" and not local:
        return Finding("fail", f"The hub address {hub_url} is plain http: not encrypted. "
                               "Sign-ins and visits would cross the network readable by others.",
                       "Serve the hub over TLS (workstation hub --tls-cert/--tls-key, or "
                       "behind a TLS proxy) and set hub_url to its https:// address.")
    path = parts.path.rstrip("/") + "/api/site"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout_s, context=context or ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    started = time.monotonic()
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read(1_000_000)
        took_ms = (time.monotonic() - started) * 1000
        sock = connection.sock
        tls = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
    except ssl.SSLCertVerificationError as exc:
        return _untrusted(hub_url, host, exc)
    except ssl.SSLError as exc:
        return Finding("fail", f"The TLS handshake with {hub_url} failed: "
                               f"{exc.reason or exc}.",
                       "Check that the address points at the hub's TLS (https) port.")
    except (OSError, http.client.HTTPException) as exc:
        return Finding("fail", f"The hub at {hub_url} cannot be reached: {_said(exc)}.",
                       f"Check the address, that the hub is running, and that the firewall "
                       f"lets this PC reach {host} on port "
                       f"{port or (443 if parts.scheme == 'https' else 80)}.")
    finally:
        connection.close()
    if response.status != 200:
        return Finding("fail", f"{hub_url} answered HTTP {response.status} "
                               f"{response.reason}.",
                       "Check the address; ask whoever runs the hub (or the proxy in front of "
                       "it) whether it is running.")
    if not _is_site_answer(body):
        return Finding("fail", f"{hub_url} answered, but not as a visit hub does.",
                       "Check the address: it should be the hub's own, with no page path.")
    reached = f"The hub at {hub_url} answered in {took_ms:.0f} ms"
    if tls is None:
        return Finding("warn", f"{reached}, without encryption (http on this PC only).",
                       "Fine for a hub on this PC; a clinic's shared hub must use https://.")
    days = _days_left(cert)
    if days is not None and days < CERT_RENEW_DAYS:
        return Finding("warn", f"{reached} over {tls}; its certificate is trusted but expires "
                               f"in {days} day{'s' if days != 1 else ''}.",
                       "Renew the hub's certificate before it expires: after that no "
                       "workstation can sign in.")
    return Finding("pass", f"{reached} over {tls}; its certificate is trusted.")


def check_ice_servers(servers: Sequence[Mapping[str, Any]]) -> Finding:
    """Gather through each configured STUN/TURN server (``workstation.rtc.connectivity``)."""
    if not servers:
        return Finding("warn", "No STUN or TURN server is set for this site: video calls work "
                               "between devices on the same network only.",
                       "For patients at home, set ice_servers in the site configuration: a "
                       "TURN server (such as coturn) reachable from both sides.")
    from workstation.rtc.connectivity import check_ice_servers as gather

    results = asyncio.run(gather(servers))  # the messages name the URLs, never credentials
    # Their first sentence: what happened (the advice after it is this check's fix).
    failed = [r.message.split(". ")[0].rstrip(".") + "." for r in results if not r.ok]
    if failed:
        return Finding("fail", " ".join(failed),
                       "Check the server's address and port, its username and credential in "
                       "the site configuration, and that the firewall lets this PC reach it "
                       "(UDP, or TCP/TLS for turn:…?transport=tcp and turns:).")
    found = " ".join(r.message for r in results) + "."
    if not any(r.server.startswith(("turn:", "turns:")) for r in results):
        return Finding("warn", f"{found} No TURN server is set: patients on networks that "
                               "block direct connections cannot be reached.",
                       "Add a TURN server (such as coturn) to ice_servers in the site "
                       "configuration.")
    return Finding("pass", found)


def ice_timeout_s(servers: Sequence[Mapping[str, Any]]) -> float:
    from workstation.rtc.connectivity import GATHER_TIMEOUT_S

    urls = sum(1 if isinstance(s.get("urls"), str) else len(s.get("urls", ())) for s in servers)
    return GATHER_TIMEOUT_S * max(urls, 1) + 5


def _untrusted(hub_url: str, host: str, exc: ssl.SSLCertVerificationError) -> Finding:
    code = exc.verify_code
    said = exc.verify_message or str(exc)
    if code == HOST_MISMATCH:
        return Finding("fail", f"The hub's certificate does not name {host} ({said}).",
                       f"Use the address the certificate was issued for, or issue the hub a "
                       f"certificate naming {host}.")
    if code == EXPIRED:
        return Finding("fail", f"The hub's certificate has expired ({said}).",
                       "Renew the hub's certificate.")
    if code == NOT_YET_VALID:
        return Finding("fail", f"The hub's certificate is not valid yet ({said}).",
                       "Check this PC's date and time, and the certificate's start date.")
    if code in UNTRUSTED_CODES:
        return Finding("fail", f"The hub at {hub_url} shows a certificate this PC does not "
                               f"trust ({said}).", TRUST_FIX)
    return Finding("fail", f"The hub's certificate was refused ({said}).", TRUST_FIX)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_site_answer(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "site_name" in answer


def _days_left(cert: Mapping[str, Any] | None) -> int | None:
    """Whole days the certificate is still valid (its last part-day counted as one)."""
    if not cert or "notAfter" not in cert:
        return None
    seconds = ssl.cert_time_to_seconds(str(cert["notAfter"])) - time.time()
    return max(0, math.ceil(seconds / 86400))


def _said(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
