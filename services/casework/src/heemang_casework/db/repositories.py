from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db.models import Alert, Case, CaseTimelineEntry, FollowUp
from heemang_casework.domain.alerts import OPEN_STAGES


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


async def open_case_for_household(session: AsyncSession, household_id: uuid.UUID) -> Case | None:
    """The household's most recently opened case that is still open (follow-up included)."""
    stmt = (
        select(Case)
        .where(Case.household_id == household_id, Case.stage.in_([s.value for s in OPEN_STAGES]))
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def alert_for_event(session: AsyncSession, event_id: uuid.UUID) -> Alert | None:
    stmt = select(Alert).where(Alert.source_event_id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_alert_for_update(session: AsyncSession, alert_id: uuid.UUID) -> Alert | None:
    """The alert, row-locked so concurrent acknowledgements apply one after the other."""
    stmt = select(Alert).where(Alert.id == alert_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def case_alerts(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[Alert, str]]:
    """A case's alerts with the case's 동, oldest first."""
    stmt = (
        select(Alert, Case.dong)
        .join(Case, Case.id == Alert.case_id)
        .where(Alert.case_id == case_id)
        .order_by(Alert.raised_at, Alert.id)
    )
    return [(alert, dong) for alert, dong in (await session.execute(stmt)).all()]


async def work_list(
    session: AsyncSession, *, open_only: bool, dong: str | None, limit: int
) -> list[tuple[Alert, str]]:
    """Alerts with their case's 동: urgent first, then oldest first. ``open_only`` keeps the
    unacknowledged ones; otherwise the acknowledged ones."""
    stmt = (
        select(Alert, Case.dong)
        .join(Case, Case.id == Alert.case_id)
        .order_by(Alert.urgent.desc(), Alert.raised_at, Alert.id)
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    else:
        stmt = stmt.where(Alert.acknowledged_at.is_not(None))
    if dong is not None:
        stmt = stmt.where(Case.dong == dong)
    return [(alert, dong_) for alert, dong_ in (await session.execute(stmt)).all()]
