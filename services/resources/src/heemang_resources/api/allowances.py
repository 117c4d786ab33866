"""Allowance programmes (수당): enrolments, payment runs, register and bank transfer file."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Path, Query, Request, Response

from heemang_common.access_log import export_reason, record_access
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Conflict
from heemang_common.events.envelope import utcnow
from heemang_common.masking import mask_name
from heemang_common.types import IsoDate
from heemang_resources.api.common import MANAGERS, IdempotencyKeyHeader, idempotent
from heemang_resources.api.schemas import (
    AllowanceProgrammeCreate,
    AllowanceProgrammeRead,
    EnrolmentCreate,
    EnrolmentRead,
    RegisterLine,
    RegisterRead,
    RunCreate,
    RunRead,
)
from heemang_resources.db.models import AllowanceEnrolment, AllowanceProgramme, OutboxMessage
from heemang_resources.domain.allowances import PERIOD
from heemang_resources.domain.chart import kind_of
from heemang_resources.domain.errors import InvalidEntry
from heemang_resources.domain.ledger import AccountKind
from heemang_resources.service import allowances, ledger

router = APIRouter(prefix="/allowances", tags=["allowances"])
PeriodPath = Path(pattern=PERIOD.pattern, examples=["2026-11"])


def mask_account(number: str) -> str:
    """Bank account numbers show their last four digits only."""
    digits = [c for c in number if c.isdigit()]
    return "*" * max(len(digits) - 4, 0) + "".join(digits[-4:])


def enrolment_read(e: AllowanceEnrolment) -> EnrolmentRead:
    return EnrolmentRead(
        id=e.id,
        programme=e.programme,
        person_ref=e.person_ref,
        dong=e.dong,
        holder_name=mask_name(e.holder_name),
        bank_code=e.bank_code,
        account_number=mask_account(e.account_number),
        eligible_from=e.eligible_from,
        eligible_to=e.eligible_to,
    )


@router.post("", response_model=AllowanceProgrammeRead, status_code=201, summary="수당 사업 등록")
async def create_programme(
    body: AllowanceProgrammeCreate, session: SessionDep, principal: PrincipalDep
) -> AllowanceProgrammeRead:
    principal.require_role(*MANAGERS)
    if kind_of(body.budget_account) is not AccountKind.budget_line:
        raise InvalidEntry(f"{body.budget_account} is not a budget line account")
    await ledger.get_account(session, body.budget_account)
    if await session.get(AllowanceProgramme, body.code) is not None:
        raise Conflict(f"allowance programme {body.code} exists")
    p = AllowanceProgramme(created_at=utcnow(), **body.model_dump())
    session.add(p)
    await session.flush()
    return AllowanceProgrammeRead.model_validate(p)


@router.post(
    "/{code}/enrolments", response_model=EnrolmentRead, status_code=201, summary="수급자 등록 (enrol)"
)
async def enrol(
    code: str, body: EnrolmentCreate, session: SessionDep, principal: PrincipalDep
) -> EnrolmentRead:
    principal.require_role(*MANAGERS)
    principal.require_dong(body.dong)
    await allowances.programme(session, code)
    if body.eligible_to is not None and body.eligible_to < body.eligible_from:
        raise InvalidEntry("eligible_to is before eligible_from")
    e = AllowanceEnrolment(id=uuid.uuid4(), programme=code, created_at=utcnow(), **body.model_dump())
    session.add(e)
    await session.flush()
    return enrolment_read(e)


def run_read(
    code: str, period: str, as_of: date, result: allowances.RunResult | None, plan: allowances.rules.Plan
) -> RunRead:
    return RunRead(
        programme=code,
        period=period,
        as_of=as_of,
        paid_now=len(plan.due),
        already_paid=len(plan.already_paid),
        amount_each=plan.amount,
        total_now=plan.total,
        entry_id=result.entry_id if result else None,
    )


@router.get("/{code}/runs/{period}/preview", response_model=RunRead, summary="지급 미리보기 (preview a run)")
async def preview(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    period: str = PeriodPath,
    as_of: IsoDate = Query(...),
) -> RunRead:
    principal.require_role(*MANAGERS)
    plan = await allowances.preview(session, await allowances.programme(session, code), period, as_of)
    return run_read(code, period, as_of, None, plan)


@router.post(
    "/{code}/runs",
    response_model=RunRead,
    status_code=201,
    summary="지급 실행 (pay a period)",
    responses={409: {"description": "The budget line cannot pay the run"}},
)
async def run(
    code: str,
    body: RunCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> RunRead:
        p = await allowances.programme(session, code)
        result = await allowances.run(session, p, body.period, body.as_of, principal.subject, token)
        return run_read(code, body.period, body.as_of, result, result.plan)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get(
    "/{code}/runs/{period}/register", response_model=RegisterRead, summary="지급 대장 (payment register)"
)
async def register(
    code: str, request: Request, session: SessionDep, principal: PrincipalDep, period: str = PeriodPath
) -> RegisterRead:
    principal.require_role(*MANAGERS)
    p = await allowances.programme(session, code)
    rows = await allowances.payments(session, p, period)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="allowance_register",
        record_id=f"{code}:{period}",
        action="list",
    )
    items = [
        RegisterLine(
            enrolment_id=e.id,
            person_ref=e.person_ref,
            holder_name=mask_name(e.holder_name),
            account_number=mask_account(e.account_number),
            amount=pay.amount,
            paid_at=pay.paid_at,
        )
        for pay, e in rows
    ]
    return RegisterRead(
        programme=code, period=period, count=len(items), total=sum(i.amount for i in items), items=items
    )


@router.get(
    "/{code}/runs/{period}/transfer.csv",
    summary="대량이체 파일 (bank transfer file, CSV)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def transfer_file(
    code: str, request: Request, session: SessionDep, principal: PrincipalDep, period: str = PeriodPath
) -> Response:
    """Full account numbers and names: a download of personal data, with a stated reason
    (`X-Export-Reason`), logged."""
    principal.require_role(*MANAGERS)
    reason = export_reason(request)
    p = await allowances.programme(session, code)
    rows = await allowances.payments(session, p, period)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="resources",
        record_type="allowance_transfer_file",
        record_id=f"{code}:{period}",
        action="export",
        reason=reason,
    )
    return Response(
        allowances.transfer_csv(p, period, rows).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=transfer-{code}-{period}.csv"},
    )
