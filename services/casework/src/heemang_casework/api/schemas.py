from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from heemang_casework.domain.alerts import AlertKind
from heemang_casework.domain.closure import ClosureCategory, ClosureReason
from heemang_casework.domain.stages import Selection, Stage


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    referral_id: uuid.UUID | None
    dong: str
    stage: Stage
    opened_at: datetime
    selection: Selection | None = None
    selection_reason: str | None = None
    closure_reason: ClosureReason | None = None
    closure_category: ClosureCategory | None = None
    closed_at: datetime | None = None
    #: Stages the case may move to next (POST /cases/{id}/transitions).
    allowed_next: list[Stage] = []
    case_manager_id: str | None = Field(None, description="Gateway user id of the main case manager")
    agencies: list[str] = Field([], description="Partner agencies assigned to the case")
    restricted: bool = Field(False, description="Restricted (domestic violence): needs the clearance")


class CasePage(BaseModel):
    items: list[CaseRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null at the end")


_AGENCY = r"^[0-9A-Za-z_.:-]{1,100}$"
DONG_PATTERN = r"^[0-9A-Za-z_-]{1,20}$"


class AssignmentUpdate(BaseModel):
    """The whole assignment of a case (PUT replaces it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"case_manager_id": "u-2048", "dong": "sinsa", "agencies": ["gangnam-welfare-centre"]}
            ]
        },
    )

    case_manager_id: str | None = Field(
        None, min_length=1, max_length=100, description="Gateway user id of the main case manager"
    )
    dong: str = Field(pattern=DONG_PATTERN, description="Code of the 동 responsible for the case")
    agencies: list[str] = Field(
        [], max_length=20, description="Codes of the partner agencies assigned (유관기관)"
    )
    restricted: bool = Field(False, description="Restricted case (domestic violence)")

    @field_validator("agencies")
    @classmethod
    def _agency_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(_AGENCY, code):
                raise ValueError(f"not an agency code: {code!r}")
        return value


class TransitionCreate(BaseModel):
    """Move a case to another stage."""

    model_config = ConfigDict(extra="forbid")

    to: Stage
    selection: Selection | None = Field(
        None, description="Required when leaving selection: it decides where the case goes."
    )
    closure_reason: ClosureReason | None = Field(
        None, description="Required when closing (종결) from conference, planning or delivery."
    )
    reason: str | None = Field(None, max_length=500, description="Why; required for not_selected (미선정).")
    note: str | None = Field(None, max_length=4000)


class TimelineEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    kind: str
    from_stage: Stage | None
    to_stage: Stage | None
    reason: str | None
    note: str | None
    actor: str | None


class TimelinePage(BaseModel):
    items: list[TimelineEntryRead]


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    #: The case's 동 (the work list is per 동).
    dong: str
    kind: AlertKind
    urgent: bool
    #: programme, reason, consecutive_misses, enrolment_id, detected_at, history.
    details: dict[str, Any]
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


class AlertPage(BaseModel):
    items: list[AlertRead]


class AlertAcknowledge(BaseModel):
    """Take an alert off the work list."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=4000, description="What was done (call, visit …).")
