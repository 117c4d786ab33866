from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from heemang_casework import service
from heemang_casework.api.schemas import CasePage, CaseRead
from heemang_casework.db import repositories
from heemang_common.deps import SessionDep

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("", response_model=CasePage)
async def list_cases(
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> CasePage:
    cases = await repositories.list_cases(
        session, household_id=household_id, referral_id=referral_id, limit=limit
    )
    return CasePage(items=[CaseRead.model_validate(c) for c in cases])


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: uuid.UUID, session: SessionDep) -> CaseRead:
    return CaseRead.model_validate(await service.get_case(session, case_id))
