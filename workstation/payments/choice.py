"""Which payment processor a hub gets, from the site file."""

from __future__ import annotations

import os

from workstation.core.payment import PaymentProcessor, RecordingProcessor
from workstation.core.site import SiteConfig

NO_PROCESSOR = (
    "This clinic hub takes no payments: set payment = \"stripe\" in the site file (with "
    "stripe_publishable_key and the secret key in stripe_secret_key_file or STRIPE_SECRET_KEY),"
    " or payment = \"none\" with payment_note saying how patients pay, or payment = "
    "\"simulated\" for a training hub that charges nothing."
)


def processor_for(config: SiteConfig, *, embedded: bool) -> PaymentProcessor:
    """Stripe when the site says so; the simulated processor when it says so, for "none" (it
    is never called) and on the embedded hub by default. A clinic's hub with no choice made
    is refused (ValueError): it would take any card number and charge nothing."""
    if config.payment == "stripe":
        from workstation.payments.stripe_processor import StripeProcessor, secret_key_from

        return StripeProcessor(
            secret_key_from(config.stripe_secret_key_file, os.environ.get("STRIPE_SECRET_KEY")),
            api_base=config.stripe_api_base)
    if config.payment in ("simulated", "none") or embedded:
        return RecordingProcessor()
    raise ValueError(NO_PROCESSOR)
