"""Casework use cases."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import repositories
from heemang_casework.db.models import Case
from heemang_casework.domain.stages import OPENING_STAGE
from heemang_casework.events.publish import publish
from heemang_common.errors import NotFound
from heemang_common.events.casework import CaseOpened, CaseOpenedData
from heemang_common.events.envelope import utcnow


async def open_case_for_referral(
    session: AsyncSession, *, referral_id: uuid.UUID, household_id: uuid.UUID, dong: str
) -> Case:
    existing = await repositories.case_for_referral(session, referral_id)
    if existing is not None:
        return existing
    case = Case(
        id=uuid.uuid4(),
        household_id=household_id,
        referral_id=referral_id,
        dong=dong,
        stage=OPENING_STAGE.value,
        opened_at=utcnow(),
    )
    session.add(case)
    await session.flush()
    publish(
        session,
        CaseOpened.create(
            subject=case.id,
            data=CaseOpenedData(
                case_id=case.id,
                household_id=household_id,
                referral_id=referral_id,
                dong=dong,
                stage=OPENING_STAGE.value,
                opened_at=case.opened_at,
            ),
        ),
    )
    return case


async def get_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    case = await repositories.get_case(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case
