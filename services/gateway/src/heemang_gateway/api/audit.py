"""The consolidated access log (접속기록), for auditors only. There is no route that
changes or deletes an entry, and the database refuses to."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from heemang_common.auth import Role
from heemang_common.deps import SessionDep
from heemang_gateway.audit import log
from heemang_gateway.deps import role_in

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[role_in(Role.AUDITOR)])


class AccessLogEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    access_id: uuid.UUID
    service: str
    actor_id: str
    actor_name: str
    actor_role: str
    action: str
    record_type: str
    record_id: str
    household_id: uuid.UUID | None
    purpose: str
    reason: str | None
    client_address: str
    occurred_at: datetime
    recorded_at: datetime
    hash: str


class AccessLogPage(BaseModel):
    items: list[AccessLogEntryRead]
    next_cursor: int | None


class ChainBreak(BaseModel):
    seq: int
    problem: str


class Verification(BaseModel):
    entries: int
    intact: bool
    breaks: list[ChainBreak]
    head_seq: int | None = Field(description="Record (head_seq, head_hash) as a checkpoint for later checks")
    head_hash: str | None


@router.get("/access-log", response_model=AccessLogPage, summary="Search the access log (접속기록 조회)")
async def access_log(
    session: SessionDep,
    actor_id: str | None = Query(None, max_length=80),
    household_id: uuid.UUID | None = None,
    record_id: str | None = Query(None, max_length=80),
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int = Query(0, ge=0, description="seq of the last entry of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
) -> AccessLogPage:
    entries = await log.page(
        session,
        after_seq=cursor,
        limit=limit + 1,
        actor_id=actor_id,
        household_id=household_id,
        record_id=record_id,
        since=since,
        until=until,
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AccessLogPage(
        items=[AccessLogEntryRead.model_validate(e) for e in entries],
        next_cursor=entries[-1].seq if more else None,
    )


@router.get("/access-log/verify", response_model=Verification, summary="Check the hash chain (위·변조 점검)")
async def verify(
    session: SessionDep,
    checkpoint_seq: int | None = Query(None, ge=1, description="A head recorded earlier"),
    checkpoint_hash: str | None = Query(None, pattern="^[0-9a-f]{64}$"),
) -> Verification:
    checkpoint = (checkpoint_seq, checkpoint_hash) if checkpoint_seq and checkpoint_hash else None
    total, breaks, head = await log.verify_all(session, checkpoint=checkpoint)
    return Verification(
        entries=total,
        intact=not breaks,
        breaks=[ChainBreak(seq=b.seq, problem=b.problem) for b in breaks[:100]],
        head_seq=head[0] if head else None,
        head_hash=head[1] if head else None,
    )
