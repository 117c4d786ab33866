from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_intake.db.models import Household, Referral


async def get_household(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    return await session.get(Household, household_id)


async def get_referral(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    return await session.get(Referral, referral_id)
