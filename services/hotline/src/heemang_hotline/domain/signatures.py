"""Verifying the SMS gateway's callbacks (pure): Standard Webhooks signatures.

``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256>`` of
``<webhook-id>.<webhook-timestamp>.<body>``; the timestamp is whole seconds since the epoch
and must lie within ``TOLERANCE_S`` of now (either way), which bounds replays to that
window; the receiver's dedup table covers the rest. Every failure is the same exception, so
the edge answers 401 and never 500, whatever the header looks like.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


class BadSignature(Exception):
    pass


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(key: bytes, headers: dict[str, str], body: bytes, now: float) -> str:
    """The message id when the signature and timestamp hold; BadSignature otherwise."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or len(msg_id) > 200 or not stamp or not signatures:
        raise BadSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature("webhook-timestamp is not whole seconds")
    timestamp = int(stamp)
    if abs(now - timestamp) > TOLERANCE_S:
        raise BadSignature("webhook-timestamp is outside the tolerance")
    expected = sign(key, msg_id, timestamp, body).split(",", 1)[1].encode()
    for candidate in signatures.split(" "):
        version, sep, value = candidate.partition(",")
        if sep and version == "v1" and hmac.compare_digest(value.encode(), expected):
            return msg_id
    raise BadSignature("no matching v1 signature")
