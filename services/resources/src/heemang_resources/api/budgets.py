"""Budget lines (예산) by funding source, spending against them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_resources.api.common import MANAGERS, IdempotencyKeyHeader, idempotent
from heemang_resources.api.ledger import entry_read
from heemang_resources.api.schemas import (
    AppropriationCreate,
    BudgetLineCreate,
    BudgetLineRead,
    EntryRead,
    SpendingCreate,
)
from heemang_resources.service import budgets

router = APIRouter(prefix="/budgets", tags=["budgets"])


@router.post("", response_model=BudgetLineRead, status_code=201, summary="예산 세부사업 등록 (budget line)")
async def create_line(body: BudgetLineCreate, session: SessionDep, principal: PrincipalDep) -> BudgetLineRead:
    principal.require_role(*MANAGERS)
    return BudgetLineRead.model_validate(
        await budgets.create(session, body.code, body.name, body.fiscal_year)
    )


@router.post(
    "/{code}/appropriations",
    response_model=EntryRead,
    status_code=201,
    summary="예산 배정 (appropriate by funding source)",
)
async def appropriate(
    code: str,
    body: AppropriationCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> EntryRead:
        line = await budgets.get(session, code)
        entry = await budgets.appropriate(session, line, body.sources, principal.subject, token)
        return await entry_read(session, entry, "appropriation")

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.post(
    "/{code}/spending",
    response_model=EntryRead,
    status_code=201,
    summary="예산 집행 (spend from a line)",
    responses={409: {"description": "The line's source has less left than the amount"}},
)
async def spend(
    code: str,
    body: SpendingCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> EntryRead:
        line = await budgets.get(session, code)
        entry = await budgets.spend(
            session, line, body.source, body.amount, body.purpose, body.memo, principal.subject, token
        )
        return await entry_read(session, entry, "spending")

    return await idempotent(request, session, principal, idempotency_key, body, work)
