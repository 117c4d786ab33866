"""RFC 6238 time-based one-time passwords (SHA-1, 30 s steps, 6 digits), as authenticator
apps implement them. Pure functions: the caller keeps the last accepted step so a code is
never accepted twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """A 160-bit secret, base32 as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def code_at(secret: str, step: int) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**DIGITS
    return str(value).zfill(DIGITS)


def matching_step(
    secret: str, code: str, now: float, *, after_step: int | None, window: int = 1
) -> int | None:
    """The step ``code`` belongs to (±window steps for clock drift), if later than the last
    accepted one; else None."""
    if not (code.isdigit() and len(code) == DIGITS):
        return None
    current = int(now // STEP_S)
    for step in range(current - window, current + window + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    label = quote(f"{issuer}:{username}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP_S}"
