"""What marks the demo as the demo, wherever it shows: words, and the demo's own account."""

from __future__ import annotations

BANNER = "DEMO — not for clinical use"
# The demo's provider account. A hub that is not the demo's refuses it (and never creates it),
# so demo credentials shown on a training screen open nothing clinical.
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"


def is_demo_username(username: str) -> bool:
    return username.strip().casefold() == DEMO_USERNAME
