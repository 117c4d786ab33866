"""Signing in, sessions and user administration.

Access tokens live minutes; a session (refresh token, stored hashed) lives until it is
revoked, expires, or sits idle longer than ``idle_timeout_s``. The gateway checks the session
on every request it serves, so an idle or revoked session stops working at once there, and
within one access-token lifetime at the services.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Clearance, Principal, Role
from heemang_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from heemang_common.events.envelope import utcnow
from heemang_gateway.auth import totp
from heemang_gateway.auth.keys import SigningKeys
from heemang_gateway.auth.oidc import OidcVerifier
from heemang_gateway.auth.passwords import hash_password, verify_password, weakness
from heemang_gateway.auth.secrets_box import SecretBox
from heemang_gateway.db.models import AuthSession, PermissionChange, User
from heemang_gateway.settings import Settings

#: Roles that administer the district: their remote access needs a second factor too.
ADMIN_ROLES = frozenset({Role.DISTRICT_ADMIN})
SCOPE_FIELDS = ("role", "dongs", "agency_id", "clearances", "disabled")


@dataclass
class AuthContext:
    settings: Settings
    keys: SigningKeys
    box: SecretBox
    oidc: OidcVerifier

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthContext:
        return cls(
            settings,
            SigningKeys.from_settings(settings),
            SecretBox.from_settings(settings),
            OidcVerifier(settings),
        )


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class BadCredentials(Unauthorized):
    problem = "invalid-credentials"
    title = "Sign-in failed"


class SecondFactorRequired(Unauthorized):
    problem = "second-factor-required"
    title = "A second factor is required"


def needs_second_factor(user: User) -> bool:
    """Users who can see whole RRNs or export personal data, and administrators."""
    strong = {Clearance.RRN_REVEAL.value, Clearance.EXPORT.value}
    return bool(strong & set(user.clearances)) or user.role in ADMIN_ROLES


def principal_of(user: User, *, mfa: bool) -> Principal:
    return Principal(
        subject=str(user.id),
        username=user.username,
        role=Role(user.role),
        dongs=frozenset(user.dongs),
        agency_id=user.agency_id,
        clearances=frozenset(Clearance(c) for c in user.clearances),
        mfa=mfa,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _user_by_name(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def sign_in(
    session: AsyncSession, ctx: AuthContext, *, username: str, password: str, otp: str | None, client: str
) -> TokenPair:
    """Check the password (and the second factor where required); lock the account after
    ``max_failed_logins`` consecutive failures. Failures say nothing about which part was
    wrong. The caller commits even when this raises, so failure counts persist."""
    user = await _user_by_name(session, username)
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or user.disabled:
        raise BadCredentials("The username or password is wrong, or the account is locked.")
    if user.locked_at is not None:
        raise BadCredentials("The username or password is wrong, or the account is locked.")
    if not password_ok:
        await _count_failure(session, ctx, user)
        raise BadCredentials("The username or password is wrong, or the account is locked.")
    mfa = False
    if needs_second_factor(user):
        if not (user.totp_confirmed and user.totp_secret_sealed):
            raise SecondFactorRequired(
                "This account must enrol a second factor: an administrator sets it up "
                "(POST /auth/users/{id}/totp) and you confirm it in your authenticator app."
            )
        if not otp:
            raise SecondFactorRequired("Send the 6-digit code from your authenticator app as 'otp'.")
        secret = ctx.box.open(user.totp_secret_sealed, str(user.id))
        step = totp.matching_step(secret, otp, utcnow().timestamp(), after_step=user.totp_last_step)
        if step is None:
            await _count_failure(session, ctx, user)
            raise BadCredentials("The one-time code is wrong or was already used.")
        user.totp_last_step = step
        mfa = True
    user.failed_logins = 0
    return await _open_session(session, ctx, user, mfa=mfa, client=client)


async def sign_in_with_oidc(
    session: AsyncSession, ctx: AuthContext, *, id_token: str, client: str
) -> TokenPair:
    """A session for the gateway user the provider's ID token names."""
    if not ctx.oidc.enabled:
        raise Unauthorized("No external identity provider is configured.")
    username, strong = await ctx.oidc.verify(id_token)
    user = await _user_by_name(session, username)
    if user is None or user.disabled or user.locked_at is not None:
        raise BadCredentials("No active Heemang user for this identity; ask an administrator.")
    if needs_second_factor(user) and not strong:
        raise SecondFactorRequired("This account needs a second factor at the identity provider (amr).")
    return await _open_session(session, ctx, user, mfa=strong, client=client)


async def _count_failure(session: AsyncSession, ctx: AuthContext, user: User) -> None:
    user.failed_logins += 1
    if user.failed_logins >= ctx.settings.max_failed_logins and user.locked_at is None:
        user.locked_at = utcnow()
        session.add(
            PermissionChange(
                user_id=user.id,
                changed_by="system",
                change="locked",
                before={},
                after={"failed_logins": user.failed_logins},
            )
        )


async def _open_session(
    session: AsyncSession, ctx: AuthContext, user: User, *, mfa: bool, client: str
) -> TokenPair:
    now = utcnow()
    refresh_token = secrets.token_urlsafe(32)
    auth_session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        refresh_token_hash=_token_hash(refresh_token),
        mfa=mfa,
        client_address=client[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_s),
    )
    session.add(auth_session)
    return _pair(ctx, user, auth_session, refresh_token)


def _pair(ctx: AuthContext, user: User, auth_session: AuthSession, refresh_token: str) -> TokenPair:
    ttl = ctx.settings.access_token_ttl_s
    access = ctx.keys.issue(
        principal_of(user, mfa=auth_session.mfa), session_id=str(auth_session.id), ttl_s=ttl
    )
    return TokenPair(access_token=access, refresh_token=refresh_token, expires_in=ttl)


def _usable(auth_session: AuthSession, ctx: AuthContext, now: datetime) -> bool:
    idle_limit = auth_session.last_seen_at + timedelta(seconds=ctx.settings.idle_timeout_s)
    return auth_session.revoked_at is None and now < auth_session.expires_at and now < idle_limit


async def refresh(session: AsyncSession, ctx: AuthContext, refresh_token: str) -> TokenPair:
    """A new access token and a rotated refresh token; the old refresh token is spent."""
    auth_session = await session.scalar(
        select(AuthSession).where(AuthSession.refresh_token_hash == _token_hash(refresh_token))
    )
    now = utcnow()
    if auth_session is None or not _usable(auth_session, ctx, now):
        raise Unauthorized("The session has ended (signed out, expired or idle): sign in again.")
    user = await session.get(User, auth_session.user_id)
    if user is None or user.disabled or user.locked_at is not None:
        raise Unauthorized("The account is disabled or locked.")
    new_token = secrets.token_urlsafe(32)
    auth_session.refresh_token_hash = _token_hash(new_token)
    auth_session.last_seen_at = now
    return _pair(ctx, user, auth_session, new_token)


async def touch_session(session: AsyncSession, ctx: AuthContext, session_id: str) -> None:
    """Refuse a token whose session is revoked, expired or idle; else mark it active."""
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        raise Unauthorized("The token names no valid session.") from None
    auth_session = await session.get(AuthSession, sid)
    now = utcnow()
    if auth_session is None or not _usable(auth_session, ctx, now):
        raise Unauthorized("The session has ended (signed out, expired or idle): sign in again.")
    # Write at most once a minute: activity is what matters, not every request.
    if now - auth_session.last_seen_at > timedelta(seconds=60):
        auth_session.last_seen_at = now


async def sign_out(session: AsyncSession, session_id: str) -> None:
    auth_session = await session.get(AuthSession, uuid.UUID(session_id))
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = utcnow()


# ------------------------------------------------------------------------- administration


def _scope_of(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "dongs": sorted(user.dongs),
        "agency_id": user.agency_id,
        "clearances": sorted(user.clearances),
        "disabled": user.disabled,
    }


def _check_scope(role: str, dongs: list[str], agency_id: str | None) -> None:
    if role == Role.PARTNER_AGENCY and not agency_id:
        raise Invalid("A partner-agency user needs an agency_id.")
    if role in (Role.DONG_OFFICER, Role.CASE_MANAGER) and not dongs:
        raise Invalid("A 동 officer or case manager needs at least one 동 in dongs (or '*').")


async def create_user(
    session: AsyncSession,
    *,
    actor: str,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    dongs: list[str] | None = None,
    agency_id: str | None = None,
    clearances: list[str] | None = None,
) -> User:
    if problem := weakness(password):
        raise Invalid(f"The password is too weak: {problem}.")
    _check_scope(role, dongs or [], agency_id)
    if await _user_by_name(session, username) is not None:
        raise Conflict("A user with this username exists.")
    user = User(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        dongs=sorted(set(dongs or [])),
        agency_id=agency_id,
        clearances=sorted(set(clearances or [])),
        failed_logins=0,
        disabled=False,
        totp_confirmed=False,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    session.add(
        PermissionChange(
            user_id=user.id, changed_by=actor, change="created", before={}, after=_scope_of(user)
        )
    )
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def update_user(
    session: AsyncSession, *, actor: Principal, user_id: uuid.UUID, changes: dict[str, Any]
) -> User:
    user = await get_user(session, user_id)
    if str(user.id) == actor.subject and ("role" in changes or "clearances" in changes):
        raise Forbidden("Nobody changes their own role or clearances; ask another administrator.")
    before = _scope_of(user)
    for name, value in changes.items():
        setattr(user, name, sorted(set(value)) if isinstance(value, list) else value)
    _check_scope(user.role, user.dongs, user.agency_id)
    after = _scope_of(user)
    if after != before:
        session.add(
            PermissionChange(
                user_id=user.id, changed_by=actor.subject, change="updated", before=before, after=after
            )
        )
        if after["role"] != before["role"] or after["disabled"]:
            await _revoke_all(session, user.id)  # new rights start with a new sign-in
    return user


async def unlock(session: AsyncSession, *, actor: Principal, user_id: uuid.UUID) -> User:
    user = await get_user(session, user_id)
    if user.locked_at is not None:
        user.locked_at = None
        user.failed_logins = 0
        session.add(
            PermissionChange(
                user_id=user.id, changed_by=actor.subject, change="unlocked", before={}, after={}
            )
        )
    return user


async def _revoke_all(session: AsyncSession, user_id: uuid.UUID) -> None:
    sessions = await session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    )
    now = utcnow()
    for auth_session in sessions:
        auth_session.revoked_at = now


async def enrol_totp(session: AsyncSession, ctx: AuthContext, *, actor: Principal, user_id: uuid.UUID) -> str:
    """A new TOTP secret for the user (replacing any old one), returned once as an
    otpauth:// URI for the authenticator app; stored only encrypted."""
    user = await get_user(session, user_id)
    secret = totp.new_secret()
    user.totp_secret_sealed = ctx.box.seal(secret, str(user.id))
    user.totp_confirmed = True
    user.totp_last_step = None
    session.add(
        PermissionChange(
            user_id=user.id, changed_by=actor.subject, change="totp_enrolled", before={}, after={}
        )
    )
    await _revoke_all(session, user.id)
    return totp.provisioning_uri(secret, user.username, ctx.settings.totp_issuer)
