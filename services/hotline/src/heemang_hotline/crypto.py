"""Contact numbers at rest: AES-GCM with rotatable keys, HMAC look-up hashes.

The approach of intake's RRN protection (services/intake/.../crypto.py), copied rather than
imported (services never import each other). Stored form: ``v1:<kid>:<base64(nonce ‖
ciphertext ‖ tag)>``, a random 96-bit nonce per encryption, the key id in clear so every
stored value names the key that opens it. The row's id is associated data, so a ciphertext
copied onto another row does not decrypt. Inbound replies find their sender through
``lookup_hash`` (HMAC-SHA256 of the normalised digits under a separate key), never by
decrypting.

An adapter, not domain: it depends on ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from heemang_hotline.domain.phones import normalise
from heemang_hotline.settings import Settings

VERSION = "v1"
NONCE_BYTES = 12


class ContactDecryptionError(Exception):
    """A stored number could not be opened: unknown key id, malformed, or tampered with."""


class ContactProtector:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str, hmac_key: bytes) -> None:
        if active_key_id not in keys:
            raise ValueError("the active contact key id is not among the keys")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_key_id = active_key_id
        self._hmac_key = hmac_key

    @classmethod
    def from_settings(cls, settings: Settings) -> ContactProtector:
        return cls(
            settings.contact_key_map(), settings.active_contact_key_id(), settings.contact_hmac_key_bytes()
        )

    def __repr__(self) -> str:  # keys stay out of any log or traceback
        return f"ContactProtector(active={self.active_key_id!r}, keys={sorted(self._ciphers)!r})"

    def encrypt(self, phone: str, context: bytes) -> str:
        digits = normalise(phone)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, digits.encode(), self._aad(context))
        return f"{VERSION}:{self.active_key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, context: bytes) -> str:
        kid, blob = self._split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise ContactDecryptionError(f"no key {kid!r} configured (is it still in HOTLINE_CONTACT_KEYS?)")
        try:
            plain = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(context, kid))
        except (InvalidTag, ValueError):
            raise ContactDecryptionError(
                "stored number failed authentication (altered or wrong row)"
            ) from None
        return plain.decode("ascii")

    def lookup_hash(self, phone: str) -> str:
        return hmac.new(self._hmac_key, normalise(phone).encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        version, _, rest = token.partition(":")
        kid, _, body = rest.partition(":")
        if version != VERSION or not kid or not body:
            raise ContactDecryptionError("stored number is not in the v1:<kid>:<data> form")
        try:
            blob = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ContactDecryptionError("stored number is not base64") from None
        if len(blob) < NONCE_BYTES + 16:
            raise ContactDecryptionError("stored number is too short")
        return kid, blob

    def _aad(self, context: bytes, kid: str | None = None) -> bytes:
        return f"heemang.hotline.contact.{VERSION}:{kid or self.active_key_id}:".encode() + context
