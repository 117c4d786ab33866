"""Events intake publishes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from heemang_common.events import topics
from heemang_common.events.envelope import Event, EventData

ReferralChannel = Literal[
    "walk_in",
    "phone",
    "volunteer",
    "red_postbox",
    "police_112",
    "partner_agency",
    "hotline",
    "checkin_missed",
    "bulk_screening",
]


class ReferralReceivedData(EventData):
    referral_id: uuid.UUID
    household_id: uuid.UUID
    dong: str = Field(description="Code of the 동 the household lives in")
    channel: ReferralChannel
    received_at: datetime


class ReferralReceived(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.received.v1"] = "heemang.intake.referral.received.v1"
    data: ReferralReceivedData


class ReferralAcceptedData(EventData):
    referral_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    channel: ReferralChannel
    priority: int = Field(ge=1, le=9, description="1 = most urgent (from 시급성 × 중요도)")
    restricted: bool = Field(False, description="Domestic-violence or otherwise restricted")
    accepted_at: datetime


class ReferralAccepted(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.accepted.v1"] = "heemang.intake.referral.accepted.v1"
    data: ReferralAcceptedData


class ReferralRejectedData(EventData):
    referral_id: uuid.UUID
    household_id: uuid.UUID
    reason: str
    rejected_at: datetime


class ReferralRejected(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.rejected.v1"] = "heemang.intake.referral.rejected.v1"
    data: ReferralRejectedData


EVENTS: list[type[Event]] = [ReferralReceived, ReferralAccepted, ReferralRejected]
