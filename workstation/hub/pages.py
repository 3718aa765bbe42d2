"""The patient's pages: plain HTML, CSS and JS from ``hub/web``, no build step, no CDN."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from workstation.core.site import SiteConfig
from workstation.core.visit import TERMINAL_STATES, VisitKind, VisitState
from workstation.core.visit_link import looks_like_token
from workstation.hub.patient_api import PATIENTS
from workstation.storage.store import VisitDetail

WEB = Path(__file__).with_name("web")

routes = web.RouteTableDef()


def _page(name: str, status: int = 200) -> web.FileResponse:
    response = web.FileResponse(WEB / name, status=status)
    response.content_type = "text/html"
    response.charset = "utf-8"
    return response


@routes.get("/", name="home")
async def home(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/checkin")


@routes.get("/checkin", name="checkin_page")
async def checkin_page(_request: web.Request) -> web.FileResponse:
    return _page("checkin.html")


@routes.get("/device-test", name="device_test_page")
async def device_test_page(_request: web.Request) -> web.FileResponse:
    return _page("device-test.html")


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
async def visit_page(request: web.Request) -> web.FileResponse:
    return _page("visit.html") if await _detail(request) else _page("expired.html", 404)


@routes.get("/v/{token}/video", name="video_page")
async def video_page(request: web.Request) -> web.FileResponse:
    detail = await _detail(request)
    if detail is None or detail.visit.kind is VisitKind.E_VISIT:
        return _page("expired.html", 404)
    if detail.visit.state in TERMINAL_STATES:  # over: its summary, never the video
        raise web.HTTPFound(f"/v/{request.match_info['token']}")
    if detail.visit.state not in CALL_STATES and detail.visit.state is not VisitState.WAITING:
        return _page("expired.html", 404)
    return _page("video.html")


async def provider_test_page(_request: web.Request) -> web.FileResponse:
    """The provider's side of a call in the browser: the benchmark's baseline. Routed only when
    the hub is started for benchmarks (``create_app(provider_test_page=True)``)."""
    return _page("provider-test.html")


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
