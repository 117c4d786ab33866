from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    referral_id: uuid.UUID | None
    dong: str
    stage: str
    opened_at: datetime


class CasePage(BaseModel):
    items: list[CaseRead]
