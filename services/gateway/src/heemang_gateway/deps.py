"""The gateway's typed dependencies: upstream client, auth context, the signed-in caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from heemang_common.auth import Principal, PrincipalDep, Role
from heemang_common.deps import get_runtime
from heemang_gateway.auth import service as auth
from heemang_gateway.ratelimit import RateLimiter
from heemang_gateway.upstream import Upstreams


def get_upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.runtime.extras["upstreams"]
    return upstreams


def get_auth(request: Request) -> auth.AuthContext:
    ctx: auth.AuthContext = request.app.state.auth
    return ctx


async def signed_in(request: Request, principal: PrincipalDep) -> Principal:
    """The caller, with its gateway session still alive: a revoked, expired or idle session
    is refused here at once (tokens from other trusted issuers carry no session)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.check(principal)
    if principal.session_id:
        ctx = get_auth(request)
        async with get_runtime(request).sessionmaker() as session, session.begin():
            await auth.touch_session(session, ctx, principal.session_id)
    return principal


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]
AuthDep = Annotated[auth.AuthContext, Depends(get_auth)]
CallerDep = Annotated[Principal, Depends(signed_in)]


def role_in(*roles: Role) -> Any:
    """A route dependency: only these roles (function-level authorization)."""

    async def check(caller: CallerDep) -> Principal:
        caller.require_role(*roles)
        return caller

    return Depends(check)
