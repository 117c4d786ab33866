"""Signing in at the gateway (RELIABILITY T15): password flow, lockout, second factor,
idle and revoked sessions, refresh rotation, permission changes kept append-only."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import text, update

from heemang_common.auth import TokenVerifier
from heemang_common.db import transaction
from heemang_common.events.envelope import utcnow
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_gateway.app import create_app
from heemang_gateway.auth import totp
from heemang_gateway.cli import SERVICE_ROOT
from heemang_gateway.db.models import AuthSession
from heemang_gateway.settings import Settings

ADMIN = TEST_MINT.headers("district_admin", sub="test-admin")
PASSWORD = "Correct-horse-9"


@pytest.fixture(scope="module")
async def gateway(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("gateway", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap)
    running = await serve("gateway", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def client(gateway: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        yield http


async def _user(client: httpx.AsyncClient, role: str = "dong_officer", **fields: Any) -> dict[str, Any]:
    body = {
        "username": f"u{uuid.uuid4().hex[:10]}",
        "password": PASSWORD,
        "role": role,
        "dongs": ["sinsa"],
        **fields,
    }
    created = await client.post("/auth/users", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return created.json()


async def _sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, **form: str
) -> httpx.Response:
    return await client.post("/auth/token", data={"username": username, "password": password, **form})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_password_flow_issues_a_token_services_can_verify(client: httpx.AsyncClient) -> None:
    user = await _user(client, dongs=["sinsa", "segok"])
    signed = await _sign_in(client, user["username"])
    assert signed.status_code == 200, signed.text
    tokens = signed.json()
    me = await client.get("/auth/me", headers=_bearer(tokens["access_token"]))
    assert me.json()["role"] == "dong_officer" and me.json()["dongs"] == ["segok", "sinsa"]
    # A service verifies it from the JWKS alone: no shared secret.
    verifier = TokenVerifier(jwks_url=str(client.base_url) + "/.well-known/jwks.json")
    principal = await verifier.verify(tokens["access_token"])
    assert principal.subject == user["id"] and principal.session_id


async def test_five_failures_lock_the_account(client: httpx.AsyncClient) -> None:
    user = await _user(client)
    for _ in range(5):
        failed = await _sign_in(client, user["username"], "Wrong-password-1")
        assert failed.status_code == 401
        assert failed.headers["content-type"].startswith("application/problem+json")
    # Now even the right password is refused, with the same answer as a wrong one.
    locked = await _sign_in(client, user["username"])
    assert locked.status_code == 401
    read = await client.get(f"/auth/users/{user['id']}", headers=ADMIN)
    assert read.json()["locked"] is True
    unlocked = await client.post(f"/auth/users/{user['id']}/unlock", headers=ADMIN)
    assert unlocked.json()["locked"] is False
    assert (await _sign_in(client, user["username"])).status_code == 200


async def test_unknown_users_get_the_same_answer(client: httpx.AsyncClient) -> None:
    unknown = await _sign_in(client, "nobody-at-all")
    assert unknown.status_code == 401 and unknown.json()["type"].endswith("invalid-credentials")


async def test_a_second_factor_is_required_for_rrn_reveal(client: httpx.AsyncClient) -> None:
    user = await _user(client, role="case_manager", clearances=["rrn_reveal"])
    without = await _sign_in(client, user["username"])
    assert without.status_code == 401 and without.json()["type"].endswith("second-factor-required")
    enrolled = await client.post(f"/auth/users/{user['id']}/totp", headers=ADMIN)
    secret = parse_qs(urlparse(enrolled.json()["otpauth_uri"]).query)["secret"][0]
    no_code = await _sign_in(client, user["username"])
    assert no_code.status_code == 401
    code = totp.code_at(secret, int(time.time() // totp.STEP_S))
    signed = await _sign_in(client, user["username"], otp=code)
    assert signed.status_code == 200, signed.text
    me = await client.get("/auth/me", headers=_bearer(signed.json()["access_token"]))
    assert me.json()["mfa"] is True
    replayed = await _sign_in(client, user["username"], otp=code)
    assert replayed.status_code == 401  # one code, one sign-in


async def test_idle_and_revoked_sessions_stop_working(
    client: httpx.AsyncClient, gateway: RunningService
) -> None:
    user = await _user(client)
    tokens = (await _sign_in(client, user["username"])).json()
    headers = _bearer(tokens["access_token"])
    assert (await client.get("/auth/me", headers=headers)).status_code == 200
    # 31 minutes without activity (the default idle timeout is 30).
    async with transaction(gateway.runtime.sessionmaker) as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == uuid.UUID(user["id"]))
            .values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    idle = await client.get("/auth/me", headers=headers)
    assert idle.status_code == 401
    assert (
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401

    fresh = (await _sign_in(client, user["username"])).json()
    rotated = await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert rotated.status_code == 200
    spent = await client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert spent.status_code == 401  # a refresh token works once
    current = _bearer(rotated.json()["access_token"])
    assert (await client.post("/auth/logout", headers=current)).status_code == 204
    assert (await client.get("/auth/me", headers=current)).status_code == 401
    again = await client.post("/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert again.status_code == 401


async def test_tampered_and_foreign_tokens_are_refused(client: httpx.AsyncClient) -> None:
    user = await _user(client)
    token = (await _sign_in(client, user["username"])).json()["access_token"]
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert (await client.get("/auth/me", headers=_bearer(f"{header}.{payload}.{flipped}"))).status_code == 401
    assert (await client.get("/auth/me", headers=_bearer("garbage"))).status_code == 401
    assert (await client.get("/auth/me")).status_code == 401


async def test_role_changes_are_logged_and_the_log_is_append_only(
    client: httpx.AsyncClient, gateway: RunningService
) -> None:
    user = await _user(client)
    changed = await client.patch(f"/auth/users/{user['id']}", json={"dongs": ["segok"]}, headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["dongs"] == ["segok"]
    mass = await client.patch(f"/auth/users/{user['id']}", json={"failed_logins": 0}, headers=ADMIN)
    assert mass.status_code == 422  # no mass assignment
    auditor = TEST_MINT.headers("auditor")
    log = await client.get("/auth/permission-changes", params={"user_id": user["id"]}, headers=auditor)
    changes = [(c["change"], c["after"].get("dongs")) for c in log.json()]
    assert changes == [("created", ["sinsa"]), ("updated", ["segok"])]
    officer = TEST_MINT.headers("dong_officer", dongs=["sinsa"])
    assert (await client.get("/auth/permission-changes", headers=officer)).status_code == 403
    assert (await client.post("/auth/users", json={}, headers=officer)).status_code == 403
    with pytest.raises(Exception, match="append-only"):
        async with transaction(gateway.runtime.sessionmaker) as session:
            await session.execute(text("DELETE FROM permission_changes"))


async def test_sign_in_through_an_external_identity_provider(
    databases: DatabaseFactory, bootstrap: str
) -> None:
    from heemang_common.testing import TokenMint

    provider = TokenMint("sso-key")
    url = await databases.fresh_database("gateway", SERVICE_ROOT)
    settings = fast_settings(
        Settings,
        database_url=url,
        bootstrap=bootstrap,
        oidc_issuer="https://sso.gangnam.example",
        oidc_client_id="heemang",
        oidc_jwks=provider.jwks_json(),
    )
    running = await serve("gateway", create_app(settings), settings.port)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
            user = await _user(client)

            def id_token(username: str, **claims: Any) -> str:
                return provider.token(
                    iss="https://sso.gangnam.example", aud="heemang", preferred_username=username, **claims
                )

            signed = await client.post("/auth/oidc", json={"id_token": id_token(user["username"])})
            assert signed.status_code == 200, signed.text
            me = await client.get("/auth/me", headers=_bearer(signed.json()["access_token"]))
            assert me.json()["role"] == "dong_officer"  # role and scope from the gateway, not the SSO
            stranger = await client.post("/auth/oidc", json={"id_token": id_token("not-a-heemang-user")})
            assert stranger.status_code == 401
            other_app = provider.token(
                iss="https://sso.gangnam.example", aud="another-app", preferred_username="x"
            )
            assert (await client.post("/auth/oidc", json={"id_token": other_app})).status_code == 401
    finally:
        await running.stop()
