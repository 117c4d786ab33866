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


HouseholdType = Literal[
    "elderly_alone",  # 독거노인
    "grandparent_grandchild",  # 조손
    "couple",  # 부부중심
    "single_parent",  # 한부모
    "single_working_age",  # 청장년 1인
    "other",
]
ProtectionStatus = Literal["basic_livelihood", "near_poor", "low_income"]  # 기초수급, 차상위, 비수급


class HouseholdRegisteredData(EventData):
    """A household entered the register. No names, RRNs, phones or addresses: consumers
    that need them read the household from intake, which masks and logs the access."""

    household_id: uuid.UUID
    dong: str = Field(description="Code of the 동 the household lives in")
    household_type: HouseholdType | None = Field(description="가구유형")
    protection_status: ProtectionStatus | None = Field(description="보호구분")
    member_count: int = Field(ge=0)
    registered_at: datetime


class HouseholdRegistered(Event):
    topic: ClassVar[str] = topics.INTAKE_HOUSEHOLD
    type: Literal["heemang.intake.household.registered.v1"] = "heemang.intake.household.registered.v1"
    data: HouseholdRegisteredData


class HouseholdUpdatedData(EventData):
    """A registered household changed; ``changed_fields`` names what, never the values."""

    household_id: uuid.UUID
    dong: str
    household_type: HouseholdType | None
    protection_status: ProtectionStatus | None
    member_count: int = Field(ge=0)
    changed_fields: list[str] = Field(description="Names of the household fields that changed")
    updated_at: datetime


class HouseholdUpdated(Event):
    topic: ClassVar[str] = topics.INTAKE_HOUSEHOLD
    type: Literal["heemang.intake.household.updated.v1"] = "heemang.intake.household.updated.v1"
    data: HouseholdUpdatedData


EVENTS: list[type[Event]] = [
    ReferralReceived,
    ReferralAccepted,
    ReferralRejected,
    HouseholdRegistered,
    HouseholdUpdated,
]
