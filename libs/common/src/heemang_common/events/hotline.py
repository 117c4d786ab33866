"""Events the hotline publishes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from heemang_common.events import topics
from heemang_common.events.envelope import Event, EventData

ConsultationOutcome = Literal["answered", "information_given", "linked_to_service", "referred_to_intake"]


class ConsultationLoggedData(EventData):
    consultation_id: uuid.UUID
    household_id: uuid.UUID | None = Field(description="Set when the caller is a known household")
    category: str
    outcome: ConsultationOutcome
    at: datetime


class ConsultationLogged(Event):
    """A call or visit was logged at the welfare call centre (복지콜센터)."""

    topic: ClassVar[str] = topics.HOTLINE_CONSULTATION
    type: Literal["heemang.hotline.consultation.logged.v1"] = "heemang.hotline.consultation.logged.v1"
    data: ConsultationLoggedData


class ReferralRequestedData(EventData):
    request_id: uuid.UUID = Field(description="The consultation that asked for the referral")
    household_id: uuid.UUID | None
    dong: str = Field(description="동 code the caller lives in")
    category: str
    urgent: bool = False
    requested_at: datetime


class ReferralRequested(Event):
    """A counsellor referred the caller to intake (the caller's notes stay in hotline)."""

    topic: ClassVar[str] = topics.HOTLINE_REFERRAL
    type: Literal["heemang.hotline.referral.requested.v1"] = "heemang.hotline.referral.requested.v1"
    data: ReferralRequestedData


class CheckinRecord(EventData):
    slot_at: datetime
    outcome: Literal["ok", "asked_for_help", "no_answer", "wrong_number"]


class CheckinMissedData(EventData):
    enrolment_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    programme: str = Field(description="Programme code, e.g. hello_ansim")
    reason: Literal["missed", "asked_for_help"]
    consecutive_misses: int = Field(ge=0)
    urgent: bool
    history: list[CheckinRecord] = Field(description="The latest check-ins, oldest first")
    at: datetime


class CheckinMissed(Event):
    """A check-in that must reach a person: casework (open case) or intake (none)."""

    topic: ClassVar[str] = topics.HOTLINE_CHECKIN
    type: Literal["heemang.hotline.checkin.missed.v1"] = "heemang.hotline.checkin.missed.v1"
    data: CheckinMissedData


EVENTS: list[type[Event]] = [ConsultationLogged, ReferralRequested, CheckinMissed]
