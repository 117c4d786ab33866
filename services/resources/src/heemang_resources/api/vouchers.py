"""Vouchers (바우처): programmes, holders, member shops, monthly top-ups, shop charges, usage."""

from __future__ import annotations

import uuid
from decimal import Decimal

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import IntegrityError

from heemang_common.auth import PrincipalDep, Role
from heemang_common.deps import SessionDep
from heemang_common.errors import Conflict
from heemang_common.events.envelope import utcnow
from heemang_resources.api.common import MANAGERS, READERS, IdempotencyKeyHeader, idempotent
from heemang_resources.api.schemas import (
    ChargeCreate,
    ChargeRead,
    TopUpCreate,
    TopUpRead,
    UsageMonth,
    VoucherHolderCreate,
    VoucherHolderRead,
    VoucherProgrammeCreate,
    VoucherProgrammeRead,
    VoucherShopCreate,
    VoucherUsageRead,
)
from heemang_resources.db.models import VoucherProgramme, VoucherShop
from heemang_resources.domain.chart import kind_of
from heemang_resources.domain.errors import InvalidEntry
from heemang_resources.domain.ledger import AccountKind
from heemang_resources.service import ledger, vouchers

router = APIRouter(prefix="/vouchers", tags=["vouchers"])


@router.post("", response_model=VoucherProgrammeRead, status_code=201, summary="바우처 사업 등록")
async def create_programme(
    body: VoucherProgrammeCreate, session: SessionDep, principal: PrincipalDep
) -> VoucherProgrammeRead:
    principal.require_role(*MANAGERS)
    if kind_of(body.budget_line) not in (
        AccountKind.budget_line,
        AccountKind.general_fund,
        AccountKind.campaign_fund,
    ):
        raise InvalidEntry(f"{body.budget_line} cannot pay for top-ups")
    await ledger.get_account(session, body.budget_line)
    if await session.get(VoucherProgramme, body.code) is not None:
        raise Conflict(f"programme {body.code} exists")
    p = VoucherProgramme(created_at=utcnow(), **body.model_dump())
    session.add(p)
    await session.flush()
    return VoucherProgrammeRead.model_validate(p)


@router.post(
    "/{code}/shops", status_code=201, response_model=VoucherShopCreate, summary="가맹점 등록 (member shop)"
)
async def add_shop(
    code: str, body: VoucherShopCreate, session: SessionDep, principal: PrincipalDep
) -> VoucherShopCreate:
    principal.require_role(*MANAGERS)
    await vouchers.programme(session, code)
    if await session.get(VoucherShop, (code, body.agency_id)) is None:
        session.add(VoucherShop(programme=code, **body.model_dump()))
        await session.flush()
    return body


@router.post(
    "/{code}/holders",
    status_code=201,
    response_model=VoucherHolderRead,
    summary="이용자 등록 (enrol a holder)",
)
async def enrol(
    code: str, body: VoucherHolderCreate, session: SessionDep, principal: PrincipalDep
) -> VoucherHolderRead:
    principal.require_role(*MANAGERS)
    principal.require_dong(body.dong)
    h = await vouchers.enrol(session, await vouchers.programme(session, code), body.household_id, body.dong)
    return VoucherHolderRead.model_validate(h)


@router.get(
    "/{code}/holders/{holder_id}", response_model=VoucherHolderRead, summary="이용자 잔액 (holder balance)"
)
async def read_holder(
    code: str, holder_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> VoucherHolderRead:
    principal.require_role(*MANAGERS)
    h = await vouchers.holder(session, code, holder_id)
    principal.require_dong(h.dong)
    wallet = await ledger.balance(session, vouchers.wallet_of(h))
    return VoucherHolderRead.model_validate(h).model_copy(update={"balance": wallet})


@router.post(
    "/{code}/top-ups",
    response_model=TopUpRead,
    status_code=201,
    summary="월 충전 실행 (monthly top-up run)",
    responses={409: {"description": "Already run for this month, or the budget line is short"}},
)
async def top_up(
    code: str,
    body: TopUpCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> TopUpRead:
        p = await vouchers.programme(session, code)
        try:
            done = await vouchers.top_up(session, p, body.month, body.holiday, principal.subject)
        except IntegrityError:  # a concurrent run of the same month won the primary key
            raise vouchers.AlreadyToppedUp(f"{code} was topped up for {body.month} already") from None
        r = done.run
        return TopUpRead(
            programme=code,
            month=r.month,
            holiday=r.holiday,
            holders=r.holders,
            per_holder=done.per_holder,
            total=r.total,
        )

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.post(
    "/{code}/charges",
    response_model=ChargeRead,
    status_code=201,
    summary="가맹점 결제 (shop charge)",
    responses={
        403: {"description": "Not a member shop of this programme"},
        409: {"description": "The wallet holds less than the charge"},
    },
)
async def charge(
    code: str,
    body: ChargeCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    """Only a partner agency that is a member shop charges, as itself (its agency_id)."""
    principal.require_role(Role.PARTNER_AGENCY)

    async def work(token: uuid.UUID) -> ChargeRead:
        p = await vouchers.programme(session, code)
        row = await vouchers.charge(session, p, body.holder_id, body.amount, principal.agency_id, token)
        return ChargeRead.model_validate(row)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get("/{code}/usage", response_model=VoucherUsageRead, summary="월별 이용률 (usage rate per month)")
async def usage(code: str, session: SessionDep, principal: PrincipalDep) -> VoucherUsageRead:
    principal.require_role(*READERS)
    months = await vouchers.usage(session, await vouchers.programme(session, code))
    return VoucherUsageRead(
        programme=code,
        months=[
            UsageMonth(
                month=m.month,
                topped_up=m.topped_up,
                charged=m.charged,
                usage_rate_percent=str(Decimal(m.rate_permille).scaleb(-1)),
            )
            for m in months
        ],
    )
