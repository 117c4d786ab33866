from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from heemang_common.events.intake import ReferralChannel
from heemang_intake.domain.triage import Level


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID | None = Field(
        None, description="An existing household; omit to register a new one in `dong`"
    )
    dong: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    channel: ReferralChannel
    summary: str = Field("", max_length=4000)
    urgency: Level = Level.medium
    importance: Level = Level.medium


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    channel: str
    urgency: str
    importance: str
    priority: int
    status: str
    received_at: datetime
    accepted_at: datetime | None
