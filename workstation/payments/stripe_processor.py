"""The visit fee through Stripe: a PaymentIntent confirmed with manual capture (the hold),
captured once the visit is saved, cancelled when it never was.

The card never reaches the hub: Stripe's own element in the check-in page turns it into a
PaymentMethod, and only its id (and last four digits) is posted. Each call carries Stripe's
``Idempotency-Key`` (the hold's key and step), so a retry is the same call to Stripe; each
PaymentIntent carries the hold's key in its metadata, so a hold whose id was never written down
(the hub stopped in between) is found again with Stripe's search.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import stripe

from workstation.core.payment import (
    PaymentDeclined,
    PaymentMethod,
    PaymentSource,
    PaymentUnavailable,
    ProcessorCard,
)

log = logging.getLogger(__name__)

API_BASE = "https://api.stripe.com"
DECLINED = "The card was declined. Use another card, or ask your bank."


def secret_key_from(path: str, environment: str | None) -> str:
    """The secret key from its file (readable by the hub's account only), else the
    environment; never from the site file or the command line."""
    key = (Path(path).read_text(encoding="utf-8") if path else environment or "").strip()
    if not key.startswith(("sk_", "rk_")):
        raise ValueError("No Stripe secret key: put it in the file named by "
                         "stripe_secret_key_file, or in STRIPE_SECRET_KEY.")
    return key


class StripeProcessor:
    def __init__(self, secret_key: str, *, api_base: str = "", timeout: float = 20.0) -> None:
        # Stripe's library logs each request at INFO: a line per call, to no one's use.
        logging.getLogger("stripe").setLevel(logging.WARNING)
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base or API_BASE}, max_network_retries=2,
            http_client=stripe.new_default_http_client(timeout=timeout))

    def authorize(self, *, amount: Decimal, currency: str, method: PaymentMethod,
                  card: PaymentSource, now: datetime, key: str) -> str:
        if not isinstance(card, ProcessorCard):
            raise PaymentDeclined("Enter the card in the payment box of this page.")
        try:
            intent = self._client.v1.payment_intents.create(params={
                "amount": int((amount * 100).to_integral_value()),
                "currency": currency.lower(),
                "payment_method": card.token,
                "allowed_payment_method_types": ["card"],
                "capture_method": "manual",
                "confirm": True,
                "metadata": {"hold_key": key, "method": method.value},
            }, options={"idempotency_key": key})
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or DECLINED) from None
        except stripe.InvalidRequestError as exc:
            if exc.param == "payment_method":  # not a card Stripe knows (expired element)
                raise PaymentDeclined("The card could not be used. Enter it again.") from None
            log.error("Stripe refused a payment request (%s)", exc.code or "invalid")
            raise PaymentUnavailable(exc.code or "invalid request") from None
        except stripe.StripeError as exc:
            raise PaymentUnavailable(type(exc).__name__) from None
        if intent.status != "requires_capture":
            # 3-D Secure or anything else needing the patient: not a hold we can keep.
            self.void(intent.id, key=f"{key}:not-held")
            raise PaymentDeclined("Your bank asks to confirm this payment, which this page "
                                  "cannot do. Use another card.")
        return str(intent.id)

    def capture(self, reference: str, *, key: str) -> None:
        try:
            self._client.v1.payment_intents.capture(reference, options={"idempotency_key": key})
        except stripe.InvalidRequestError as exc:
            if self._status(reference) == "succeeded":
                return  # captured before (a retry whose answer was lost)
            raise PaymentUnavailable(exc.code or "invalid request") from None
        except stripe.StripeError as exc:
            raise PaymentUnavailable(type(exc).__name__) from None

    def void(self, reference: str, *, key: str) -> None:
        try:
            self._client.v1.payment_intents.cancel(reference, options={"idempotency_key": key})
        except stripe.InvalidRequestError as exc:
            if self._status(reference) in ("canceled", "succeeded"):
                return  # released before, or taken: nothing left to release
            raise PaymentUnavailable(exc.code or "invalid request") from None
        except stripe.StripeError as exc:
            raise PaymentUnavailable(type(exc).__name__) from None

    def hold_for(self, key: str) -> str | None:
        quoted = key.replace("\\", "\\\\").replace("'", "\\'")
        try:
            found = self._client.v1.payment_intents.search(
                params={"query": f"metadata['hold_key']:'{quoted}'", "limit": 1})
        except stripe.StripeError as exc:
            raise PaymentUnavailable(type(exc).__name__) from None
        return str(found.data[0].id) if found.data else None

    def _status(self, reference: str) -> str:
        try:
            return str(self._client.v1.payment_intents.retrieve(reference).status)
        except stripe.StripeError as exc:
            raise PaymentUnavailable(type(exc).__name__) from None

