from __future__ import annotations

import uuid
from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from heemang_common.types import IsoDateTime, StrictBool
from heemang_hotline.domain.checkins import Outcome, ProgrammeKind


class ProgrammeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    kind: ProgrammeKind


class ProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str
    active: StrictBool


class EnrolmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programme_id: uuid.UUID
    household_id: uuid.UUID
    dong: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    window_start: time = Field(description="KST")
    window_end: time = Field(description="KST")
    person_id: uuid.UUID | None = Field(None, description="Intake's person id, when known")
    phone: str | None = Field(
        None,
        max_length=20,
        description="Contact number; stored encrypted, shown masked. Without one the enrolment "
        "waits for a counsellor (needs_contact_number).",
        examples=["010-1234-5678"],
    )


class ContactSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=20, description="Contact number", examples=["010-1234-5678"])


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    household_id: uuid.UUID
    person_id: uuid.UUID | None
    dong: str
    weekday: int
    window_start: time
    window_end: time
    active: StrictBool
    source: str = Field(description="manual | case_closed")
    enrolled_at: IsoDateTime
    phone_masked: str | None = Field(description="The contact number, masked (010-****-5678)")
    needs_contact_number: StrictBool = Field(description="No number yet: a counsellor must add one")


class EnrolmentPage(BaseModel):
    items: list[EnrolmentRead]
    next_cursor: str | None


class CheckinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_at: IsoDateTime = Field(description="The slot's start, with its timezone")
    outcome: Outcome
    attempts: int = Field(1, ge=1, le=10)

    @field_validator("slot_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("slot_at needs a timezone (e.g. +09:00)")
        return value


class CheckinRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slot_at: IsoDateTime
    outcome: str
    attempts: int
    escalated: StrictBool
    recorded_at: IsoDateTime


class CheckinPage(BaseModel):
    items: list[CheckinRead]


class CallRead(BaseModel):
    """The scheduler's record of one automated slot."""

    model_config = ConfigDict(from_attributes=True)

    slot_at: IsoDateTime
    window_end_at: IsoDateTime
    status: str = Field(description="planned | calling | awaiting | done | refused | skipped")
    attempts: int
    outcome: str | None
    note: str | None = Field(description="Why skipped or refused, or the last transient error")


class CallPage(BaseModel):
    items: list[CallRead]
