from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from heemang_common.types import IsoDate, IsoDateTime, StrictBool
from heemang_hotline.domain.consultations import Outcome


class ConsultationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: IsoDateTime | None = Field(None, description="When it happened (default: now); timezone required")
    household_id: uuid.UUID | None = None
    dong: str | None = Field(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    channel: Literal["call", "visit"] = "call"
    category: str = Field(min_length=1, max_length=40)
    outcome: Outcome
    notes: str = Field("", max_length=4000)
    urgent: StrictBool = Field(False, description="Only for referrals to intake")

    @model_validator(mode="after")
    def _referral_needs_a_dong(self) -> ConsultationCreate:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("`at` needs a timezone (e.g. +09:00)")
        if self.outcome == Outcome.referred_to_intake and not self.dong:
            raise ValueError("a referral to intake needs the caller's dong")
        return self


class ConsultationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: IsoDateTime
    household_id: uuid.UUID | None
    dong: str | None
    channel: str
    category: str
    outcome: str
    notes: str
    counsellor: str | None


class ConsultationPage(BaseModel):
    items: list[ConsultationRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")


class CategoryShareRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    category: str
    count: int
    share_pct: float


class SummaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    period: str
    total: int
    active_days: int
    per_day_average: float
    linkages: int
    by_outcome: dict[str, int]
    by_category: list[CategoryShareRead]


class StatsRead(BaseModel):
    start: IsoDate
    end: IsoDate
    overall: SummaryRead
    periods: list[SummaryRead]
