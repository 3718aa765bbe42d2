"""The patient's pages: plain HTML, CSS and JS from ``hub/web``, no build step, no CDN."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from workstation.core.demo import BANNER
from workstation.core.site import SiteConfig
from workstation.core.visit import TERMINAL_STATES, VisitKind, VisitState
from workstation.core.visit_link import looks_like_token
from workstation.hub.patient_api import PATIENTS
from workstation.storage.store import VisitDetail

WEB = Path(__file__).with_name("web")

routes = web.RouteTableDef()


DEMO: web.AppKey[bool] = web.AppKey("demo", bool)
DEMO_BANNER = (f'<div class="demo-banner" role="note" lang="en">{html.escape(BANNER)}: '
               "a simulated patient and visit, for training</div>")


def _page(request: web.Request, name: str, status: int = 200) -> web.StreamResponse:
    """A page of ``hub/web``; on the demo's hub, marked as the demo in its title and across
    its top (nobody takes a training visit for a real one)."""
    if request.app.get(DEMO):
        text = (WEB / name).read_text(encoding="utf-8")
        text = text.replace("<title>", f"<title>{html.escape(BANNER)} · ", 1)
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + DEMO_BANNER, text, count=1)
        return web.Response(text=text, status=status, content_type="text/html")
    response = web.FileResponse(WEB / name, status=status)
    response.content_type = "text/html"
    response.charset = "utf-8"
    return response


@routes.get("/", name="home")
async def home(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/checkin")


@routes.get("/checkin", name="checkin_page")
async def checkin_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "checkin.html")


@routes.get("/device-test", name="device_test_page")
async def device_test_page(request: web.Request) -> web.StreamResponse:
    return _page(request, "device-test.html")


# The video room opens once a provider has the visit, and stays open while the visit is (after
# End, the provider may call again); an ended visit's link leads to its summary instead.
CALL_STATES = frozenset({VisitState.CLAIMED, VisitState.IN_CALL, VisitState.RECONNECTING,
                         VisitState.DOCUMENTING})


async def _detail(request: web.Request) -> VisitDetail | None:
    token = request.match_info["token"]
    if not looks_like_token(token):
        return None
    return await request.app[PATIENTS].store_detail(token)


@routes.get("/v/{token}", name="visit_page")
async def visit_page(request: web.Request) -> web.StreamResponse:
    if await _detail(request):
        return _page(request, "visit.html")
    return _page(request, "expired.html", 404)


@routes.get("/v/{token}/video", name="video_page")
async def video_page(request: web.Request) -> web.StreamResponse:
    detail = await _detail(request)
    if detail is None or detail.visit.kind is VisitKind.E_VISIT:
        return _page(request, "expired.html", 404)
    if detail.visit.state in TERMINAL_STATES:  # over: its summary, never the video
        raise web.HTTPFound(f"/v/{request.match_info['token']}")
    if detail.visit.state not in CALL_STATES and detail.visit.state is not VisitState.WAITING:
        return _page(request, "expired.html", 404)
    return _page(request, "video.html")


async def provider_test_page(request: web.Request) -> web.StreamResponse:
    """The provider's side of a call in the browser: the benchmark's baseline. Routed only when
    the hub is started for benchmarks (``create_app(provider_test_page=True)``)."""
    return _page(request, "provider-test.html")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
PAGE_POLICY: web.AppKey[str] = web.AppKey("page_policy", str)


def content_security_policy(config: SiteConfig) -> str:
    """The pages' policy: their own hub only; where Stripe takes the cards, also its script,
    its element's frames and its API (as Stripe's documentation lists them)."""
    if config.payment != "stripe":
        return CSP
    script = _origin(config.stripe_js_url)
    api = _origin(config.stripe_api_base or "https://api.stripe.com")
    return (
        f"default-src 'self'; script-src 'self' {script}; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        f"connect-src 'self' {api}; frame-src {script} https://hooks.stripe.com; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # aiohttp's own answers (404, 405 with its Allow, redirects) get the same headers.
        response = web.Response(status=exc.status, reason=exc.reason, text=exc.text,
                                headers=exc.headers)
    headers = response.headers
    # The visit token is in page URLs: never let it leave in a Referer header.
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", request.app.get(PAGE_POLICY, CSP))
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self)")
    return response
