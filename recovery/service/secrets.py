"""Secrets: argon2 for people's passwords; SHA-256 for the random tokens the engine issues.

API and session tokens carry 32 random bytes, so a fast unkeyed hash is safe to store
(there is nothing to brute-force) and lets every request be checked in microseconds;
passwords are chosen by people, so they get argon2id, which is slow on purpose.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_TOKEN_PREFIX = "rcv_t_"
SESSION_PREFIX = "rcv_s_"

_hasher = PasswordHasher()
# Verified when the user does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(6)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends the argon2 time, even for no user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
