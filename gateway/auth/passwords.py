"""Passwords: the strength rule, argon2 hashing (bounded in parallel), generated passwords."""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from services.kernel.errors import invalid

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")
# Each argon2 run takes ~64 MiB: a flood of logins must queue, not exhaust memory.
_HASHING = threading.BoundedSemaphore(4)


def hash_password(password: str) -> str:
    if (len(password) < 8 or not any(c.isdigit() for c in password)
            or not any(c.isalpha() for c in password)):
        raise invalid("account.password_weak")
    with _HASHING:
        return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed. Without a hash (no account, a machine account) a
    dummy hash is checked all the same: the answer takes as long either way."""
    try:
        with _HASHING:
            if not password_hash:
                _hasher.verify(_DUMMY_HASH, password + "x")  # same time either way: refuses
                return False
            return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def new_password() -> str:
    """A generated password that always passes the strength rule (letters and digits)."""
    return f"gl{secrets.token_urlsafe(12)}{secrets.randbelow(10)}"
