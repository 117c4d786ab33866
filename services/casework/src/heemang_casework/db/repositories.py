from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db.models import Case, CaseTimelineEntry, FollowUp


async def get_case(session: AsyncSession, case_id: uuid.UUID) -> Case | None:
    return await session.get(Case, case_id)


async def get_case_for_update(session: AsyncSession, case_id: uuid.UUID) -> Case | None:
    """The case, row-locked until the transaction ends, so two concurrent transitions of one
    case run one after the other (the second sees the first's stage). SQLite ignores the
    lock; its BEGIN IMMEDIATE already serialises writers."""
    stmt = select(Case).where(Case.id == case_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def case_for_referral(session: AsyncSession, referral_id: uuid.UUID) -> Case | None:
    stmt = select(Case).where(Case.referral_id == referral_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_cases(
    session: AsyncSession,
    *,
    household_id: uuid.UUID | None,
    referral_id: uuid.UUID | None,
    limit: int,
) -> list[Case]:
    stmt = select(Case).order_by(Case.opened_at, Case.id).limit(limit)
    if household_id is not None:
        stmt = stmt.where(Case.household_id == household_id)
    if referral_id is not None:
        stmt = stmt.where(Case.referral_id == referral_id)
    return list((await session.execute(stmt)).scalars())


async def timeline(session: AsyncSession, case_id: uuid.UUID) -> list[CaseTimelineEntry]:
    stmt = (
        select(CaseTimelineEntry)
        .where(CaseTimelineEntry.case_id == case_id)
        .order_by(CaseTimelineEntry.at, CaseTimelineEntry.id)
    )
    return list((await session.execute(stmt)).scalars())


async def follow_ups(session: AsyncSession, case_id: uuid.UUID) -> list[FollowUp]:
    stmt = select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.due_on)
    return list((await session.execute(stmt)).scalars())
