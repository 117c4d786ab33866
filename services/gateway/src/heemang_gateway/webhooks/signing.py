"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">``.

Secrets are ``whsec_`` + base64 of 32 random bytes. During a rotation's overlap the sender
signs with both secrets (space-separated signatures), so a receiver holding either verifies.
Pure functions: no I/O, no clock (the caller passes the timestamp).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
SECRET_BYTES = 32


class InvalidSecret(ValueError):
    """Not a ``whsec_<base64>`` secret of 24 to 64 bytes."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a webhook secret is base64 after 'whsec_'") from None
    if not 24 <= len(key) <= 64:
        raise InvalidSecret("a webhook secret holds 24 to 64 bytes")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature over ``id.timestamp.body`` (the body's exact bytes)."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, to_sign, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def sign_headers(msg_id: str, timestamp: int, body: bytes, secrets_: Iterable[str]) -> dict[str, str]:
    """The three headers of one delivery attempt, signed with every given secret."""
    signatures = [signature(secret_key(s), msg_id, timestamp, body) for s in secrets_]
    if not signatures:
        raise InvalidSecret("at least one secret is needed to sign")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
