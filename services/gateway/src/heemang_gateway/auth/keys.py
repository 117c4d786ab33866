"""The gateway's token signing keys and the JWKS services verify with."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from heemang_common.auth import AUDIENCE, ISSUER, Principal
from heemang_gateway.settings import Settings


@dataclass
class SigningKeys:
    private_key: Ed25519PrivateKey
    kid: str
    previous: list[dict[str, Any]]  # public JWKs of retired keys

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningKeys:
        pem = settings.signing_key.get_secret_value()
        if pem:
            key = _load_pem(pem.encode())
        elif settings.environment == "test":
            key = Ed25519PrivateKey.generate()  # each test gateway its own key
        else:
            key = _dev_key(Path(settings.signing_key_file))
        previous = json.loads(settings.previous_public_jwks)["keys"] if settings.previous_public_jwks else []
        return cls(key, settings.signing_key_id or _thumbprint(key), previous)

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk(), *self.previous]}

    def issue(self, principal: Principal, *, session_id: str, ttl_s: int) -> str:
        now = int(time.time())
        claims = {
            **principal.claims(),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "sid": session_id,
        }
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})


def _load_pem(pem: bytes) -> Ed25519PrivateKey:
    """PEM, or PEM in base64 (one line, which suits environment variables)."""
    if not pem.lstrip().startswith(b"-----BEGIN"):
        pem = base64.b64decode(pem)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("GATEWAY_SIGNING_KEY must be an Ed25519 private key (PEM)")
    return key


def _dev_key(path: Path) -> Ed25519PrivateKey:
    """Development only: one key per checkout, kept across restarts (sessions survive)."""
    if path.exists():
        return _load_pem(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def _thumbprint(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    import hashlib

    return "ed-" + hashlib.sha256(raw).hexdigest()[:16]
