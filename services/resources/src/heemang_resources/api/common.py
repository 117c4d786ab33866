"""What every router of the service shares: roles, the Idempotency-Key protocol, cursors."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Principal, Role
from heemang_common.deps import get_runtime
from heemang_common.errors import Invalid
from heemang_common.problems import problem_response
from heemang_resources.domain.idempotency import KEY_PATTERN, InFlight, fingerprint
from heemang_resources.service import idempotency
from heemang_resources.settings import Settings

#: Manage the books (donations, campaigns, ledger, vouchers, budgets, allowances).
MANAGERS = (Role.RESOURCE_OFFICER, Role.DISTRICT_ADMIN)
#: Read reports and the books.
READERS = (*MANAGERS, Role.SUPERVISOR, Role.AUDITOR)

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN.pattern,
        description="A unique key per money-moving request (a UUID). The same key with the same "
        "body returns the first response byte for byte; with another body 422; while the first "
        "is still running 409 (retry). Remembered for at least 24 hours.",
        examples=["3f0c9a5e-8d1b-4c7a-9e2f-6b5d4c3a2b1c"],
    ),
]

Work = Callable[[uuid.UUID], Awaitable[BaseModel]]


def settings_of(request: Request) -> Settings:
    settings = get_runtime(request).settings
    assert isinstance(settings, Settings)
    return settings


async def idempotent(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    key: str,
    body: Any,
    work: Work,
    *,
    status: int = 201,
) -> Response:
    """Run `work` at most once per (caller, key). `work` gets the claim token (unique per
    execution) to derive the ledger's own idempotency keys from."""
    runtime = get_runtime(request)
    settings = settings_of(request)
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    try:
        claimed = await idempotency.claim(
            runtime.sessionmaker,
            principal.subject,
            key,
            fingerprint(request.method, request.url.path, payload),
            timedelta(seconds=settings.idempotency_lease_s),
        )
    except InFlight as busy:
        response = problem_response(
            busy.status, busy.problem, busy.title, busy.detail, request, retryable=True
        )
        response.headers["Retry-After"] = "1"
        return response
    if isinstance(claimed, idempotency.Replay):
        return Response(
            claimed.body,
            claimed.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        result = await work(claimed.token)
        content = result.model_dump_json().encode()
        await idempotency.complete(session, principal.subject, key, claimed.token, status, content)
        await session.flush()
    except BaseException:
        # Free the row locks first (SQLite would otherwise block the release behind them).
        await asyncio.shield(session.rollback())
        await asyncio.shield(idempotency.release(runtime.sessionmaker, principal.subject, key, claimed.token))
        raise
    return Response(content, status, media_type="application/json")


class BadCursor(Invalid):
    problem = "bad-cursor"
    title = "Unreadable cursor"


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this API issued") from None
    if len(parts) != size:
        raise BadCursor("the cursor is not one this API issued")
    return parts
