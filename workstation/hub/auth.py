"""Provider passwords (argon2) and bearer-token sessions."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Each hash takes 64 MiB and a core for ~0.1 s: a flood of sign-ins waits its turn here (in
# the pool's queue, not in threads the rest of the hub needs) instead of taking the memory and
# every core.
HASHES_AT_ONCE = max(1, min(4, (os.cpu_count() or 2) // 2))
_hashing = ThreadPoolExecutor(max_workers=HASHES_AT_ONCE, thread_name_prefix="password-hash")

T = TypeVar("T")


async def hashing(fn: Callable[..., T], *args: object) -> T:
    """Run ``hash_password`` or ``verify_password`` in the bounded pool of hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, fn, *args)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username does not exist, so timing does not reveal which is
    wrong. Made on first use: hashing costs ~0.1 s, which start-up should not pay."""
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
