"""⑧ Follow-ups (사후관리): their dates and outcomes, and reopening a case for a new crisis."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from heemang_casework import access, service
from heemang_casework.api.cases import case_read
from heemang_casework.api.schemas import CaseRead, RequestBody
from heemang_casework.db import repositories
from heemang_casework.domain.followup import FollowUpOutcome, FollowUpStatus
from heemang_casework.domain.scope import Action
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.types import IsoDate, IsoDateTime

router = APIRouter(prefix="/cases/{case_id}", tags=["follow-ups"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case or follow-up, or not within your scope"},
    403: {"description": "Your role may not do this"},
    409: {"description": "The case cannot be reopened from its stage"},
    422: {"description": "Invalid input, or the follow-up is done already"},
}


class FollowUpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    due_on: IsoDate = Field(description="Seoul calendar day it falls due")
    sequence: int | None = Field(description="1 = 6 months after closure, 2 = 12 months")
    status: FollowUpStatus = Field(description="scheduled, due (followup.due sent), done, cancelled")
    claimed_at: IsoDateTime | None = Field(description="When the scheduler published followup.due")
    outcome: FollowUpOutcome | None
    outcome_note: str | None
    outcome_at: IsoDateTime | None
    outcome_by: str | None


class FollowUpPage(BaseModel):
    items: list[FollowUpRead]


class OutcomeCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "new_crisis", "note": "실직 후 월세 체납", "reopen": True}]
        },
    )

    outcome: FollowUpOutcome = Field(
        description="stable, needs_support, new_crisis, unreachable, moved_out, death"
    )
    note: str | None = Field(None, max_length=4000)
    reopen: bool = Field(
        False, description="new_crisis only: reopen the case (back to assessment) in this call"
    )


class ReopenCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=4000)


@router.get("/follow-ups", response_model=FollowUpPage, responses=RESPONSES, summary="사후관리 — follow-ups")
async def list_follow_ups(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> FollowUpPage:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_follow_ups")
    return FollowUpPage(
        items=[FollowUpRead.model_validate(f) for f in await repositories.follow_ups(session, case.id)]
    )


@router.post(
    "/follow-ups/{follow_up_id}/outcome",
    response_model=FollowUpRead,
    responses=RESPONSES,
    summary="사후관리 결과 — record a follow-up's outcome (a new crisis may reopen the case)",
)
async def record_outcome(
    case_id: uuid.UUID,
    follow_up_id: uuid.UUID,
    body: OutcomeCreate,
    session: SessionDep,
    principal: PrincipalDep,
) -> FollowUpRead:
    case = await access.case_for(session, principal, case_id, Action.follow_up, for_update=True)
    follow_up = await service.record_follow_up_outcome(
        session,
        case,
        follow_up_id,
        outcome=body.outcome,
        note=body.note,
        reopen=body.reopen,
        actor=principal.subject,
    )
    return FollowUpRead.model_validate(follow_up)


@router.post(
    "/reopen",
    response_model=CaseRead,
    responses=RESPONSES,
    summary="사례 재개 — reopen a closed case for a new crisis",
)
async def reopen_case(
    case_id: uuid.UUID, body: ReopenCreate, session: SessionDep, principal: PrincipalDep
) -> CaseRead:
    """A served case in closed or follow-up goes back to assessment; follow-ups not yet due stop."""
    case = await access.case_for(session, principal, case_id, Action.transition, for_update=True)
    await service.reopen_case(session, case, reason=body.reason, note=body.note, actor=principal.subject)
    return case_read(case, await repositories.case_agency_ids(session, case.id))
