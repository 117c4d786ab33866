"""Idempotency keys in the database (rules: domain/idempotency.py).

The claim is its own short transaction, committed before the work starts, so a concurrent
duplicate sees it at once and is told 409 instead of running the work a second time. The
completion (state, status, exact response bytes) is written in the work's transaction: the
key is completed if and only if the work committed. A refused request releases its claim.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import IdempotencyKey
from heemang_resources.db.sql import insert_ignore, table_of
from heemang_resources.domain.errors import IdempotencyConflict
from heemang_resources.domain.idempotency import InFlight, KeyState, StoredKey, takeover_allowed


@dataclass(frozen=True)
class Claimed:
    token: uuid.UUID


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    owner: str,
    key: str,
    fingerprint: str,
    lease: timedelta,
) -> Claimed | Replay:
    for _ in range(3):  # the row may be purged between our insert and our read
        token, now = uuid.uuid4(), utcnow()
        async with sessionmaker() as session, session.begin():
            row = {
                "owner": owner,
                "key": key,
                "fingerprint": fingerprint,
                "state": KeyState.in_flight.value,
                "token": token,
                "claimed_at": now,
            }
            if await insert_ignore(session, table_of(IdempotencyKey), row):
                return Claimed(token)
            found = await session.scalar(
                select(IdempotencyKey)
                .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
                .with_for_update()
            )
            if found is None:
                continue
            return await _existing(session, found, fingerprint, token, now, lease)
    raise InFlight("the key is changing hands; retry")


async def _existing(
    session: AsyncSession,
    found: IdempotencyKey,
    fingerprint: str,
    token: uuid.UUID,
    now: datetime,
    lease: timedelta,
) -> Claimed | Replay:
    stored = StoredKey(
        found.fingerprint, KeyState(found.state), found.claimed_at, found.response_status, found.response_body
    )
    if stored.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was used with a different request; use a new key for a new request.",
            idempotency_key=found.key,
        )
    if stored.state is KeyState.completed:
        return Replay(stored.status or 200, (stored.body or "").encode())
    if takeover_allowed(stored, now, lease):
        found.token, found.claimed_at = token, now
        return Claimed(token)
    raise InFlight("A request with this Idempotency-Key is still running; retry shortly.")


async def complete(
    session: AsyncSession, owner: str, key: str, token: uuid.UUID, status: int, body: bytes
) -> None:
    """Record the response in the work's transaction (only if our claim still holds)."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key, IdempotencyKey.token == token)
        .values(
            state=KeyState.completed.value,
            response_status=status,
            response_body=body.decode(),
            completed_at=utcnow(),
        )
    )
    if not getattr(result, "rowcount", 0):
        raise InFlight("This request outlived its Idempotency-Key lease; retry to get the result.")


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], owner: str, key: str, token: uuid.UUID
) -> None:
    """Forget a claim whose work was refused or failed: the key may be retried."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.owner == owner,
                IdempotencyKey.key == key,
                IdempotencyKey.token == token,
                IdempotencyKey.state == KeyState.in_flight.value,
            )
        )


async def purge(session: AsyncSession, retention: timedelta, now: datetime | None = None) -> int:
    """Forget keys older than the retention window; the number forgotten."""
    cutoff = (now or utcnow()) - retention
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.claimed_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
