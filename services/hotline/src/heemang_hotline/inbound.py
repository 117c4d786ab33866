"""What hotline does with other services' events: the household-type projection and
automatic enrolment of elderly people living alone whose case closed.

Topics are not ordered against each other, so the closure and the household's type may
arrive either way round: both are kept, and whichever arrives second enrols. Closures for
death or a move out of the district never enrol; a household that becomes elderly_alone
long after its case closed (beyond ``auto_enrol_lookback_days``) is not enrolled by this
rule (a counsellor can enrol by hand).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_hotline import checkins
from heemang_hotline.db.models import CaseClosure, HouseholdFact
from heemang_hotline.settings import Settings

ELDERLY_ALONE = "elderly_alone"
#: Closure reasons after which there is nobody to check on in the district.
NO_ENROLMENT_REASONS = frozenset({"death", "moved_out"})


async def household_seen(
    session: AsyncSession,
    *,
    household_id: uuid.UUID,
    dong: str,
    household_type: str | None,
    at: datetime,
    settings: Settings,
) -> None:
    fact = await session.get(HouseholdFact, household_id)
    if fact is None:
        fact = HouseholdFact(
            household_id=household_id, dong=dong, household_type=household_type, updated_at=at
        )
        session.add(fact)
    elif fact.updated_at > at:
        return  # an older event arriving late does not overwrite a newer fact
    else:
        fact.dong, fact.household_type, fact.updated_at = dong, household_type, at
    await session.flush()
    if household_type == ELDERLY_ALONE:
        since = at - timedelta(days=settings.auto_enrol_lookback_days)
        stmt = select(CaseClosure).where(
            CaseClosure.household_id == household_id,
            CaseClosure.closed_at >= since,
            CaseClosure.closure_reason.not_in(sorted(NO_ENROLMENT_REASONS)),
        )
        if (await session.execute(stmt.limit(1))).first():
            await checkins.auto_enrol(session, household_id, dong, settings)


async def case_closed(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    household_id: uuid.UUID,
    dong: str,
    reason: str,
    closed_at: datetime,
    settings: Settings,
) -> None:
    if await session.get(CaseClosure, case_id) is None:
        session.add(
            CaseClosure(
                case_id=case_id,
                household_id=household_id,
                dong=dong,
                closure_reason=reason,
                closed_at=closed_at,
            )
        )
        await session.flush()
    if reason in NO_ENROLMENT_REASONS:
        return
    fact = await session.get(HouseholdFact, household_id)
    if fact is not None and fact.household_type == ELDERLY_ALONE:
        await checkins.auto_enrol(session, household_id, fact.dong, settings)
