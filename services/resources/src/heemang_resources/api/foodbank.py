"""Food bank / food market (푸드뱅크·마켓): goods in and out, stock, expiring soon, served."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from fastapi import APIRouter, Query, Request, Response

from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid
from heemang_common.types import IsoDate
from heemang_resources.api.common import MANAGERS, READERS, IdempotencyKeyHeader, idempotent
from heemang_resources.api.schemas import (
    FoodIssueCreate,
    FoodIssueRead,
    FoodLotRead,
    FoodReceiptCreate,
    FoodServedRead,
    StockRead,
    WriteOffCreate,
    WriteOffRead,
)
from heemang_resources.service import donations, foodbank

router = APIRouter(prefix="/foodbank", tags=["food bank"])


@router.post("/receipts", response_model=FoodLotRead, status_code=201, summary="푸드뱅크 입고 (goods in)")
async def receive(
    body: FoodReceiptCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> FoodLotRead:
        if body.donor_id is not None:
            await donations.get_donor(session, body.donor_id)
        lot = await foodbank.receive(session, actor=principal.subject, token=token, **body.model_dump())
        return FoodLotRead.model_validate(lot)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.post(
    "/issues",
    response_model=FoodIssueRead,
    status_code=201,
    summary="푸드뱅크 출고 (goods out)",
    responses={409: {"description": "Not enough usable (unexpired) stock"}},
)
async def issue(
    body: FoodIssueCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)
    if (body.household_id is None) == (body.facility is None):
        raise Invalid("name either a household (with its dong) or a facility")
    if body.household_id is not None:
        if body.dong is None:
            raise Invalid("a household's dong is required")
        principal.require_dong(body.dong)

    async def work(token: uuid.UUID) -> FoodIssueRead:
        row = await foodbank.issue(session, actor=principal.subject, token=token, **body.model_dump())
        return FoodIssueRead.model_validate(row)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.post(
    "/lots/{lot_id}/write-off",
    response_model=WriteOffRead,
    status_code=201,
    summary="폐기 (write off expired or spoiled goods)",
    responses={404: {"description": "No such lot"}, 409: {"description": "More than the lot holds"}},
)
async def write_off(
    lot_id: uuid.UUID,
    body: WriteOffCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> WriteOffRead:
        row = await foodbank.write_off(
            session,
            lot_id,
            quantity=body.quantity,
            reason=body.reason,
            on=body.written_off_on,
            actor=principal.subject,
            token=token,
        )
        return WriteOffRead.model_validate(row)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get("/stock", response_model=list[StockRead], summary="재고 현황 (stock by item)")
async def stock(session: SessionDep, principal: PrincipalDep) -> list[StockRead]:
    principal.require_role(*READERS)
    return [StockRead(**vars(s)) for s in await foodbank.stock(session)]


@router.get("/expiring", response_model=list[FoodLotRead], summary="유통기한 임박 (expiring soon)")
async def expiring(
    session: SessionDep,
    principal: PrincipalDep,
    within_days: int = Query(7, ge=0, le=365),
    as_of: IsoDate | None = None,
) -> list[FoodLotRead]:
    principal.require_role(*READERS)
    on = as_of or date.today()
    return [
        FoodLotRead.model_validate(x)
        for x in await foodbank.expiring(session, on, on + timedelta(days=within_days))
    ]


@router.get("/served", response_model=FoodServedRead, summary="이용 실적 (people served, value distributed)")
async def served(
    session: SessionDep,
    principal: PrincipalDep,
    from_date: IsoDate = Query(..., alias="from"),
    to_date: IsoDate = Query(..., alias="to"),
) -> FoodServedRead:
    principal.require_role(*READERS)
    if to_date < from_date:
        raise Invalid("'to' is before 'from'")
    s = await foodbank.served(session, from_date, to_date)
    return FoodServedRead(from_date=from_date, to_date=to_date, **vars(s))
