"""TOTP secrets at rest: AES-GCM with a key from settings (the secret is a credential)."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from heemang_gateway.settings import Settings

_DEV_SEED = b"heemang development placeholder - never use in production totp"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        raw = settings.totp_encryption_key.get_secret_value()
        key = base64.b64decode(raw) if raw else hashlib.sha256(_DEV_SEED).digest()
        if len(key) != 32:
            raise ValueError("GATEWAY_TOTP_ENCRYPTION_KEY must be 32 bytes (base64)")
        return cls(key)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, context: str) -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
