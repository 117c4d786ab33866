"""Reports (보고서) as JSON or .xlsx (`?format=xlsx`): budget execution, campaign results,
voucher usage, distributions per period. Aggregates only: no personal data."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid
from heemang_common.types import IsoDate
from heemang_resources.api.common import READERS
from heemang_resources.api.donations import campaign_read
from heemang_resources.api.schemas import (
    BudgetExecutionRead,
    CampaignRead,
    ExecutionRowRead,
    VoucherUsageRead,
)
from heemang_resources.api.vouchers import usage as voucher_usage
from heemang_resources.db.models import Allocation, Campaign
from heemang_resources.domain.budgets import ExecutionRow
from heemang_resources.service import budgets
from heemang_resources.service.allocations import SEOUL
from heemang_resources.service.xlsx import XLSX, workbook

router = APIRouter(prefix="/reports", tags=["reports"])
Format = Literal["json", "xlsx"]
FormatQuery = Query("json", description="json, or xlsx for a spreadsheet")


def _xlsx(name: str, title: str, headers: list[str], rows: list[list[object]]) -> Response:
    return Response(
        workbook(title, headers, rows),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


def _row(r: ExecutionRow, names: dict[str, str]) -> ExecutionRowRead:
    return ExecutionRowRead(
        line=r.line,
        name=names.get(r.line, ""),
        source=r.source,
        budget=r.budget,
        executed=r.executed,
        balance=r.balance,
        rate_percent=str(r.rate_percent),
    )


@router.get(
    "/budget-execution",
    response_model=BudgetExecutionRead,
    summary="예산 집행 현황 (budget execution)",
    responses={200: {"content": {XLSX: {}}}},
)
async def budget_execution(
    session: SessionDep,
    principal: PrincipalDep,
    fiscal_year: int | None = Query(None, ge=2000, le=2100),
    format: Format = FormatQuery,
) -> Response | BudgetExecutionRead:
    principal.require_role(*READERS)
    rows, sources, lines = await budgets.execution_report(session, fiscal_year)
    names = {code: line.name for code, line in lines.items()}
    report = BudgetExecutionRead(
        fiscal_year=fiscal_year,
        lines=[_row(r, names) for r in rows],
        by_source=[_row(r, names) for r in sources],
    )
    if format == "json":
        return report
    headers = [
        "세부사업 line",
        "사업명 name",
        "재원 source",
        "예산액 budget",
        "집행액 executed",
        "잔액 balance",
        "집행률 % rate",
    ]
    cells: list[list[object]] = [
        [
            r.line,
            r.name,
            r.source.value if r.source else "합계 total",
            r.budget,
            r.executed,
            r.balance,
            float(r.rate_percent),
        ]
        for r in [*report.lines, *report.by_source]
    ]
    return _xlsx(f"budget-execution-{fiscal_year or 'all'}", "예산집행", headers, cells)


class CampaignResults(BaseModel):
    items: list[CampaignRead]


@router.get(
    "/campaigns",
    response_model=CampaignResults,
    summary="모금 실적 (campaign results)",
    responses={200: {"content": {XLSX: {}}}},
)
async def campaign_results(
    session: SessionDep, principal: PrincipalDep, format: Format = FormatQuery
) -> Response | CampaignResults:
    principal.require_role(*READERS)
    campaigns = list(
        await session.scalars(select(Campaign).order_by(Campaign.starts_on, Campaign.id).limit(1000))
    )
    items = [await campaign_read(session, c) for c in campaigns]
    if format == "json":
        return CampaignResults(items=items)
    headers = [
        "캠페인 campaign",
        "시작 starts",
        "종료 ends",
        "목표 goal",
        "모금 raised",
        "성금 cash",
        "일반 general",
        "지정 designated",
        "성품 goods",
        "달성률 % progress",
        "목표달성일 goal reached",
    ]
    cells: list[list[object]] = [
        [
            c.name,
            c.starts_on,
            c.ends_on,
            c.goal,
            c.raised,
            c.cash,
            c.cash_general,
            c.cash_designated,
            c.goods,
            float(Decimal(c.progress_percent)),
            c.goal_reached_on,
        ]
        for c in items
    ]
    return _xlsx("campaign-results", "모금실적", headers, cells)


@router.get(
    "/voucher-usage/{programme}",
    response_model=VoucherUsageRead,
    summary="바우처 이용률 (voucher usage)",
    responses={200: {"content": {XLSX: {}}}},
)
async def voucher_usage_report(
    programme: str, session: SessionDep, principal: PrincipalDep, format: Format = FormatQuery
) -> Response | VoucherUsageRead:
    report = await voucher_usage(programme, session, principal)
    if format == "json":
        return report
    headers = ["월 month", "충전 topped up", "사용 charged", "이용률 % usage rate"]
    cells: list[list[object]] = [
        [m.month, m.topped_up, m.charged, float(Decimal(m.usage_rate_percent))] for m in report.months
    ]
    return _xlsx(f"voucher-usage-{programme}", "바우처이용률", headers, cells)


class DistributionRow(BaseModel):
    service_code: str
    deliveries: int
    households: int
    amount: int = Field(description="KRW delivered")


class DistributionsRead(BaseModel):
    """지원 실적: what was delivered in the period (Seoul dates, inclusive)."""

    from_date: IsoDate
    to_date: IsoDate
    rows: list[DistributionRow]
    households: int
    amount: int


@router.get(
    "/distributions",
    response_model=DistributionsRead,
    summary="기간별 지원 실적 (distributions per period)",
    responses={200: {"content": {XLSX: {}}}},
)
async def distributions(
    session: SessionDep,
    principal: PrincipalDep,
    from_date: IsoDate = Query(..., alias="from"),
    to_date: IsoDate = Query(..., alias="to"),
    format: Format = FormatQuery,
) -> Response | DistributionsRead:
    principal.require_role(*READERS)
    if to_date < from_date:
        raise Invalid("'to' is before 'from'")
    start = datetime.combine(from_date, time.min, SEOUL)
    end = datetime.combine(to_date, time.max, SEOUL)
    period = (
        Allocation.status == "delivered",
        Allocation.delivered_at >= start,
        Allocation.delivered_at <= end,
    )
    grouped = await session.execute(
        select(
            Allocation.service_code,
            func.count(),
            func.count(func.distinct(Allocation.household_id)),
            func.coalesce(func.sum(Allocation.amount), 0),
        )
        .where(*period)
        .group_by(Allocation.service_code)
        .order_by(Allocation.service_code)
    )
    rows = [
        DistributionRow(service_code=c, deliveries=n, households=h, amount=int(a))
        for c, n, h, a in grouped.all()
    ]
    households = await session.scalar(
        select(func.count(func.distinct(Allocation.household_id))).where(*period)
    )
    report = DistributionsRead(
        from_date=from_date,
        to_date=to_date,
        rows=rows,
        households=int(households or 0),
        amount=sum(r.amount for r in rows),
    )
    if format == "json":
        return report
    headers = ["서비스 service", "전달 deliveries", "가구 households", "금액 amount"]
    cells: list[list[object]] = [[r.service_code, r.deliveries, r.households, r.amount] for r in rows]
    cells.append(["합계 total", sum(r.deliveries for r in rows), report.households, report.amount])
    return _xlsx(f"distributions-{from_date}-{to_date}", "지원실적", headers, cells)
