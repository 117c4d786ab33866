from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_intake.db.models import Household, HouseholdChange, OpenCase, Person, Referral


async def get_household(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    return await session.get(Household, household_id)


async def get_referral(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    return await session.get(Referral, referral_id)


async def referral_by_source_ref(session: AsyncSession, source_ref: str) -> Referral | None:
    query = select(Referral).where(Referral.source_ref == source_ref)
    return (await session.execute(query)).scalar_one_or_none()


async def household_by_id(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    """Like get_household, but by query: it autoflushes, so it also sees a household added
    earlier in the same (consumer batch) transaction and not flushed yet."""
    query = select(Household).where(Household.id == household_id)
    return (await session.execute(query)).scalar_one_or_none()


async def open_case(session: AsyncSession, case_id: uuid.UUID) -> OpenCase | None:
    return (await session.execute(select(OpenCase).where(OpenCase.case_id == case_id))).scalar_one_or_none()


async def has_open_case(session: AsyncSession, household_id: uuid.UUID) -> bool:
    query = select(OpenCase.case_id).where(OpenCase.household_id == household_id).limit(1)
    return (await session.execute(query)).first() is not None


async def members_of(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Person]:
    query = select(Person).where(Person.household_id == household_id).order_by(Person.position, Person.id)
    return (await session.execute(query)).scalars().all()


async def count_members(session: AsyncSession, household_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Person).where(Person.household_id == household_id)
    return int((await session.execute(query)).scalar_one())


async def person_by_rrn_hash(session: AsyncSession, rrn_hmac: str) -> Person | None:
    query = select(Person).where(Person.rrn_hmac == rrn_hmac)
    return (await session.execute(query)).scalar_one_or_none()


async def persons_by_rrn_hashes(session: AsyncSession, hashes: Sequence[str]) -> Sequence[Person]:
    if not hashes:
        return []
    return (await session.execute(select(Person).where(Person.rrn_hmac.in_(hashes)))).scalars().all()


async def history_of(session: AsyncSession, household_id: uuid.UUID) -> Sequence[HouseholdChange]:
    query = (
        select(HouseholdChange)
        .where(HouseholdChange.household_id == household_id)
        .order_by(HouseholdChange.id)
    )
    return (await session.execute(query)).scalars().all()


async def persons_not_under_key(session: AsyncSession, active_key_id: str, limit: int) -> Sequence[Person]:
    """A batch of persons whose RRN is encrypted under another key than the active one."""
    query = (
        select(Person)
        .where(Person.rrn_ciphertext.is_not(None), Person.rrn_key_id != active_key_id)
        .order_by(Person.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.execute(query)).scalars().all()


async def count_encrypted_rrns(session: AsyncSession) -> dict[str, int]:
    query = (
        select(Person.rrn_key_id, func.count())
        .where(Person.rrn_ciphertext.is_not(None))
        .group_by(Person.rrn_key_id)
    )
    return {str(kid): int(n) for kid, n in (await session.execute(query)).all()}
