"""Cases: list and read within the caller's scope, stage transitions, assignment."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from heemang_casework import access, service
from heemang_casework.api.schemas import (
    CODE_PATTERN,
    DONG_PATTERN,
    AssignmentUpdate,
    CasePage,
    CaseRead,
    TimelineEntryRead,
    TimelinePage,
    TransitionCreate,
)
from heemang_casework.db import repositories
from heemang_casework.db.models import Case
from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.scope import Action, Role
from heemang_casework.domain.stages import Selection, Stage, TransitionCommand, allowed_next
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid
from heemang_common.types import IsoAwareDateTime

router = APIRouter(prefix="/cases", tags=["cases"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such case, or not within your scope"}}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"description": "Your role may not do this"}}


def case_read(case: Case, agencies: list[str], *, partner: bool = False) -> CaseRead:
    state = service.case_state(case)
    read = CaseRead.model_validate(case)
    closure = ClosureReason(case.closure_reason) if case.closure_reason else None
    update: dict[str, object] = {
        "allowed_next": allowed_next(state),
        "closure_category": closure.category if closure else None,
        "agencies": agencies,
    }
    if partner:
        # Field allow-list: a partner agency needs the case's state, not the caseworker's words.
        update["selection_reason"] = None
    return read.model_copy(update=update)


def encode_cursor(case: Case) -> str:
    raw = f"{case.opened_at.isoformat()}|{case.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, case_id = raw.partition("|")
        opened_at = datetime.fromisoformat(at)
        if opened_at.tzinfo is None:
            raise ValueError("naive")
        return opened_at, uuid.UUID(case_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("The cursor is not one this API issued.", field="cursor") from None


@router.get("", response_model=CasePage, summary="사례 목록 — list cases within your scope")
async def list_cases(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    household_id: uuid.UUID | None = Query(None, description="Cases of one household"),
    referral_id: uuid.UUID | None = Query(None, description="The case opened from this referral"),
    dong: str | None = Query(None, pattern=DONG_PATTERN, description="Code of the 동"),
    stage: list[Stage] = Query([], description="One or more stages (repeat the parameter)"),
    selection: Selection | None = Query(None, description="Selection outcome (대상자 선정)"),
    case_manager_id: str | None = Query(None, pattern=CODE_PATTERN, description="Main case manager"),
    agency: str | None = Query(None, pattern=CODE_PATTERN, description="Assigned partner agency"),
    opened_from: IsoAwareDateTime | None = Query(None, description="Opened at or after (ISO 8601 with zone)"),
    opened_to: IsoAwareDateTime | None = Query(None, description="Opened before (ISO 8601 with zone)"),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> CasePage:
    """Cases the caller may read (동, assignment, partner agency, restricted clearance), oldest
    first. Every case listed is written to the access log."""
    viewer = access.require(principal, Action.read)
    filters = repositories.CaseFilter(
        household_id=household_id,
        referral_id=referral_id,
        dong=dong,
        stages=tuple(s.value for s in stage),
        selection=selection.value if selection else None,
        case_manager_id=case_manager_id,
        agency_id=agency,
        opened_from=opened_from,
        opened_to=opened_to,
    )
    after = decode_cursor(cursor) if cursor else None
    cases = await repositories.list_cases(session, viewer, filters, after=after, limit=limit)
    agencies = await repositories.agencies_of(session, [c.id for c in cases])
    access.log_reads(session, request, principal, cases, action="list")
    partner = viewer.role is Role.partner_agency
    return CasePage(
        items=[case_read(c, agencies[c.id], partner=partner) for c in cases],
        next_cursor=encode_cursor(cases[-1]) if len(cases) == limit else None,
    )


@router.get("/{case_id}", response_model=CaseRead, responses=NOT_FOUND, summary="사례 조회 — read a case")
async def read_case(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> CaseRead:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case])
    partner = principal.role == Role.partner_agency
    return case_read(case, await repositories.case_agency_ids(session, case.id), partner=partner)


@router.post(
    "/{case_id}/transitions",
    response_model=CaseRead,
    responses={**NOT_FOUND, **FORBIDDEN, 409: {"description": "Illegal transition"}},
    summary="단계 이동 — move a case to another stage",
)
async def transition_case(
    case_id: uuid.UUID, body: TransitionCreate, session: SessionDep, principal: PrincipalDep
) -> CaseRead:
    """Move the case to another stage. 409 names the stages allowed from the current one."""
    await access.case_for(session, principal, case_id, Action.transition, for_update=True)
    command = TransitionCommand(
        to=body.to,
        selection=body.selection,
        closure_reason=body.closure_reason,
        reason=body.reason,
        note=body.note,
    )
    case = await service.change_stage(session, case_id, command, actor=principal.subject)
    return case_read(case, await repositories.case_agency_ids(session, case.id))


@router.put(
    "/{case_id}/assignment",
    response_model=CaseRead,
    responses={**NOT_FOUND, **FORBIDDEN},
    summary="사례 배정 — assign the case manager, 동 and partner agencies",
)
async def assign_case(
    case_id: uuid.UUID, body: AssignmentUpdate, session: SessionDep, principal: PrincipalDep
) -> CaseRead:
    """Replace the case's assignment. A change is written to the timeline and published as
    `case.assigned`; the same assignment again changes nothing."""
    case = await access.case_for(session, principal, case_id, Action.assign, for_update=True)
    await service.assign(
        session,
        case,
        case_manager_id=body.case_manager_id,
        dong=body.dong,
        agencies=body.agencies,
        restricted=body.restricted,
        actor=principal.subject,
    )
    return case_read(case, await repositories.case_agency_ids(session, case.id))


@router.get(
    "/{case_id}/timeline",
    response_model=TimelinePage,
    responses=NOT_FOUND,
    summary="사례 이력 — the case's timeline",
)
async def read_timeline(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> TimelinePage:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_timeline")
    entries = [TimelineEntryRead.model_validate(e) for e in await service.timeline(session, case_id)]
    if principal.role == Role.partner_agency:
        entries = [e.model_copy(update={"note": None}) for e in entries]  # notes may name people
    return TimelinePage(items=entries)
