"""Intake use cases."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import (
    ReferralAccepted,
    ReferralAcceptedData,
    ReferralChannel,
    ReferralReceived,
    ReferralReceivedData,
)
from heemang_intake.api.schemas import ReferralCreate
from heemang_intake.db import repositories
from heemang_intake.db.models import Household, Referral
from heemang_intake.domain import triage
from heemang_intake.events.publish import publish


async def receive_referral(session: AsyncSession, data: ReferralCreate) -> Referral:
    """Record a referral and accept it for case management.

    Walking-skeleton scope: every referral is accepted at once; screening, duplicate
    detection and the per-동 triage queue arrive with the intake issue.
    """
    household = await _household_for(session, data)
    return await record_referral(
        session,
        household,
        channel=data.channel,
        summary=data.summary,
        urgency=data.urgency,
        importance=data.importance,
    )


async def record_referral(
    session: AsyncSession,
    household: Household,
    *,
    channel: ReferralChannel,
    summary: str,
    urgency: triage.Level,
    importance: triage.Level,
    source_ref: str | None = None,
) -> Referral:
    """Store an accepted referral and its `received` and `accepted` events (outbox)."""
    now = utcnow()
    referral = Referral(
        id=uuid.uuid4(),
        household_id=household.id,
        dong=household.dong,
        channel=channel,
        summary=summary,
        urgency=urgency.value,
        importance=importance.value,
        priority=triage.priority(urgency, importance),
        status="accepted",
        received_at=now,
        accepted_at=now,
        source_ref=source_ref,
    )
    session.add(referral)
    await session.flush()
    publish(
        session,
        ReferralReceived.create(
            subject=referral.id,
            data=ReferralReceivedData(
                referral_id=referral.id,
                household_id=household.id,
                dong=referral.dong,
                channel=channel,
                received_at=now,
            ),
        ),
    )
    publish(
        session,
        ReferralAccepted.create(
            subject=referral.id,
            data=ReferralAcceptedData(
                referral_id=referral.id,
                household_id=household.id,
                dong=referral.dong,
                channel=channel,
                priority=referral.priority,
                accepted_at=now,
            ),
        ),
    )
    return referral


async def _household_for(session: AsyncSession, data: ReferralCreate) -> Household:
    if data.household_id is None:
        new = Household(id=uuid.uuid4(), dong=data.dong, created_at=utcnow())
        session.add(new)
        return new
    existing = await repositories.get_household(session, data.household_id)
    if existing is None:
        raise NotFound(f"household {data.household_id} is not registered")
    if existing.dong != data.dong:
        raise Invalid(f"household {existing.id} lives in 동 {existing.dong}, not {data.dong}")
    return existing


async def get_referral(session: AsyncSession, referral_id: uuid.UUID) -> Referral:
    referral = await repositories.get_referral(session, referral_id)
    if referral is None:
        raise NotFound(f"referral {referral_id} not found")
    return referral
