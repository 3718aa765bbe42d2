"""The second factor at sign-in: time-based one-time codes (RFC 6238, 6 digits, 30 s), as
authenticator apps make them, and the break-glass codes IT issues when an app is lost."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp

BREAK_GLASS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to misread (no O/0, I/1)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app takes (typed, or as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, one step either side of now's (clocks drift);
    None when it is none of them."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_break_glass_code() -> str:
    """E.g. "K7QM-2XPD-W9HN-4RTA": 80 bits, read out over the phone without confusion."""
    letters = [secrets.choice(BREAK_GLASS_ALPHABET) for _ in range(16)]
    return "-".join("".join(letters[i:i + 4]) for i in range(0, 16, 4))
