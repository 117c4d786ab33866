from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db.models import Case


async def get_case(session: AsyncSession, case_id: uuid.UUID) -> Case | None:
    return await session.get(Case, case_id)


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
