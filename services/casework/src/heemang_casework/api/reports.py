"""Reports (capability 9): the half-year report and the yearly summary, as JSON and .xlsx."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from heemang_casework import reporting
from heemang_casework.db.models import OutboxMessage
from heemang_casework.domain.reports import Period, half_year, whole_year
from heemang_casework.reports_xlsx import workbook
from heemang_common.access_log import export_reason, record_access
from heemang_common.auth import Principal, PrincipalDep, Role
from heemang_common.deps import SessionDep
from heemang_common.errors import Forbidden
from heemang_common.types import IsoDate

router = APIRouter(prefix="/reports", tags=["reports"])

#: Who reads the department's reports: the 희망복지지원단 and those who supervise or audit it.
REPORT_ROLES = (Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.AUDITOR, Role.CASE_MANAGER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESPONSES: dict[int | str, dict[str, Any]] = {403: {"description": "Your role does not read reports"}}


class CountRead(BaseModel):
    households: int = Field(description="가구")
    people: int = Field(description="명")


class FiguresRead(BaseModel):
    items: int = Field(description="건수")
    amount: int = Field(description="KRW (in kind: valued, 환가)")
    amount_thousand: int = Field(description="천원, rounded half up")


class KindFiguresRead(FiguresRead):
    households: int = Field(description="Households that received this kind")


class ServicesRead(KindFiguresRead):
    people: int
    providers: int = Field(description="Distinct provider agencies (서비스 제공기관)")
    by_kind: dict[str, KindFiguresRead] = Field(description="cash 현금, in_kind 현물, intangible 무형")
    by_domain: dict[str, FiguresRead]


class ServedRead(BaseModel):
    total: CountRead
    by_household_type: dict[str, CountRead] = Field(description="가구유형")
    by_protection_status: dict[str, CountRead] = Field(description="보호구분")
    by_dong: dict[str, CountRead] = Field(description="동별 대상자 현황")


class PeriodRead(BaseModel):
    start: IsoDate
    end: IsoDate = Field(description="The last day of the period")
    label: str


class ReportRead(BaseModel):
    """통합사례관리 결과 보고: every figure is computed from the data (docs/casework.md)."""

    kind: str = Field(description="half_year or yearly")
    period: PeriodRead
    served: ServedRead = Field(description="대상자 현황: households with a case active in the period")
    carried_over: CountRead = Field(description="기존: active at the period's start")
    new: CountRead = Field(description="신규: opened in the period (people as at intake)")
    selection: dict[str, CountRead] = Field(
        description="신규 대상자 선정: the new cases by selection outcome"
    )
    closed: CountRead = Field(description="종결")
    currently_managed: CountRead = Field(description="현재관리대상: case management open at the period's end")
    conferences: dict[str, int] = Field(description="사례회의: internal 내부, integrated 통합(외부), total")
    services: ServicesRead = Field(description="서비스 제공 및 연계 실적")


def _reader(principal: Principal) -> None:
    if principal.role not in REPORT_ROLES:
        raise Forbidden("Your role does not read the department's reports.")


async def _report(
    session: Any, request: Request, principal: Principal, period: Period, kind: str
) -> ReportRead:
    _reader(principal)
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="casework",
        record_type="report",
        record_id=f"{kind}:{period.start}",
        action="read",
    )
    return ReportRead.model_validate(await reporting.report(session, period, kind))


async def _xlsx(session: Any, request: Request, principal: Principal, period: Period, kind: str) -> Response:
    _reader(principal)
    reason = export_reason(request)  # 422 without one: downloads are logged with their reason
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="casework",
        record_type="report",
        record_id=f"{kind}:{period.start}",
        action="export",
        reason=reason,
    )
    data = ReportRead.model_validate(await reporting.report(session, period, kind))
    body = await asyncio.to_thread(workbook, data.model_dump(mode="json"))
    filename = f"casework-{kind}-{period.start}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


Year = Query(..., ge=2000, le=2100, description="Calendar year")
Half = Query(..., ge=1, le=2, description="1 = January–June (상반기), 2 = July–December (하반기)")


@router.get(
    "/half-year",
    response_model=ReportRead,
    responses=RESPONSES,
    summary="상반기/하반기 통합사례관리 결과 보고",
)
async def half_year_report(
    request: Request, session: SessionDep, principal: PrincipalDep, year: int = Year, half: int = Half
) -> ReportRead:
    return await _report(session, request, principal, half_year(year, half), "half_year")


@router.get(
    "/half-year.xlsx",
    responses={**RESPONSES, 200: {"content": {XLSX: {}}}},
    response_class=Response,
    summary="결과 보고 엑셀 — the half-year report as .xlsx (X-Export-Reason required)",
)
async def half_year_xlsx(
    request: Request, session: SessionDep, principal: PrincipalDep, year: int = Year, half: int = Half
) -> Response:
    return await _xlsx(session, request, principal, half_year(year, half), "half_year")


@router.get("/yearly", response_model=ReportRead, responses=RESPONSES, summary="연간 통합사례관리 실적 요약")
async def yearly_report(
    request: Request, session: SessionDep, principal: PrincipalDep, year: int = Year
) -> ReportRead:
    return await _report(session, request, principal, whole_year(year), "yearly")


@router.get(
    "/yearly.xlsx",
    responses={**RESPONSES, 200: {"content": {XLSX: {}}}},
    response_class=Response,
    summary="연간 실적 엑셀 — the yearly summary as .xlsx (X-Export-Reason required)",
)
async def yearly_xlsx(
    request: Request, session: SessionDep, principal: PrincipalDep, year: int = Year
) -> Response:
    return await _xlsx(session, request, principal, whole_year(year), "yearly")
