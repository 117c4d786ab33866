"""Who is calling: the gateway's signed token, verified by every service itself.

The gateway authenticates users and issues short-lived JWTs signed with an asymmetric key
(``kid`` in the header). A service never shares a secret with the gateway: it verifies
against the public keys of the gateway's JWKS (fetched from ``AUTH_JWKS_URL``, refetched
when an unknown ``kid`` appears) or of a JWKS given inline (tests, air-gapped deployments).

Scope is enforced by each service (defence in depth): ``Principal`` answers the questions
every service asks — may this caller see this 동, this agency's case, a restricted record?
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from heemang_common.errors import Forbidden, Unauthorized

#: Algorithms the gateway may sign with (asymmetric only: "none" and HMAC are refused).
ALGORITHMS = ["EdDSA", "ES256", "RS256"]
ISSUER = "heemang-gateway"
AUDIENCE = "heemang"


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"
    SUPERVISOR = "supervisor"
    CASE_MANAGER = "case_manager"
    DONG_OFFICER = "dong_officer"
    HOTLINE_COUNSELLOR = "hotline_counsellor"
    RESOURCE_OFFICER = "resource_officer"
    PARTNER_AGENCY = "partner_agency"
    AUDITOR = "auditor"


class Clearance(StrEnum):
    """Rights beyond a role's default, granted per user."""

    RESTRICTED = "restricted"  # domestic-violence and other restricted records
    RRN_REVEAL = "rrn_reveal"  # the whole RRN instead of the masked one
    EXPORT = "export"  # downloads of personal data (a reason is required and logged)


#: Roles whose scope is the whole district whatever 동 list they carry.
DISTRICT_WIDE = frozenset({Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.AUDITOR})
#: Roles that work with personal records of the welfare department (not partners, not auditors).
STAFF = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.SUPERVISOR,
        Role.CASE_MANAGER,
        Role.DONG_OFFICER,
        Role.HOTLINE_COUNSELLOR,
        Role.RESOURCE_OFFICER,
    }
)
ALL_DONGS = "*"


@dataclass(frozen=True)
class Principal:
    subject: str  # the user's id at the gateway
    username: str
    role: Role
    dongs: frozenset[str] = field(default_factory=frozenset)  # {"*"} = the whole district
    agency_id: str | None = None  # partner agency (or member shop) the user acts for
    clearances: frozenset[Clearance] = field(default_factory=frozenset)
    mfa: bool = False  # the session passed a second factor
    token_id: str = ""
    session_id: str = ""  # the gateway session the token belongs to (empty: none)

    @property
    def district_wide(self) -> bool:
        return self.role in DISTRICT_WIDE or ALL_DONGS in self.dongs

    def sees_dong(self, dong: str | None) -> bool:
        """A record of this 동 is within the caller's area (partners are scoped by
        assignment instead, which the owning service checks)."""
        if self.role == Role.PARTNER_AGENCY:
            return False
        return self.district_wide or (dong is not None and dong in self.dongs)

    def has(self, clearance: Clearance) -> bool:
        return clearance in self.clearances

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(sorted(roles))
            raise Forbidden(f"This needs one of the roles: {allowed}.", allowed_roles=sorted(roles))

    def require_dong(self, dong: str | None) -> None:
        if not self.sees_dong(dong):
            raise Forbidden("This record is outside your 동 scope.")

    def claims(self) -> dict[str, Any]:
        """The token claims that carry this principal (issued by the gateway)."""
        return {
            "sub": self.subject,
            "name": self.username,
            "role": str(self.role),
            "dongs": sorted(self.dongs),
            "agency": self.agency_id,
            "clr": sorted(str(c) for c in self.clearances),
            "amr": ["pwd", "otp"] if self.mfa else ["pwd"],
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        try:
            return cls(
                subject=str(claims["sub"]),
                username=str(claims.get("name", "")),
                role=Role(claims["role"]),
                dongs=frozenset(str(d) for d in claims.get("dongs") or ()),
                agency_id=claims.get("agency") or None,
                clearances=frozenset(Clearance(c) for c in claims.get("clr") or ()),
                mfa="otp" in (claims.get("amr") or ()),
                token_id=str(claims.get("jti", "")),
                session_id=str(claims.get("sid") or ""),
            )
        except (KeyError, ValueError, TypeError):
            raise Unauthorized("The token's claims are incomplete or unknown.") from None


class TokenVerifier:
    """Verifies access tokens against static keys and, for unknown ``kid``s, the JWKS URL
    (refetched at most every ``refetch_interval_s`` so bad tokens cannot hammer it)."""

    def __init__(
        self,
        *,
        jwks: str = "",
        jwks_url: str = "",
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        leeway_s: float = 5.0,
        refetch_interval_s: float = 30.0,
    ) -> None:
        self._static = _parse_jwks(jwks) if jwks else {}
        self._fetched: dict[str, Any] = {}
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_s
        self._refetch_interval = refetch_interval_s
        self._last_fetch = -1e9
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is malformed.") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALGORITHMS:
            raise Unauthorized("The token names no known key or an algorithm we do not accept.")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token is not valid.") from None
        return Principal.from_claims(claims)

    async def _key(self, kid: str) -> Any:
        if kid in self._static:
            return self._static[kid]
        if kid not in self._fetched and self._jwks_url:
            async with self._lock:
                if kid not in self._fetched and time.monotonic() - self._last_fetch >= self._refetch_interval:
                    self._last_fetch = time.monotonic()
                    self._fetched = await _fetch_jwks(self._jwks_url) or self._fetched
        if kid not in self._fetched:
            raise Unauthorized("The token was signed with a key we do not know.")
        return self._fetched[kid]


def _parse_jwks(text: str) -> dict[str, Any]:
    document = json.loads(text)
    keys: dict[str, Any] = {}
    for jwk in document.get("keys", []):
        key = jwt.PyJWK(jwk)
        if key.key_id:
            keys[key.key_id] = key.key
    return keys


async def _fetch_jwks(url: str) -> dict[str, Any] | None:
    """The JWKS, or None when the gateway cannot be reached (the old keys stay)."""
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            return _parse_jwks(response.text)
    except (httpx.HTTPError, ValueError, jwt.PyJWTError):
        return None


_bearer = HTTPBearer(auto_error=False, description="Access token issued by the gateway (/auth/token)")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in at the gateway and send its token as 'Authorization: Bearer …'.")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency for routes only some roles may call (function-level authorization)."""

    async def check(principal: PrincipalDep) -> Principal:
        principal.require_role(*roles)
        return principal

    return Depends(check)
