"""A local server that answers as Stripe's documented API does, for the calls the workstation
makes, and a stand-in for Stripe.js that the check-in page loads in its place.

What it follows of Stripe's API reference: form-encoded requests with the secret (or, for
PaymentMethods, the publishable) key as a bearer token; ``Idempotency-Key`` replays the first
answer for the same parameters (``Idempotent-Replayed: true``) and refuses other parameters
with the same key (400 ``idempotency_error``); a PaymentIntent confirmed with
``capture_method=manual`` is ``requires_capture``, ``/capture`` makes it ``succeeded``,
``/cancel`` makes it ``canceled``, and either on the wrong status is a 400
``payment_intent_unexpected_state``; the test card 4000 0000 0000 0002 is declined at confirm
(402 ``card_error``, ``card_declined``); search by ``metadata['key']:'value'``.
It also counts what it did, for the tests to compare with the hub's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SECRET_KEY = "sk_test_workstation_double"
PUBLISHABLE_KEY = "pk_test_workstation_double"
DECLINED_CARD = "4000000000000002"


def _form(data: Any) -> dict[str, Any]:
    """Stripe's bracketed form keys (metadata[hold_key], payment_method_types[0]) nested."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        parts = re.findall(r"[^\[\]]+", key)
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def _error(status: int, kind: str, code: str, message: str, param: str = "") -> web.Response:
    body: dict[str, Any] = {"type": kind, "code": code, "message": message}
    if param:
        body["param"] = param
    if code == "card_declined":
        body["decline_code"] = "generic_decline"
    return web.json_response({"error": body}, status=status)


@dataclass
class StripeDouble:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # key -> params
    calls: Counter[str] = field(default_factory=Counter)
    down: bool = False  # answer 500 (Stripe's api_error) to everything
    latency: float = 0.0  # seconds each PaymentIntent call takes, as over the internet

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/v1/payment_methods", self._payment_method)
        app.router.add_post("/v1/payment_intents", self._create)
        app.router.add_get("/v1/payment_intents/search", self._search)
        app.router.add_get("/v1/payment_intents/{id}", self._retrieve)
        app.router.add_post("/v1/payment_intents/{id}/capture", self._capture)
        app.router.add_post("/v1/payment_intents/{id}/cancel", self._cancel)
        app.router.add_get("/v3/", self._stripe_js)
        return app

    def in_state(self, status: str) -> list[dict[str, Any]]:
        return [i for i in self.intents.values() if i["status"] == status]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/v3/":
            return await handler(request)
        if request.method == "OPTIONS":  # the browser's preflight for Stripe.js's own calls
            return web.Response(headers=_cors())
        if self.down:
            return _error(500, "api_error", "", "An error occurred with our API.")
        wanted = PUBLISHABLE_KEY if request.path == "/v1/payment_methods" else SECRET_KEY
        if request.headers.get("Authorization") != f"Bearer {wanted}":
            return _error(401, "invalid_request_error", "", "Invalid API Key provided.")
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method != "POST":
            response = await handler(request)
        else:
            params = f"{request.path}?{await request.text()}"
            if key in self.replies:
                first_params, status, text = self.replies[key]
                if first_params != params:
                    return _error(400, "idempotency_error", "",
                                  "Keys for idempotent requests can only be used with the "
                                  "same parameters they were first used with.")
                return web.Response(status=status, text=text, content_type="application/json",
                                    headers={"Idempotent-Replayed": "true"})
            response = await handler(request)
            assert isinstance(response, web.Response) and response.text is not None
            self.replies[key] = (params, response.status, response.text)
        response.headers.update(_cors())
        return response

    async def _payment_method(self, request: web.Request) -> web.Response:
        self.calls["payment_methods.create"] += 1
        form = _form(await request.post())
        card = form.get("card", {})
        number = str(card.get("number", "")).replace(" ", "")
        if not (number.isdigit() and 12 <= len(number) <= 19):
            return _error(402, "card_error", "incorrect_number",
                          "Your card number is incorrect.", "number")
        method = {"id": f"pm_{uuid.uuid4().hex[:24]}", "object": "payment_method",
                  "type": "card", "card": {"brand": "visa", "last4": number[-4:],
                                           "exp_month": int(card.get("exp_month", 0)),
                                           "exp_year": int(card.get("exp_year", 0))},
                  "billing_details": {"name": form.get("billing_details", {}).get("name")},
                  "_number": number}
        self.methods[method["id"]] = method
        return web.json_response({k: v for k, v in method.items() if not k.startswith("_")})

    async def _create(self, request: web.Request) -> web.Response:
        self.calls["payment_intents.create"] += 1
        form = _form(await request.post())
        await asyncio.sleep(self.latency)
        method = self.methods.get(str(form.get("payment_method", "")))
        if method is None:
            return _error(400, "invalid_request_error", "resource_missing",
                          "No such PaymentMethod.", "payment_method")
        intent = {"id": f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent",
                  "amount": int(form["amount"]), "currency": form["currency"],
                  "capture_method": form.get("capture_method", "automatic"),
                  "payment_method": method["id"], "metadata": form.get("metadata", {}),
                  "status": "requires_confirmation"}
        self.intents[intent["id"]] = intent
        if form.get("confirm") == "true":
            if method["_number"] == DECLINED_CARD:
                intent["status"] = "requires_payment_method"
                return _error(402, "card_error", "card_declined", "Your card was declined.")
            intent["status"] = ("requires_capture" if intent["capture_method"] == "manual"
                                else "succeeded")
        return web.json_response(intent)

    async def _retrieve(self, request: web.Request) -> web.Response:
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(404, "invalid_request_error", "resource_missing",
                          "No such payment_intent.", "id")
        return web.json_response(intent)

    async def _capture(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latency)
        return self._move(request, "capture", "succeeded")

    async def _cancel(self, request: web.Request) -> web.Response:
        return self._move(request, "cancel", "canceled")

    def _move(self, request: web.Request, action: str, to: str) -> web.Response:
        self.calls[f"payment_intents.{action}"] += 1
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(404, "invalid_request_error", "resource_missing",
                          "No such payment_intent.", "id")
        if intent["status"] != "requires_capture":
            return _error(400, "invalid_request_error", "payment_intent_unexpected_state",
                          f"This PaymentIntent could not be {action}d because it has a "
                          f"status of {intent['status']}.")
        intent["status"] = to
        return web.json_response(intent)

    async def _search(self, request: web.Request) -> web.Response:
        self.calls["payment_intents.search"] += 1
        query = request.query.get("query", "")
        found = re.fullmatch(r"metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'", query)
        if found is None:
            return _error(400, "invalid_request_error", "parameter_invalid_string",
                          "Invalid search query.", "query")
        name, value = found[1], re.sub(r"\\(.)", r"\1", found[2])
        data = [i for i in self.intents.values() if i["metadata"].get(name) == value]
        return web.json_response({"object": "search_result", "data": data,
                                  "has_more": False, "next_page": None,
                                  "url": "/v1/payment_intents/search"})

    async def _stripe_js(self, request: web.Request) -> web.Response:
        return web.Response(text=STRIPE_JS, content_type="application/javascript")


@contextlib.asynccontextmanager
async def running_double() -> AsyncIterator[tuple[StripeDouble, str]]:
    """The double on a free port: it, and its base address (API and Stripe.js)."""
    fake = StripeDouble()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _cors() -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Allow-Methods": "GET, POST"}


# The few parts of Stripe.js the check-in page uses: Stripe(key), elements().create("card")
# with mount() and on("change"), and createPaymentMethod(), which posts the card straight to
# the processor (never to the hub), as Stripe's element does from its own frame.
STRIPE_JS = """
(function () {
  var api = new URL(document.currentScript.src).origin;
  window.Stripe = function (publishableKey) {
    return {
      elements: function () {
        return {
          create: function (kind) {
            var root = null;
            var handlers = {};
            return {
              mount: function (target) {
                root = typeof target === "string" ? document.querySelector(target) : target;
                root.innerHTML = '<input id="double_card_number" aria-label="Card number" ' +
                  'autocomplete="cc-number"> <input id="double_card_expiry" ' +
                  'aria-label="MM / YY" autocomplete="cc-exp">';
                root.querySelector("input").addEventListener("input", function () {
                  if (handlers.change) handlers.change({ complete: true, error: undefined });
                });
                if (handlers.ready) handlers.ready();
              },
              on: function (name, handler) { handlers[name] = handler; },
              _values: function () {
                var expiry = root.querySelector("#double_card_expiry").value.split("/");
                return { number: root.querySelector("#double_card_number").value,
                         exp_month: (expiry[0] || "").trim(),
                         exp_year: "20" + (expiry[1] || "").trim() };
              },
            };
          },
        };
      },
      createPaymentMethod: function (options) {
        var card = options.card._values();
        var body = new URLSearchParams({ type: "card", "card[number]": card.number,
          "card[exp_month]": card.exp_month, "card[exp_year]": card.exp_year,
          "billing_details[name]": (options.billing_details || {}).name || "" });
        return fetch(api + "/v1/payment_methods", { method: "POST", body: body,
          headers: { Authorization: "Bearer " + publishableKey } })
          .then(function (r) { return r.json(); })
          .then(function (data) {
            return data.error ? { error: data.error } : { paymentMethod: data };
          });
      },
    };
  };
})();
"""


