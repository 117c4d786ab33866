from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Request, status

from heemang_common.deps import SessionDep
from heemang_hotline import service
from heemang_hotline.api.schemas import (
    ConsultationCreate,
    ConsultationPage,
    ConsultationRead,
    StatsRead,
    SummaryRead,
)
from heemang_hotline.domain import consultations as rules

router = APIRouter(prefix="/consultations", tags=["consultations"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConsultationRead)
async def log_consultation(
    body: ConsultationCreate, session: SessionDep, request: Request
) -> ConsultationRead:
    categories = request.app.state.runtime.settings.categories
    return ConsultationRead.model_validate(await service.log_consultation(session, body, categories))


@router.get("", response_model=ConsultationPage)
async def list_consultations(
    session: SessionDep, household_id: uuid.UUID | None = None, limit: int = Query(50, ge=1, le=500)
) -> ConsultationPage:
    items = await service.list_consultations(session, household_id=household_id, limit=limit)
    return ConsultationPage(items=[ConsultationRead.model_validate(c) for c in items])


@router.get("/stats", response_model=StatsRead, summary="Daily or monthly statistics (KST days)")
async def consultation_stats(
    session: SessionDep, start: date, end: date, by: Literal["day", "month"] = "day"
) -> StatsRead:
    facts = await service.facts_between(session, start, end)
    periods = rules.by_day(facts) if by == "day" else rules.by_month(facts)
    return StatsRead(
        start=start,
        end=end,
        overall=SummaryRead.model_validate(rules.summarize(f"{start}..{end}", facts)),
        periods=[SummaryRead.model_validate(p) for p in periods],
    )
