"""Use cases driven by other services' events: referrals from the hotline and from missed
check-ins, and the projection of casework's open cases. They run inside the consumer's
transaction (the inbox row is written in it), flush as needed and never commit."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events.envelope import utcnow
from heemang_intake import service
from heemang_intake.db import repositories
from heemang_intake.db.models import Household, OpenCase, Referral
from heemang_intake.domain import event_referrals as rules

log = logging.getLogger("heemang.intake.inbound")


async def household_for_event(session: AsyncSession, household_id: uuid.UUID | None, dong: str) -> Household:
    """The registered household, else a minimal one (dong only) as POST /referrals makes.

    An id intake does not know is kept for the new household rather than replaced: the
    sender (hotline) and casework then keep talking about the same household, and its next
    missed check-in finds the case opened for this referral.
    """
    if household_id is not None:
        existing = await repositories.household_by_id(session, household_id)
        if existing is not None:
            return existing
        log.warning("household %s is not in the register: registering it with 동 %s only", household_id, dong)
    household = Household(id=household_id or uuid.uuid4(), dong=dong, created_at=utcnow())
    session.add(household)
    return household


async def refer_from_hotline(
    session: AsyncSession,
    *,
    request_id: uuid.UUID,
    household_id: uuid.UUID | None,
    dong: str,
    category: str,
    urgent: bool,
) -> Referral | None:
    """A counsellor's transfer → a `hotline` referral, once per request (None: already made);
    linked to the household's open case if it has one, else accepted."""
    source_ref = str(request_id)
    if await repositories.referral_by_source_ref(session, source_ref) is not None:
        return None
    household = await household_for_event(session, household_id, dong)
    triage = rules.hotline_triage(urgent)
    # Duplicate detection: a household casework already follows joins its open case.
    link = await service.open_case_link(session, household.id) if household_id is not None else None
    return await service.record_referral(
        session,
        household,
        channel="hotline",
        summary=rules.hotline_summary(category),
        urgency=triage.urgency,
        importance=triage.importance,
        source_ref=source_ref,
        link=link,
    )


async def refer_missed_checkin(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    household_id: uuid.UUID,
    dong: str,
    programme: str,
    reason: str,
    consecutive_misses: int,
    urgent: bool,
) -> Referral | None:
    """An escalated check-in → a `checkin_missed` referral if no case is open for the
    household (one per escalation event); None when a case is open (casework raises the
    alert to its caseworker) or the event was already turned into a referral."""
    if await repositories.has_open_case(session, household_id):
        log.info("missed check-in for household %s: a case is open, casework follows it", household_id)
        return None
    source_ref = str(event_id)
    if await repositories.referral_by_source_ref(session, source_ref) is not None:
        return None
    household = await household_for_event(session, household_id, dong)
    triage = rules.checkin_triage(urgent)
    return await service.record_referral(
        session,
        household,
        channel="checkin_missed",
        summary=rules.checkin_summary(programme, reason, consecutive_misses),
        urgency=triage.urgency,
        importance=triage.importance,
        source_ref=source_ref,
    )


async def case_opened(
    session: AsyncSession, *, case_id: uuid.UUID, household_id: uuid.UUID, stage: str, at: datetime
) -> None:
    await case_stage_changed(session, case_id=case_id, household_id=household_id, to_stage=stage, at=at)


async def case_closed(session: AsyncSession, *, case_id: uuid.UUID) -> None:
    row = await repositories.open_case(session, case_id)
    if row is not None:
        await session.delete(row)


async def case_stage_changed(
    session: AsyncSession, *, case_id: uuid.UUID, household_id: uuid.UUID, to_stage: str, at: datetime
) -> None:
    """Keep the projection at the case's stage: out at ⑦ closed, in at any other stage
    (back in at ⑧ follow-up)."""
    if not rules.is_open_stage(to_stage):
        await case_closed(session, case_id=case_id)
        return
    row = await repositories.open_case(session, case_id)
    if row is None:
        session.add(OpenCase(case_id=case_id, household_id=household_id, stage=to_stage, since=at))
    else:
        row.stage = to_stage
