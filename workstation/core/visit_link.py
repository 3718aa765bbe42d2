"""Visit links: one unguessable token per visit. Only a digest of it is stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits of randomness; the issue asks at least 128.


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any lookup (URL-safe base64, the length we issue)."""
    return 40 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
