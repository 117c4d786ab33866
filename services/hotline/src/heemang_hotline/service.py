"""Hotline use cases: consultations and their statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.hotline import (
    ConsultationLogged,
    ConsultationLoggedData,
    ReferralRequested,
    ReferralRequestedData,
)
from heemang_hotline.api.schemas import ConsultationCreate
from heemang_hotline.db.models import Consultation
from heemang_hotline.domain import consultations as rules
from heemang_hotline.events.publish import publish

#: The longest range the statistics endpoints answer for in one call.
MAX_STATS_DAYS = 366


async def log_consultation(
    session: AsyncSession, data: ConsultationCreate, categories: list[str], *, counsellor: str
) -> Consultation:
    if data.category not in categories:
        raise Invalid(f"unknown category {data.category!r}", allowed=categories)
    consultation = Consultation(
        id=uuid.uuid4(),
        at=data.at or utcnow(),
        household_id=data.household_id,
        dong=data.dong,
        channel=data.channel,
        category=data.category,
        outcome=data.outcome.value,
        notes=data.notes,
        counsellor=counsellor,
    )
    session.add(consultation)
    await session.flush()
    publish(
        session,
        ConsultationLogged.create(
            subject=consultation.id,
            data=ConsultationLoggedData(
                consultation_id=consultation.id,
                household_id=consultation.household_id,
                category=consultation.category,
                outcome=data.outcome.value,
                at=consultation.at,
            ),
        ),
    )
    if data.outcome == rules.Outcome.referred_to_intake:
        assert data.dong is not None  # the schema requires it for referrals
        publish(
            session,
            ReferralRequested.create(
                subject=consultation.id,
                data=ReferralRequestedData(
                    request_id=consultation.id,
                    household_id=consultation.household_id,
                    dong=data.dong,
                    category=consultation.category,
                    urgent=data.urgent,
                    requested_at=consultation.at,
                ),
            ),
        )
    return consultation


async def list_consultations(
    session: AsyncSession,
    *,
    household_id: uuid.UUID | None,
    category: str | None,
    dongs: frozenset[str] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Consultation]:
    """Newest first; keyset pagination on (at, id) so pages stay stable under inserts."""
    stmt = select(Consultation).order_by(Consultation.at.desc(), Consultation.id.desc()).limit(limit)
    if household_id is not None:
        stmt = stmt.where(Consultation.household_id == household_id)
    if category is not None:
        stmt = stmt.where(Consultation.category == category)
    if dongs is not None:
        stmt = stmt.where(Consultation.dong.in_(sorted(dongs)))
    if after is not None:
        at, last_id = after
        stmt = stmt.where(or_(Consultation.at < at, and_(Consultation.at == at, Consultation.id < last_id)))
    return list((await session.execute(stmt)).scalars())


async def get_consultation(session: AsyncSession, consultation_id: uuid.UUID) -> Consultation:
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(f"consultation {consultation_id} not found")
    return consultation


async def facts_between(session: AsyncSession, start: date, end: date) -> list[rules.Fact]:
    if end < start:
        raise Invalid("`end` is before `start`")
    if (end - start).days >= MAX_STATS_DAYS:
        raise Invalid(f"ask for at most {MAX_STATS_DAYS} days at a time")
    lower = datetime.combine(start, time.min, rules.KST)
    upper = datetime.combine(end + timedelta(days=1), time.min, rules.KST)
    stmt = select(Consultation.at, Consultation.category, Consultation.outcome).where(
        Consultation.at >= lower, Consultation.at < upper
    )
    rows = (await session.execute(stmt)).all()
    return [
        rules.Fact(rules.local_day(at), category, rules.Outcome(outcome)) for at, category, outcome in rows
    ]
