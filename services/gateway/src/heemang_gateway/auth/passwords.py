"""Passwords: argon2id hashes (one-way) and the complexity rule of the safety standard
(개인정보의 안전성 확보조치 기준: 2 character classes and ≥ 10 characters, or 3 and ≥ 8)."""

from __future__ import annotations

import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("heemang-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str) -> str | None:
    """Why the password is too weak, or None."""
    classes = sum(
        any(ch in group for ch in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
    )
    if len(password) > 128:
        return "at most 128 characters"
    if (classes >= 3 and len(password) >= 8) or (classes >= 2 and len(password) >= 10):
        return None
    return "at least 10 characters of 2 kinds (letters, digits, symbols), or 8 of 3 kinds"
