"""The household register. Every response masks names, RRNs, phones and addresses with
the common policy; the RRN is accepted only in request bodies (never a query string, which
access logs record) and is never echoed, not even in an error. The whole RRN comes only
from the reveal endpoint. Every read writes an access-log entry (api/audit.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from heemang_common.deps import SessionDep
from heemang_intake import household_service as service
from heemang_intake.api import audit, pagination
from heemang_intake.api.schemas import (
    DongCode,
    HouseholdChangeRead,
    HouseholdCreate,
    HouseholdHistory,
    HouseholdPage,
    HouseholdRead,
    HouseholdUpdate,
    RrnLookup,
    RrnReveal,
)
from heemang_intake.deps import PrincipalDep, RegisterDep
from heemang_intake.domain import access

router = APIRouter(prefix="/households", tags=["households"])

_SCOPE: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Role or 동 scope does not allow it"},
    404: {"description": "Not found (restricted households are not found without the clearance)"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    summary="Register a household and its members (세대 등록)",
    responses={
        **_SCOPE,
        409: {"description": "A member's RRN is already registered"},
        422: {"description": "Invalid input (RRN, 동, members); nothing is stored"},
    },
)
async def register_household(
    body: HouseholdCreate, session: SessionDep, ctx: RegisterDep, principal: PrincipalDep, request: Request
) -> HouseholdRead:
    access.require_register_role(principal)
    access.check_write_dong(principal, body.dong)
    household = await service.register_household(session, ctx, body, actor=principal.subject)
    audit.record(session, request, principal, "household", household.id, household.id)
    return await service.read_household(session, ctx, household.id)


@router.get(
    "",
    response_model=HouseholdPage,
    summary="List households in your 동s (세대 목록, masked)",
    responses=_SCOPE,
)
async def list_households(
    session: SessionDep,
    ctx: RegisterDep,
    principal: PrincipalDep,
    request: Request,
    dong: Annotated[
        list[DongCode] | None, Query(max_length=50, description="Filter by 동 code (repeatable)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
) -> HouseholdPage:
    after = None
    if cursor:
        created, last = pagination.decode(cursor, 2)
        after = (pagination.as_datetime(created), pagination.as_uuid(last))
    items = await service.list_households(session, ctx, principal, dong, after, limit + 1)
    page, more = items[:limit], len(items) > limit
    audit.record_list(session, request, principal, "household", [(h.id, h.id) for h in page])
    next_cursor = pagination.encode([page[-1].created_at.isoformat(), str(page[-1].id)]) if more else None
    return HouseholdPage(items=page, next_cursor=next_cursor)


@router.post(
    "/lookup",
    response_model=HouseholdRead,
    summary="Find the household of a person by RRN (주민번호 조회, through the keyed hash)",
    responses={**_SCOPE, 404: {"description": "No person with this RRN is registered (in your scope)"}},
)
async def lookup_household(
    body: RrnLookup, session: SessionDep, ctx: RegisterDep, principal: PrincipalDep, request: Request
) -> HouseholdRead:
    access.require_register_role(principal)
    household = await service.lookup_by_rrn(session, ctx, body.rrn.get_secret_value())
    access.check_household(principal, household.dong, household.restricted)
    audit.record(session, request, principal, "household", household.id, household.id, action="search")
    return await service.read_household(session, ctx, household.id)


@router.get(
    "/{household_id}",
    response_model=HouseholdRead,
    summary="Read a household (세대 조회, masked)",
    responses=_SCOPE,
)
async def read_household(
    household_id: uuid.UUID, session: SessionDep, ctx: RegisterDep, principal: PrincipalDep, request: Request
) -> HouseholdRead:
    await service.visible_household(session, principal, household_id)
    audit.record(session, request, principal, "household", household_id, household_id)
    return await service.read_household(session, ctx, household_id)


@router.patch(
    "/{household_id}",
    response_model=HouseholdRead,
    summary="Change a household (세대 정보 변경); every changed field is recorded in its history",
    responses=_SCOPE,
)
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    session: SessionDep,
    ctx: RegisterDep,
    principal: PrincipalDep,
    request: Request,
) -> HouseholdRead:
    household = await service.visible_household(session, principal, household_id)
    await service.update_household(session, ctx, household, body, principal)
    audit.record(session, request, principal, "household", household_id, household_id)
    return await service.read_household(session, ctx, household_id)


@router.get(
    "/{household_id}/history",
    response_model=HouseholdHistory,
    summary="Who changed what, when (변경 이력, personal values masked)",
    responses=_SCOPE,
)
async def household_history(
    household_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, request: Request
) -> HouseholdHistory:
    await service.visible_household(session, principal, household_id)
    changes = await service.history(session, household_id)
    audit.record(session, request, principal, "household_history", household_id, household_id)
    return HouseholdHistory(
        household_id=household_id, items=[HouseholdChangeRead.model_validate(c) for c in changes]
    )


@router.post(
    "/{household_id}/members/{person_id}/rrn-reveal",
    response_model=RrnReveal,
    summary="Reveal a member's whole RRN (주민등록번호 전체 조회; rrn_reveal clearance and MFA, logged)",
    responses={
        **_SCOPE,
        403: {"description": "No rrn_reveal clearance, no MFA, or outside your 동 scope"},
    },
)
async def reveal_rrn(
    household_id: uuid.UUID,
    person_id: uuid.UUID,
    session: SessionDep,
    ctx: RegisterDep,
    principal: PrincipalDep,
    request: Request,
    response: Response,
) -> RrnReveal:
    number = await service.reveal_rrn(session, ctx, principal, household_id, person_id)
    audit.record(session, request, principal, "person", person_id, household_id, action="reveal")
    response.headers["Cache-Control"] = "no-store"
    return RrnReveal(person_id=person_id, rrn=number)
