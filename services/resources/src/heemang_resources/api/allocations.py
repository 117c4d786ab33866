"""Allocations (지원 결정) and deliveries, and the per-household support history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select, tuple_

from heemang_common.access_log import record_access
from heemang_common.auth import PrincipalDep, Role
from heemang_common.deps import SessionDep
from heemang_common.errors import Forbidden
from heemang_resources.api.common import (
    MANAGERS,
    BadCursor,
    IdempotencyKeyHeader,
    decode_cursor,
    encode_cursor,
    idempotent,
)
from heemang_resources.api.schemas import (
    AllocationPage,
    AllocationRead,
    DeliveryCreate,
    DesignatedFundRead,
    HouseholdFoodRead,
    SupportHistory,
    SupportTotals,
)
from heemang_resources.db.models import Allocation, FoodIssue, OutboxMessage
from heemang_resources.domain.ledger import designated_fund
from heemang_resources.service import allocations, ledger

router = APIRouter(tags=["allocations"])
#: Who may see a household's support: the department's staff, scoped by 동.
HISTORY_ROLES = (
    Role.DISTRICT_ADMIN,
    Role.SUPERVISOR,
    Role.CASE_MANAGER,
    Role.DONG_OFFICER,
    Role.RESOURCE_OFFICER,
)


def _page(rows: list[Allocation], limit: int) -> tuple[list[AllocationRead], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1].decided_at.isoformat(), rows[-1].id) if more and rows else None
    return [AllocationRead.model_validate(r) for r in rows], cursor


def _after(cursor: str) -> tuple[object, uuid.UUID]:
    from datetime import datetime

    at, last = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(last)
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None


@router.get("/allocations", response_model=AllocationPage, summary="지원 결정 목록 (allocations)")
async def list_allocations(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: str | None = Query(None, pattern="^(approved|rejected|delivered)$"),
    dong: str | None = Query(None, max_length=50),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> AllocationPage:
    """Resource officers' work list (approved, not yet delivered first). Scoped by 동."""
    principal.require_role(*MANAGERS, Role.SUPERVISOR)
    stmt = select(Allocation).order_by(Allocation.decided_at.desc(), Allocation.id.desc()).limit(limit + 1)
    if status:
        stmt = stmt.where(Allocation.status == status)
    if dong:
        principal.require_dong(dong)
        stmt = stmt.where(Allocation.dong == dong)
    elif not principal.district_wide:
        stmt = stmt.where(Allocation.dong.in_(sorted(principal.dongs)))
    if cursor:
        stmt = stmt.where(tuple_(Allocation.decided_at, Allocation.id) < _after(cursor))
    items, next_cursor = _page(list(await session.scalars(stmt)), limit)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="allocation",
        record_id=dong or "*",
        action="list",
    )
    return AllocationPage(items=items, next_cursor=next_cursor)


@router.get(
    "/allocations/{allocation_id}",
    response_model=AllocationRead,
    summary="지원 결정 조회",
    responses={404: {"description": "No such allocation"}, 403: {"description": "Outside your 동"}},
)
async def read_allocation(
    allocation_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> AllocationRead:
    principal.require_role(*HISTORY_ROLES)
    row = await allocations.get(session, allocation_id)
    principal.require_dong(row.dong)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="allocation",
        record_id=row.id,
        household_id=row.household_id,
    )
    return AllocationRead.model_validate(row)


@router.post(
    "/allocations/{allocation_id}/delivery",
    response_model=AllocationRead,
    status_code=201,
    summary="지원 전달 기록 (record delivery: posts to the ledger)",
    responses={
        404: {"description": "No such allocation"},
        409: {"description": "Already delivered, rejected, or the fund was spent"},
    },
)
async def deliver(
    allocation_id: uuid.UUID,
    body: DeliveryCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> AllocationRead:
        row = await allocations.get(session, allocation_id)
        principal.require_dong(row.dong)
        return AllocationRead.model_validate(
            await allocations.deliver(session, allocation_id, principal.subject)
        )

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get(
    "/households/{household_id}/support",
    response_model=SupportHistory,
    summary="가구별 지원 이력 (household support history)",
    responses={403: {"description": "The household's support is outside your 동"}},
)
async def household_support(
    household_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> SupportHistory:
    """Personal data: the read is logged (접속기록) and limited to the 동 the support was
    given in (the household's 동 is kept on each allocation)."""
    principal.require_role(*HISTORY_ROLES)
    every = list(await session.scalars(select(Allocation).where(Allocation.household_id == household_id)))
    visible = [r for r in every if principal.sees_dong(r.dong)]
    issues = list(
        await session.scalars(
            select(FoodIssue)
            .where(FoodIssue.household_id == household_id)
            .order_by(FoodIssue.issued_on.desc(), FoodIssue.id)
            .limit(100)
        )
    )
    food = [x for x in issues if principal.sees_dong(x.dong)]
    if (every or issues) and not (visible or food):
        raise Forbidden("This household's support is outside your 동 scope.")
    visible.sort(key=lambda r: (r.decided_at, r.id), reverse=True)
    if cursor:
        at, last = _after(cursor)
        visible = [r for r in visible if (r.decided_at, r.id) < (at, last)]
    totals = SupportTotals(
        approved=sum(r.amount for r in visible if r.status in ("approved", "delivered")),
        delivered=sum(r.amount for r in visible if r.status == "delivered"),
        rejected_requests=sum(1 for r in visible if r.status == "rejected"),
    )
    items, next_cursor = _page(visible[: limit + 1], limit)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="household_support",
        record_id=household_id,
        household_id=household_id,
    )
    in_scope = bool(visible or food) or principal.district_wide
    return SupportHistory(
        household_id=household_id,
        totals=totals,
        items=items,
        next_cursor=next_cursor,
        food_bank=[HouseholdFoodRead.model_validate(x) for x in food],
        designated_fund=await _designated(session, household_id) if in_scope else None,
    )


async def _designated(session: SessionDep, household_id: uuid.UUID) -> DesignatedFundRead | None:
    code = designated_fund(household=str(household_id)).code
    totals = (await ledger.totals_of(session, [code])).get(code)
    if totals is None:
        return None
    return DesignatedFundRead(received=totals.debits, spent=totals.credits, remaining=totals.raw)
