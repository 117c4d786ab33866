"""Signing in (OAuth2 password flow), sessions, the JWKS, and user administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from heemang_common.access_log import client_address
from heemang_common.auth import Clearance, Role
from heemang_common.deps import RuntimeDep, SessionDep
from heemang_common.errors import DomainError, Invalid
from heemang_gateway.auth import service as auth
from heemang_gateway.db.models import PermissionChange, User
from heemang_gateway.deps import AuthDep, CallerDep, role_in

router = APIRouter(tags=["auth"])
admin = APIRouter(prefix="/auth/users", tags=["users"], dependencies=[role_in(Role.DISTRICT_ADMIN)])

USERNAME = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")
DONG = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^(\*|[0-9A-Za-z_-]+)$")]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(description="Exchange at /auth/refresh; spent on use")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=10, max_length=200)


class Me(BaseModel):
    id: str
    username: str
    role: Role
    dongs: list[str]
    agency_id: str | None
    clearances: list[Clearance]
    mfa: bool


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no mass assignment of lockout or hash fields
    username: str = USERNAME
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field("", max_length=100)
    role: Role
    dongs: list[DONG] = Field(default_factory=list, max_length=40, description="동 codes, or ['*']")
    agency_id: str | None = Field(None, max_length=80, pattern=r"^[0-9A-Za-z_.-]+$")
    clearances: list[Clearance] = Field(default_factory=list)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, max_length=100)
    role: Role | None = None
    dongs: list[DONG] | None = Field(None, max_length=40)
    agency_id: str | None = Field(None, max_length=80, pattern=r"^[0-9A-Za-z_.-]+$")
    clearances: list[Clearance] | None = None
    disabled: bool | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    dongs: list[str]
    agency_id: str | None
    clearances: list[Clearance]
    totp_confirmed: bool
    locked: bool
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls.model_validate(
            {
                **{c: getattr(user, c) for c in cls.model_fields if c != "locked"},
                "locked": user.locked_at is not None,
            }
        )


class UserPage(BaseModel):
    items: list[UserRead]
    next_cursor: str | None


class TotpEnrolment(BaseModel):
    otpauth_uri: str = Field(description="Show once as a QR code; the secret is stored encrypted")


class PermissionChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: uuid.UUID
    changed_by: str
    change: str
    before: dict[str, Any]
    after: dict[str, Any]
    at: datetime


@router.get("/.well-known/jwks.json", summary="Public keys the services verify tokens with", tags=["auth"])
async def jwks(ctx: AuthDep) -> dict[str, Any]:
    return ctx.keys.jwks()


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Sign in (OAuth2 password flow); 'otp' carries the second factor where required",
    responses={401: {"description": "Wrong credentials, locked account, or second factor missing"}},
)
async def token(
    request: Request,
    runtime: RuntimeDep,
    ctx: AuthDep,
    username: Annotated[str, Form(min_length=1, max_length=80)],
    password: Annotated[str, Form(min_length=1, max_length=128)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
    otp: Annotated[str | None, Form(max_length=10)] = None,
) -> TokenResponse:
    # Its own transaction, committed on failure too: failed attempts must count.
    failure: DomainError | None = None
    async with runtime.sessionmaker() as session, session.begin():
        try:
            pair = await auth.sign_in(
                session, ctx, username=username, password=password, otp=otp, client=client_address(request)
            )
        except DomainError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


class OidcSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_token: str = Field(min_length=10, max_length=8000, description="ID token from the district's SSO")


@router.post(
    "/auth/oidc",
    response_model=TokenResponse,
    summary="Sign in with the configured external OpenID Connect provider",
    responses={401: {"description": "Invalid ID token, unknown user, or no provider configured"}},
)
async def oidc_sign_in(
    body: OidcSignIn, request: Request, session: SessionDep, ctx: AuthDep
) -> TokenResponse:
    pair = await auth.sign_in_with_oidc(session, ctx, id_token=body.id_token, client=client_address(request))
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@router.post("/auth/refresh", response_model=TokenResponse, summary="A new access token for a live session")
async def refresh(body: RefreshRequest, session: SessionDep, ctx: AuthDep) -> TokenResponse:
    pair = await auth.refresh(session, ctx, body.refresh_token)
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session (revokes its tokens)"
)
async def logout(caller: CallerDep, session: SessionDep) -> None:
    if caller.session_id:
        await auth.sign_out(session, caller.session_id)


@router.get("/auth/me", response_model=Me, summary="Who the token says I am")
async def me(caller: CallerDep) -> Me:
    return Me(
        id=caller.subject,
        username=caller.username,
        role=caller.role,
        dongs=sorted(caller.dongs),
        agency_id=caller.agency_id,
        clearances=sorted(caller.clearances),
        mfa=caller.mfa,
    )


@admin.post(
    "", status_code=status.HTTP_201_CREATED, response_model=UserRead, summary="Create a user (사용자 등록)"
)
async def create_user(body: UserCreate, caller: CallerDep, session: SessionDep) -> UserRead:
    user = await auth.create_user(
        session,
        actor=caller.subject,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        dongs=list(body.dongs),
        agency_id=body.agency_id,
        clearances=[str(c) for c in body.clearances],
    )
    return UserRead.of(user)


@admin.get("", response_model=UserPage, summary="List users")
async def list_users(
    session: SessionDep,
    role: Role | None = None,
    cursor: str | None = Query(None, max_length=80),
    limit: int = Query(50, ge=1, le=200),
) -> UserPage:
    query = select(User).order_by(User.username).limit(limit + 1)
    if role:
        query = query.where(User.role == role)
    if cursor:
        query = query.where(User.username > cursor)
    users = list(await session.scalars(query))
    more = len(users) > limit
    users = users[:limit]
    return UserPage(items=[UserRead.of(u) for u in users], next_cursor=users[-1].username if more else None)


@admin.get("/{user_id}", response_model=UserRead, summary="Read a user")
async def read_user(user_id: uuid.UUID, session: SessionDep) -> UserRead:
    return UserRead.of(await auth.get_user(session, user_id))


@admin.patch(
    "/{user_id}", response_model=UserRead, summary="Change a user's role, 동 scope, agency or clearances"
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, caller: CallerDep, session: SessionDep
) -> UserRead:
    changes = body.model_dump(exclude_unset=True)
    if any(changes.get(name, 0) is None for name in ("role", "dongs", "clearances", "disabled")):
        raise Invalid("role, dongs, clearances and disabled cannot be null.")
    if "clearances" in changes:
        changes["clearances"] = [str(c) for c in changes["clearances"]]
    return UserRead.of(await auth.update_user(session, actor=caller, user_id=user_id, changes=changes))


@admin.post(
    "/{user_id}/unlock", response_model=UserRead, summary="Unlock an account locked by failed sign-ins"
)
async def unlock_user(user_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> UserRead:
    return UserRead.of(await auth.unlock(session, actor=caller, user_id=user_id))


@admin.post(
    "/{user_id}/totp", response_model=TotpEnrolment, summary="Enrol (or replace) a user's second factor"
)
async def enrol_totp(
    user_id: uuid.UUID, caller: CallerDep, session: SessionDep, ctx: AuthDep
) -> TotpEnrolment:
    return TotpEnrolment(otpauth_uri=await auth.enrol_totp(session, ctx, actor=caller, user_id=user_id))


permission_log = APIRouter(tags=["users"], dependencies=[role_in(Role.DISTRICT_ADMIN, Role.AUDITOR)])


@permission_log.get(
    "/auth/permission-changes",
    response_model=list[PermissionChangeRead],
    summary="Changes of users' roles and scope (권한 변경 기록, kept ≥ 3 years)",
)
async def permission_changes(
    session: SessionDep,
    user_id: uuid.UUID | None = None,
    after_id: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> list[PermissionChangeRead]:
    query = (
        select(PermissionChange)
        .where(PermissionChange.id > after_id)
        .order_by(PermissionChange.id)
        .limit(limit)
    )
    if user_id:
        query = query.where(PermissionChange.user_id == user_id)
    return [PermissionChangeRead.model_validate(c) for c in await session.scalars(query)]
