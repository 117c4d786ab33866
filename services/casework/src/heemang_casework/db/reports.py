"""The reports' aggregates in SQL: one grouped query per figure, so a report over hundreds of
thousands of cases and millions of services is computed by the database (see bench/casework.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db.models import Case, Conference, Household, ServiceDelivery


def _active(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Case.opened_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= start))


def _per_household(condition: ColumnElement[bool], *extra: Any) -> Any:
    """Cases matching ``condition``, one row per household (its most recently opened case)."""
    rank = func.row_number().over(
        partition_by=Case.household_id, order_by=(Case.opened_at.desc(), Case.id.desc())
    )
    return (
        select(Case.household_id, Case.dong, Case.selection, Case.members_at_open, *extra, rank.label("rank"))
        .where(condition)
        .subquery()
    )


async def served(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str | None, str | None, int, int]]:
    cases = _per_household(_active(start, end))
    stmt = (
        select(
            cases.c.dong,
            Household.household_type,
            Household.protection_status,
            func.count(),
            func.coalesce(func.sum(Household.member_count), 0),
        )
        .select_from(cases)
        .outerjoin(Household, Household.household_id == cases.c.household_id)
        .where(cases.c.rank == 1)
        .group_by(cases.c.dong, Household.household_type, Household.protection_status)
    )
    return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in (await session.execute(stmt)).all()]


async def count(
    session: AsyncSession, condition: ColumnElement[bool], *, at_open: bool = False
) -> tuple[int, int]:
    """(households, people) of the cases matching ``condition``; people now, or at opening.
    Grouped by household (a hash aggregate, no sort): a household with several matching cases
    counts once (at opening: its largest size among them)."""
    cases = (
        select(Case.household_id, func.max(Case.members_at_open).label("at_open"))
        .where(condition)
        .group_by(Case.household_id)
        .subquery()
    )
    now = func.coalesce(Household.member_count, 0)
    people = func.coalesce(cases.c.at_open, Household.member_count, 0) if at_open else now
    stmt = (
        select(func.count(), func.coalesce(func.sum(people), 0))
        .select_from(cases)
        .outerjoin(Household, Household.household_id == cases.c.household_id)
    )
    row = (await session.execute(stmt)).one()
    return int(row[0]), int(row[1])


async def selection_split(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str | None, int, int]]:
    cases = _per_household(and_(Case.opened_at >= start, Case.opened_at < end))
    stmt = (
        select(cases.c.selection, func.count(), func.coalesce(func.sum(Household.member_count), 0))
        .select_from(cases)
        .outerjoin(Household, Household.household_id == cases.c.household_id)
        .where(cases.c.rank == 1)
        .group_by(cases.c.selection)
    )
    return [(r[0], int(r[1]), int(r[2])) for r in (await session.execute(stmt)).all()]


def new_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Case.opened_at >= start, Case.opened_at < end)


def carried_over(start: datetime) -> ColumnElement[bool]:
    return and_(Case.opened_at < start, or_(Case.closed_at.is_(None), Case.closed_at >= start))


def closed_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Case.closure_reason.is_not(None), Case.closed_at >= start, Case.closed_at < end)


def managed_at(end: datetime) -> ColumnElement[bool]:
    return and_(
        Case.selection == "case_management",
        Case.opened_at < end,
        or_(Case.closed_at.is_(None), Case.closed_at >= end),
    )


def active_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return _active(start, end)


async def conferences(session: AsyncSession, start: date, end: date) -> dict[str, int]:
    stmt = (
        select(Conference.kind, func.count())
        .where(Conference.held_on >= start, Conference.held_on < end)
        .group_by(Conference.kind)
    )
    return {kind: int(n) for kind, n in (await session.execute(stmt)).all()}


def _delivered(start: date, end: date) -> ColumnElement[bool]:
    return and_(ServiceDelivery.delivered_on >= start, ServiceDelivery.delivered_on < end)


async def services_by(session: AsyncSession, start: date, end: date) -> list[tuple[str, str, int, int]]:
    """(kind, domain, items, amount) of the deliveries in the period."""
    stmt = (
        select(
            ServiceDelivery.kind,
            ServiceDelivery.domain,
            func.count(),
            func.coalesce(func.sum(ServiceDelivery.amount), 0),
        )
        .where(_delivered(start, end))
        .group_by(ServiceDelivery.kind, ServiceDelivery.domain)
    )
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in (await session.execute(stmt)).all()]


async def households_by_kind(session: AsyncSession, start: date, end: date) -> dict[str, int]:
    # Two-level GROUP BY rather than count(DISTINCT): PostgreSQL hashes it instead of sorting.
    pairs = (
        select(ServiceDelivery.kind, ServiceDelivery.household_id)
        .where(_delivered(start, end))
        .group_by(ServiceDelivery.kind, ServiceDelivery.household_id)
        .subquery()
    )
    stmt = select(pairs.c.kind, func.count()).group_by(pairs.c.kind)
    return {kind: int(n) for kind, n in (await session.execute(stmt)).all()}


async def services_reach(session: AsyncSession, start: date, end: date) -> tuple[int, int, int]:
    """(households, people, provider agencies) reached by the period's deliveries."""
    reached = (
        select(ServiceDelivery.household_id)
        .where(_delivered(start, end))
        .group_by(ServiceDelivery.household_id)
        .subquery()
    )
    people = (
        select(func.count(), func.coalesce(func.sum(Household.member_count), 0))
        .select_from(reached)
        .outerjoin(Household, Household.household_id == reached.c.household_id)
    )
    households, members = (await session.execute(people)).one()
    providers = (
        select(ServiceDelivery.provider).where(_delivered(start, end)).group_by(ServiceDelivery.provider)
    )
    count = select(func.count()).select_from(providers.subquery())
    return int(households), int(members), int(await session.scalar(count) or 0)


async def analytical(session: AsyncSession) -> None:
    """More sort/hash memory for this transaction's aggregates (PostgreSQL; a no-op elsewhere):
    the default 4 MB spills a half year of a large district's services to disk."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
