"""Signing in with an external OpenID Connect provider (the district's SSO), by
configuration. The provider proves who the person is; the gateway's own user table still
decides role and scope, so an SSO account without a Heemang user gets nothing."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx
import jwt

from heemang_common.errors import Unauthorized
from heemang_gateway.settings import Settings

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


class OidcVerifier:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_client_id
        self.username_claim = settings.oidc_username_claim
        self.jwks_url = settings.oidc_jwks_url
        self._keys: dict[str, Any] = _keys(settings.oidc_jwks) if settings.oidc_jwks else {}
        self._fetched_at = -1e9

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.audience and (self.jwks_url or self._keys))

    async def verify(self, id_token: str) -> tuple[str, bool]:
        """(username, second factor used) from a valid ID token of the provider."""
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
        except jwt.PyJWTError:
            raise Unauthorized("The ID token is malformed.") from None
        if kid not in self._keys and self.jwks_url and time.monotonic() - self._fetched_at > 30:
            self._fetched_at = time.monotonic()
            async with httpx.AsyncClient(timeout=3.0) as client:
                with contextlib.suppress(httpx.HTTPError, ValueError, jwt.PyJWTError):
                    self._keys = _keys((await client.get(self.jwks_url)).text)
        if kid not in self._keys:
            raise Unauthorized("The ID token is signed with a key the provider does not publish.")
        try:
            claims = jwt.decode(
                id_token,
                key=self._keys[kid],
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("The ID token is not valid for this gateway.") from None
        username = claims.get(self.username_claim)
        if not isinstance(username, str) or not username:
            raise Unauthorized(f"The ID token has no '{self.username_claim}' claim.")
        amr = claims.get("amr") or []
        return username, any(method in ("mfa", "otp", "hwk", "swk") for method in amr)


def _keys(document: str) -> dict[str, Any]:
    keys = {}
    for jwk in json.loads(document).get("keys", []):
        key = jwt.PyJWK(jwk)
        if key.key_id:
            keys[key.key_id] = key.key
    return keys
