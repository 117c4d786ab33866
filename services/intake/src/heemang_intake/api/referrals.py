"""Referrals (의뢰·접수): every authenticated channel, the per-동 triage queue, assignment
and decisions. Each read of a referral writes an access-log entry."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from heemang_common.auth import Clearance, Principal, Role
from heemang_common.deps import SessionDep
from heemang_common.events.intake import ReferralChannel
from heemang_common.masking import mask_name
from heemang_intake import service
from heemang_intake.api import audit, pagination
from heemang_intake.api.schemas import (
    Assignment,
    Decision,
    DongCode,
    LinkRead,
    ReferralCreate,
    ReferralPage,
    ReferralRead,
    TriageUpdate,
    UserId,
)
from heemang_intake.db import repositories
from heemang_intake.db.models import Referral
from heemang_intake.deps import PrincipalDep, RegisterDep
from heemang_intake.domain import access
from heemang_intake.domain import duplicates as dup

router = APIRouter(prefix="/referrals", tags=["referrals"])

_SCOPE: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Role or 동 scope does not allow it"},
    404: {"description": "Not found (restricted referrals are not found without the clearance)"},
}
_DECIDED: dict[int | str, dict[str, Any]] = {409: {"description": "The referral was already decided"}}
ReferralStatus = Annotated[
    str | None,
    Query(alias="status", pattern="^(received|accepted|linked|rejected)$", description="Filter by status"),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralRead,
    summary="Receive a referral (의뢰 접수: 내방·전화 초기상담, 이웃살피미, 112, 유관기관)",
    responses={
        **_SCOPE,
        422: {"description": "Invalid input (동, channel, RRN); nothing is stored"},
    },
)
async def create_referral(
    body: ReferralCreate, session: SessionDep, ctx: RegisterDep, principal: PrincipalDep, request: Request
) -> ReferralRead:
    received = await service.receive_referral(session, ctx, principal, body)
    referral = received.referral
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    return await _read(session, principal, referral)


@router.get(
    "",
    response_model=ReferralPage,
    summary="Triage queue (접수 대기열): referrals in your 동s by priority, then age",
    responses=_SCOPE,
)
async def list_referrals(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    dong: Annotated[
        list[DongCode] | None, Query(max_length=50, description="Filter by 동 code (repeatable)")
    ] = None,
    status_: ReferralStatus = None,
    channel: Annotated[ReferralChannel | None, Query(description="Filter by channel")] = None,
    assigned_to: Annotated[UserId | None, Query(description="Filter by assigned officer")] = None,
    household_id: Annotated[uuid.UUID | None, Query(description="Only this household's referrals")] = None,
    cursor: Annotated[str | None, Query(max_length=300, description="From the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
) -> ReferralPage:
    after = None
    if cursor:
        priority, received, last = pagination.decode(cursor, 3)
        after = (pagination.as_int(priority), pagination.as_datetime(received), pagination.as_uuid(last))
    rows = await service.queue(
        session,
        principal,
        dongs=dong,
        status=status_,
        channel=channel,
        assigned_to=assigned_to,
        after=after,
        limit=limit + 1,
        household_id=household_id,
    )
    page, more = list(rows[:limit]), len(rows) > limit
    audit.record_list(session, request, principal, "referral", [(r.id, r.household_id) for r in page])
    names = await repositories.head_names(session, list({r.household_id for r in page}))
    items = [_to_read(principal, r, names.get(r.household_id)) for r in page]
    next_cursor = None
    if more:
        last_row = page[-1]
        next_cursor = pagination.encode(
            [last_row.priority, last_row.received_at.isoformat(), str(last_row.id)]
        )
    return ReferralPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{referral_id}", response_model=ReferralRead, summary="Read a referral (의뢰 조회)", responses=_SCOPE
)
async def read_referral(
    referral_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, request: Request
) -> ReferralRead:
    referral = await service.referral_for(session, principal, referral_id)
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    return await _read(session, principal, referral)


@router.put(
    "/{referral_id}/triage",
    response_model=ReferralRead,
    summary="Set urgency and importance (시급성·중요도 판정) → priority",
    responses={**_SCOPE, **_DECIDED},
)
async def triage_referral(
    referral_id: uuid.UUID, body: TriageUpdate, session: SessionDep, principal: PrincipalDep, request: Request
) -> ReferralRead:
    referral = await service.retriage(session, principal, referral_id, body.urgency, body.importance)
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    return await _read(session, principal, referral)


@router.put(
    "/{referral_id}/assignment",
    response_model=ReferralRead,
    summary="Assign to an officer (담당자 배정)",
    responses={**_SCOPE, **_DECIDED},
)
async def assign_referral(
    referral_id: uuid.UUID, body: Assignment, session: SessionDep, principal: PrincipalDep, request: Request
) -> ReferralRead:
    referral = await service.assign(session, principal, referral_id, body.officer_id)
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    return await _read(session, principal, referral)


@router.post(
    "/{referral_id}/decision",
    response_model=ReferralRead,
    summary="Decide (접수 결정): accept for case management, link to an open case, or reject with a reason",
    responses={**_SCOPE, **_DECIDED, 422: {"description": "Missing reason or link target"}},
)
async def decide_referral(
    referral_id: uuid.UUID, body: Decision, session: SessionDep, principal: PrincipalDep, request: Request
) -> ReferralRead:
    await service.decide(session, principal, referral_id, body)
    referral = await service.get_referral(session, referral_id)
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    return await _read(session, principal, referral)


async def _read(session: SessionDep, principal: Principal, referral: Referral) -> ReferralRead:
    names = await repositories.head_names(session, [referral.household_id])
    return _to_read(principal, referral, names.get(referral.household_id))


_OTHER_DONG = "The person is registered in another 동; the referral went to that 동's queue."


def _to_read(principal: Principal, referral: Referral, head_name: str | None) -> ReferralRead:
    """The one serializer of a referral: the subject's name masked by the common policy; a
    link is described without naming its record to a caller who may not see it (partner,
    uncleared for a restricted record, or a 동 officer whose referral went to another 동).
    A linked referral's decision reason is the link's reason as this caller may read it."""
    read = ReferralRead.model_validate(referral, from_attributes=True)
    link = service.link_of(referral)
    if principal.role != Role.PARTNER_AGENCY and not access.sees_dong(principal, referral.dong):
        # A referral a 동 officer sent about someone registered in another 동: she learns
        # that it went there, not who lives there or what is already open for them.
        if link is not None:
            read.link = LinkRead(kind=link.kind, matched_by="other_dong", reason=_OTHER_DONG)
    else:
        read.subject_name = mask_name(head_name) if head_name else None
        if link is not None:
            read.link = _link_read(principal, referral, link)
    if read.link is not None:
        read.decision_reason = read.link.reason
    return read


def _link_read(principal: Principal, referral: Referral, link: dup.Link) -> LinkRead:
    if principal.role == Role.PARTNER_AGENCY:
        # A partner learns that its referral joined existing work, not which record.
        return LinkRead(
            kind=link.kind,
            matched_by=link.matched_by.value,
            reason="Linked to work the district already has open for this household.",
        )
    if referral.restricted and not principal.has(Clearance.RESTRICTED):
        return LinkRead(
            kind=link.kind,
            matched_by=link.matched_by.value,
            reason="Linked to an existing restricted record; a cleared officer follows it up.",
        )
    return LinkRead(
        kind=link.kind,
        referral_id=link.referral_id,
        case_id=link.case_id,
        matched_by=link.matched_by.value,
        reason=link.reason(),
    )
