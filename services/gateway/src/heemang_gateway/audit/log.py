"""Appending to and reading the access log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events.audit import AccessRecordedData
from heemang_gateway.audit import chain
from heemang_gateway.db.models import AccessLogEntry

#: Advisory lock key: one appender at a time across gateway replicas (PostgreSQL).
_APPEND_LOCK = 0x6865656D616E67  # "heemang"


async def append(session: AsyncSession, records: Sequence[AccessRecordedData]) -> None:
    """Append entries at the end of the chain, in one transaction. Redelivered events are
    filtered out by the consumer's inbox, and ``access_id`` is unique besides."""
    if not records:
        return
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    tail = (
        await session.execute(
            select(AccessLogEntry.seq, AccessLogEntry.hash).order_by(AccessLogEntry.seq.desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (tail.seq, tail.hash) if tail else (0, chain.GENESIS)
    for record in records:
        seq += 1
        fields: dict[str, Any] = {"seq": seq, **record.model_dump(include=set(chain.FIELDS) - {"seq"})}
        entry_hash = chain.entry_hash(fields, prev_hash)
        session.add(AccessLogEntry(**fields, prev_hash=prev_hash, hash=entry_hash))
        prev_hash = entry_hash
    await session.flush()


async def page(
    session: AsyncSession,
    *,
    after_seq: int,
    limit: int,
    actor_id: str | None = None,
    household_id: uuid.UUID | None = None,
    record_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AccessLogEntry]:
    query = select(AccessLogEntry).where(AccessLogEntry.seq > after_seq)
    if actor_id:
        query = query.where(AccessLogEntry.actor_id == actor_id)
    if household_id:
        query = query.where(AccessLogEntry.household_id == household_id)
    if record_id:
        query = query.where(AccessLogEntry.record_id == record_id)
    if since:
        query = query.where(AccessLogEntry.occurred_at >= since)
    if until:
        query = query.where(AccessLogEntry.occurred_at < until)
    return list(await session.scalars(query.order_by(AccessLogEntry.seq).limit(limit)))


def as_fields(entry: AccessLogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in (*chain.FIELDS, "prev_hash", "hash")}


async def verify_all(
    session: AsyncSession, *, checkpoint: tuple[int, str] | None = None, batch: int = 5_000
) -> tuple[int, list[chain.Break], tuple[int, str] | None]:
    """Walk the whole log in seq order: (entries checked, breaks found, head (seq, hash)).
    ``checkpoint`` is a head an auditor recorded earlier; it must still be there."""
    total = int(await session.scalar(select(func.count()).select_from(AccessLogEntry)) or 0)
    breaks: list[chain.Break] = []
    anchor, next_seq, last_seq = chain.GENESIS, 1, 0
    while True:
        rows = list(
            await session.scalars(
                select(AccessLogEntry)
                .where(AccessLogEntry.seq > last_seq)
                .order_by(AccessLogEntry.seq)
                .limit(batch)
            )
        )
        if not rows:
            break
        in_batch = checkpoint if checkpoint and rows[0].seq <= checkpoint[0] <= rows[-1].seq else None
        breaks += chain.verify(
            [as_fields(r) for r in rows], anchor=anchor, first_seq=next_seq, expected_head=in_batch
        )
        anchor, next_seq, last_seq = rows[-1].hash, rows[-1].seq + 1, rows[-1].seq
    if checkpoint and checkpoint[0] > last_seq:
        breaks.append(chain.Break(checkpoint[0], "checkpoint mismatch"))
    return total, breaks, ((last_seq, anchor) if last_seq else None)
