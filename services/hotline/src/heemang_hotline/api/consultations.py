from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, status

from heemang_common.deps import SessionDep
from heemang_common.types import IsoDate
from heemang_hotline import service
from heemang_hotline.api.access import (
    ReaderDep,
    StaffDep,
    decode_cursor,
    dong_scope,
    encode_cursor,
    log_read,
    require_in_scope,
)
from heemang_hotline.api.schemas import (
    ConsultationCreate,
    ConsultationPage,
    ConsultationRead,
    StatsRead,
    SummaryRead,
)
from heemang_hotline.domain import consultations as rules

router = APIRouter(prefix="/consultations", tags=["consultations"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsultationRead,
    summary="상담 기록: log a call or visit",
)
async def log_consultation(
    body: ConsultationCreate, session: SessionDep, request: Request, principal: StaffDep
) -> ConsultationRead:
    categories = request.app.state.runtime.settings.categories
    consultation = await service.log_consultation(session, body, categories, counsellor=principal.subject)
    return ConsultationRead.model_validate(consultation)


@router.get("", response_model=ConsultationPage, summary="상담 목록: consultations, newest first")
async def list_consultations(
    session: SessionDep,
    request: Request,
    principal: ReaderDep,
    household_id: uuid.UUID | None = Query(None, description="Only this household's consultations"),
    category: str | None = Query(None, description="Only this category"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> ConsultationPage:
    after = decode_cursor(cursor) if cursor else None
    items = await service.list_consultations(
        session,
        household_id=household_id,
        category=category,
        dongs=dong_scope(principal),
        after=after,
        limit=limit + 1,
    )
    page, more = items[:limit], len(items) > limit
    for item in page:
        if item.household_id is not None:
            log_read(
                session,
                request,
                principal,
                record_type="consultation",
                record_id=item.id,
                household_id=item.household_id,
                action="list",
            )
    return ConsultationPage(
        items=[ConsultationRead.model_validate(c) for c in page],
        next_cursor=encode_cursor(page[-1].at, page[-1].id) if more else None,
    )


@router.get("/stats", response_model=StatsRead, summary="상담 통계: daily or monthly statistics (KST days)")
async def consultation_stats(
    session: SessionDep,
    principal: ReaderDep,
    start: IsoDate,
    end: IsoDate,
    by: Literal["day", "month"] = "day",
) -> StatsRead:
    facts = await service.facts_between(session, start, end)
    periods = rules.by_day(facts) if by == "day" else rules.by_month(facts)
    return StatsRead(
        start=start,
        end=end,
        overall=SummaryRead.model_validate(rules.summarize(f"{start}..{end}", facts)),
        periods=[SummaryRead.model_validate(p) for p in periods],
    )


@router.get("/{consultation_id}", response_model=ConsultationRead, summary="상담 조회: one consultation")
async def read_consultation(
    consultation_id: uuid.UUID, session: SessionDep, request: Request, principal: ReaderDep
) -> ConsultationRead:
    consultation = await service.get_consultation(session, consultation_id)
    require_in_scope(principal, consultation.dong)
    if consultation.household_id is not None:
        log_read(
            session,
            request,
            principal,
            record_type="consultation",
            record_id=consultation.id,
            household_id=consultation.household_id,
        )
    return ConsultationRead.model_validate(consultation)
