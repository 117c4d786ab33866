"""RRN protection at rest: AES-GCM encryption with rotatable keys, HMAC lookup hashes.

Stored form: ``v1:<kid>:<base64(nonce ‖ ciphertext ‖ tag)>`` — a 96-bit random nonce per
encryption, the key id in clear so any stored value names the key that opens it. The
person's id is the associated data, so a ciphertext copied onto another person's row does
not decrypt. Lookups never decrypt: ``lookup_hash`` is HMAC-SHA256 of the normalised 13
digits under a separate key, stored in an indexed column.

An adapter, not domain: it depends on ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from heemang_intake.domain import rrn as rrn_rules
from heemang_intake.settings import Settings

VERSION = "v1"
NONCE_BYTES = 12  # 96 bits, the size GCM is specified for


class RrnDecryptionError(Exception):
    """A stored RRN could not be opened: unknown key id, malformed, or tampered with."""


@dataclass(frozen=True)
class Sealed:
    token: str
    key_id: str


class RrnProtector:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str, hmac_key: bytes) -> None:
        if active_key_id not in keys:
            raise ValueError("the active RRN key id is not among the keys")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_key_id = active_key_id
        self._hmac_key = hmac_key

    @classmethod
    def from_settings(cls, settings: Settings) -> RrnProtector:
        return cls(settings.rrn_key_map(), settings.active_rrn_key_id(), settings.rrn_hmac_key_bytes())

    def __repr__(self) -> str:  # keys stay out of any log or traceback
        return f"RrnProtector(active={self.active_key_id!r}, keys={sorted(self._ciphers)!r})"

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    def encrypt(self, rrn: str, context: bytes = b"") -> Sealed:
        """Seal the normalised RRN with the active key; ``context`` is bound as AAD."""
        digits = rrn_rules.normalise(rrn)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, digits.encode(), self._aad(context))
        body = base64.b64encode(nonce + sealed).decode("ascii")
        return Sealed(f"{VERSION}:{self.active_key_id}:{body}", self.active_key_id)

    def decrypt(self, token: str, context: bytes = b"") -> str:
        """The 13 digits; RrnDecryptionError if the key is unknown or the value was altered."""
        kid, blob = self._split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise RrnDecryptionError(f"no key {kid!r} configured (is it still in INTAKE_RRN_KEYS?)")
        if len(blob) < NONCE_BYTES + 16:
            raise RrnDecryptionError("stored RRN is too short")
        try:
            plain = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(context, kid))
        except InvalidTag:
            raise RrnDecryptionError("stored RRN failed authentication (altered or wrong row)") from None
        return plain.decode("ascii")

    def reencrypt(self, token: str, context: bytes = b"") -> Sealed:
        """The same RRN under the active key (a fresh nonce even if the key is the same)."""
        return self.encrypt(self.decrypt(token, context), context)

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.active_key_id

    def lookup_hash(self, rrn: str) -> str:
        """HMAC-SHA256 (hex) of the normalised 13 digits: equal RRNs, equal hashes."""
        digits = rrn_rules.normalise(rrn)
        return hmac.new(self._hmac_key, digits.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def key_id_of(token: str) -> str:
        return RrnProtector._split(token)[0]

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        version, _, rest = token.partition(":")
        kid, _, body = rest.partition(":")
        if version != VERSION or not kid or not body:
            raise RrnDecryptionError("stored RRN is not in the v1:<kid>:<data> form")
        try:
            return kid, base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RrnDecryptionError("stored RRN data is not base64") from None

    def _aad(self, context: bytes, kid: str | None = None) -> bytes:
        # The version and key id are authenticated too: relabelling a ciphertext fails.
        return f"heemang.intake.rrn.{VERSION}:{kid or self.active_key_id}:".encode() + context
