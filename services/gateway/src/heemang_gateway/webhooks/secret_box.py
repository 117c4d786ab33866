"""Webhook signing secrets at rest: AES-256-GCM under the gateway's key, bound to the
endpoint (a sealed secret copied onto another endpoint's row does not open).

HMAC signing needs the secret itself, so it cannot be hashed like a password; a database
dump without the key (GATEWAY_WEBHOOK_SECRET_KEY) does not let anyone forge deliveries.
Without a key (development), secrets are stored as given; rows sealed earlier still need
the key to open.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "aesgcm1:"


class SecretBoxError(RuntimeError):
    """A sealed secret that cannot be opened (no key, wrong key, or tampered)."""


class SecretBox:
    def __init__(self, key_b64: str = "") -> None:
        self._aead: AESGCM | None = None
        if key_b64:
            try:
                key = base64.b64decode(key_b64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the webhook secret key is not base64") from None
            if len(key) != 32:
                raise ValueError("the webhook secret key must be 32 bytes (base64)")
            self._aead = AESGCM(key)

    @property
    def sealing(self) -> bool:
        return self._aead is not None

    def seal(self, secret: str, endpoint_id: uuid.UUID) -> str:
        if self._aead is None:
            return secret
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), endpoint_id.bytes)
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, endpoint_id: uuid.UUID) -> str:
        if not stored.startswith(PREFIX):
            return stored
        if self._aead is None:
            raise SecretBoxError("a sealed webhook secret needs GATEWAY_WEBHOOK_SECRET_KEY")
        try:
            raw = base64.b64decode(stored[len(PREFIX) :], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], endpoint_id.bytes).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise SecretBoxError("the webhook secret does not open with this key") from None


PLAIN = SecretBox()
