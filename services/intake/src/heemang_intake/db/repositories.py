from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, tuple_
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


# ----------------------------------------------------------------- referrals and scope

OPEN_REFERRAL = "received"


async def open_referral_of(
    session: AsyncSession, household_id: uuid.UUID, exclude: uuid.UUID | None = None
) -> Referral | None:
    """The household's oldest referral still in triage (not yet decided)."""
    query = (
        select(Referral)
        .where(Referral.household_id == household_id, Referral.status == OPEN_REFERRAL)
        .order_by(Referral.received_at, Referral.id)
        .limit(1)
    )
    if exclude is not None:
        query = query.where(Referral.id != exclude)
    return (await session.execute(query)).scalar_one_or_none()


async def open_case_of(session: AsyncSession, household_id: uuid.UUID) -> OpenCase | None:
    query = select(OpenCase).where(OpenCase.household_id == household_id).order_by(OpenCase.since).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def persons_named(
    session: AsyncSession, name: str, birth_date: date
) -> Sequence[tuple[Person, Household]]:
    """Candidates for a name + birth date match, with their households (for the address)."""
    query = (
        select(Person, Household)
        .join(Household, Household.id == Person.household_id)
        .where(Person.name == name, Person.birth_date == birth_date)
        .limit(50)
    )
    return [(p, h) for p, h in (await session.execute(query)).all()]


async def head_names(session: AsyncSession, household_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The name of each household's head (or first member), to show masked in lists."""
    if not household_ids:
        return {}
    query = (
        select(Person.household_id, Person.name)
        .where(Person.household_id.in_(household_ids))
        .order_by(Person.household_id, Person.is_head.desc(), Person.position)
    )
    names: dict[uuid.UUID, str] = {}
    for household_id, name in (await session.execute(query)).all():
        names.setdefault(household_id, name)
    return names


@dataclass(frozen=True)
class ReferralFilter:
    dongs: frozenset[str] | None  # None = every 동
    restricted: bool  # include restricted referrals
    agency_id: str | None = None
    status: str | None = None
    channel: str | None = None
    assigned_to: str | None = None
    household_id: uuid.UUID | None = None


async def referral_queue(
    session: AsyncSession, flt: ReferralFilter, after: tuple[int, datetime, uuid.UUID] | None, limit: int
) -> Sequence[Referral]:
    """Referrals sorted as the triage queue is worked: priority, then age (oldest first)."""
    query = select(Referral)
    if flt.dongs is not None:
        query = query.where(Referral.dong.in_(sorted(flt.dongs)))
    if not flt.restricted:
        query = query.where(Referral.restricted.is_(False))
    if flt.agency_id is not None:
        query = query.where(Referral.submitted_by_agency == flt.agency_id)
    if flt.status:
        query = query.where(Referral.status == flt.status)
    if flt.channel:
        query = query.where(Referral.channel == flt.channel)
    if flt.assigned_to:
        query = query.where(Referral.assigned_to == flt.assigned_to)
    if flt.household_id:
        query = query.where(Referral.household_id == flt.household_id)
    if after is not None:
        priority, received_at, last_id = after
        query = query.where(
            tuple_(Referral.priority, Referral.received_at, Referral.id)
            > tuple_(priority, received_at, last_id)
        )
    query = query.order_by(Referral.priority, Referral.received_at, Referral.id).limit(limit)
    return (await session.execute(query)).scalars().all()


async def household_page(
    session: AsyncSession,
    dongs: frozenset[str] | None,
    restricted: bool,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Household]:
    query = select(Household)
    if dongs is not None:
        query = query.where(Household.dong.in_(sorted(dongs)))
    if not restricted:
        query = query.where(Household.restricted.is_(False))
    if after is not None:
        query = query.where(tuple_(Household.created_at, Household.id) > tuple_(*after))
    query = query.order_by(Household.created_at, Household.id).limit(limit)
    return (await session.execute(query)).scalars().all()


async def members_of_many(
    session: AsyncSession, household_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Person]]:
    result: dict[uuid.UUID, list[Person]] = {h: [] for h in household_ids}
    if not household_ids:
        return result
    query = (
        select(Person)
        .where(Person.household_id.in_(household_ids))
        .order_by(Person.household_id, Person.position, Person.id)
    )
    for person in (await session.execute(query)).scalars():
        result[person.household_id].append(person)
    return result


async def get_person(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    return await session.get(Person, person_id)


# ----------------------------------------------------------------- import batches


async def batch_counts(session: AsyncSession, batch_id: uuid.UUID, today: date) -> dict[str, dict[str, int]]:
    """Per 동: rows by outcome (pending for rows not yet decided) and overdue rows."""
    counts: dict[str, dict[str, int]] = {}
    query = (
        select(Referral.dong, Referral.outcome, func.count())
        .where(Referral.batch_id == batch_id)
        .group_by(Referral.dong, Referral.outcome)
    )
    for dong, outcome, n in (await session.execute(query)).all():
        counts.setdefault(dong, {})[outcome or "pending"] = int(n)
    overdue = (
        select(Referral.dong, func.count())
        .where(Referral.batch_id == batch_id, Referral.status == OPEN_REFERRAL, Referral.due_on < today)
        .group_by(Referral.dong)
    )
    for dong, n in (await session.execute(overdue)).all():
        counts.setdefault(dong, {})["overdue"] = int(n)
    return counts


async def overdue_rows(
    session: AsyncSession,
    batch_id: uuid.UUID,
    dongs: frozenset[str] | None,
    restricted: bool,
    today: date,
    after: tuple[int, uuid.UUID] | None,
    limit: int,
) -> Sequence[Referral]:
    query = select(Referral).where(
        Referral.batch_id == batch_id, Referral.status == OPEN_REFERRAL, Referral.due_on < today
    )
    if dongs is not None:
        query = query.where(Referral.dong.in_(sorted(dongs)))
    if not restricted:
        query = query.where(Referral.restricted.is_(False))
    if after is not None:
        query = query.where(tuple_(Referral.batch_row, Referral.id) > tuple_(*after))
    query = query.order_by(Referral.batch_row, Referral.id).limit(limit)
    return (await session.execute(query)).scalars().all()
