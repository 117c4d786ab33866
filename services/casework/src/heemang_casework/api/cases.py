from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from heemang_casework import service
from heemang_casework.api.schemas import (
    CasePage,
    CaseRead,
    TimelineEntryRead,
    TimelinePage,
    TransitionCreate,
)
from heemang_casework.db import repositories
from heemang_casework.db.models import Case
from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.stages import TransitionCommand, allowed_next
from heemang_common.deps import SessionDep

router = APIRouter(prefix="/cases", tags=["cases"])


def case_read(case: Case) -> CaseRead:
    state = service.case_state(case)
    read = CaseRead.model_validate(case)
    closure = ClosureReason(case.closure_reason) if case.closure_reason else None
    return read.model_copy(
        update={
            "allowed_next": allowed_next(state),
            "closure_category": closure.category if closure else None,
        }
    )


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
    return CasePage(items=[case_read(c) for c in cases])


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: uuid.UUID, session: SessionDep) -> CaseRead:
    return case_read(await service.get_case(session, case_id))


@router.post(
    "/{case_id}/transitions",
    response_model=CaseRead,
    responses={404: {"description": "No such case"}, 409: {"description": "Illegal transition"}},
)
async def transition_case(case_id: uuid.UUID, body: TransitionCreate, session: SessionDep) -> CaseRead:
    """Move the case to another stage. 409 names the stages allowed from the current one."""
    command = TransitionCommand(
        to=body.to,
        selection=body.selection,
        closure_reason=body.closure_reason,
        reason=body.reason,
        note=body.note,
    )
    return case_read(await service.change_stage(session, case_id, command))


@router.get("/{case_id}/timeline", response_model=TimelinePage)
async def read_timeline(case_id: uuid.UUID, session: SessionDep) -> TimelinePage:
    entries = await service.timeline(session, case_id)
    return TimelinePage(items=[TimelineEntryRead.model_validate(e) for e in entries])
