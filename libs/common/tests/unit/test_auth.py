"""Token verification and the scope questions services ask of a Principal."""

from __future__ import annotations

import time

import jwt
import pytest

from heemang_common.auth import Clearance, Principal, Role, TokenVerifier
from heemang_common.errors import Forbidden, Unauthorized
from heemang_common.testing import TokenMint

MINT = TokenMint("k1")
OTHER = TokenMint("k2")


def verifier() -> TokenVerifier:
    return TokenVerifier(jwks=MINT.jwks_json())


async def test_a_valid_token_gives_its_principal() -> None:
    token = MINT.token("dong_officer", sub="u-7", dongs=["sinsa"], clearances=["restricted"])
    principal = await verifier().verify(token)
    assert principal.subject == "u-7"
    assert principal.role is Role.DONG_OFFICER
    assert principal.dongs == {"sinsa"}
    assert principal.has(Clearance.RESTRICTED)
    assert principal.mfa


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (MINT.token(ttl_s=-60), "expired"),
        (OTHER.token(), "unknown key"),
        (MINT.token(iss="someone-else"), "wrong issuer"),
        (MINT.token(aud="elsewhere"), "wrong audience"),
        (MINT.token(role="pope"), "unknown role"),
        ("not.a.token", "malformed"),
        (jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "secret", algorithm="HS256",
                    headers={"kid": "k1"}), "symmetric algorithm"),
        (jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, None, algorithm="none",
                    headers={"kid": "k1"}), "alg none"),
    ],
    ids=lambda value: value if " " in str(value) or len(str(value)) < 25 else "token",
)
async def test_bad_tokens_are_refused(token: str, why: str) -> None:
    with pytest.raises(Unauthorized):
        await verifier().verify(token)


async def test_a_tampered_token_is_refused() -> None:
    header, _payload, signature = MINT.token("auditor").split(".")
    forged_claims = jwt.utils.base64url_encode(b'{"sub":"x","role":"district_admin"}').decode()
    with pytest.raises(Unauthorized):
        await verifier().verify(f"{header}.{forged_claims}.{signature}")


def test_scope_rules() -> None:
    officer = Principal("u1", "a", Role.DONG_OFFICER, dongs=frozenset({"sinsa"}))
    assert officer.sees_dong("sinsa") and not officer.sees_dong("segok") and not officer.sees_dong(None)
    supervisor = Principal("u2", "b", Role.SUPERVISOR)
    assert supervisor.sees_dong("segok")
    partner = Principal("u3", "c", Role.PARTNER_AGENCY, dongs=frozenset({"*"}), agency_id="ag-1")
    assert not partner.sees_dong("segok")  # partners are scoped by assignment, never by 동
    with pytest.raises(Forbidden):
        officer.require_role(Role.CASE_MANAGER, Role.DISTRICT_ADMIN)
    assert Principal.from_claims({**officer.claims(), "jti": "j"}).dongs == officer.dongs
