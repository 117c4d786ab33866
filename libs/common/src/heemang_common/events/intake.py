"""Events intake publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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


class ReferralLinkedData(EventData):
    """A referral for a household that already had an open referral or case was linked to
    it instead of starting a second one (duplicate detection or an officer's decision)."""

    referral_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    channel: ReferralChannel
    linked_referral_id: uuid.UUID | None = Field(description="The open referral it joins, if any")
    linked_case_id: uuid.UUID | None = Field(description="The open case it joins, if any")
    matched_by: Literal["household_id", "rrn", "name_birth_address", "decision"] = Field(
        description="How the household was recognised (decision: linked by an officer)"
    )
    restricted: bool = Field(False, description="Domestic-violence or otherwise restricted")
    linked_at: datetime

    @classmethod
    def sample(cls) -> ReferralLinkedData:
        return cls(
            referral_id=uuid.UUID("2f4e6a8c-1b3d-4f5a-9c7e-0d2b4f6a8c1e"),
            household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
            dong="yeoksam1",
            channel="volunteer",
            linked_referral_id=None,
            linked_case_id=uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
            matched_by="rrn",
            restricted=False,
            linked_at=datetime(2026, 11, 23, 1, 15, tzinfo=UTC),
        )


class ReferralLinked(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.linked.v1"] = "heemang.intake.referral.linked.v1"
    data: ReferralLinkedData

    @classmethod
    def example(cls) -> ReferralLinked:
        data = ReferralLinkedData.sample()
        return cls.create(subject=data.referral_id, data=data)


class ReferralAssignedData(EventData):
    """A referral in a 동's triage queue was given to an officer (with its priority then)."""

    referral_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    assigned_to: str = Field(description="The officer's user id at the gateway")
    priority: int = Field(ge=1, le=9, description="1 = most urgent (from 시급성 × 중요도)")
    restricted: bool = False
    assigned_at: datetime


class ReferralAssigned(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.assigned.v1"] = "heemang.intake.referral.assigned.v1"
    data: ReferralAssignedData

    @classmethod
    def example(cls) -> ReferralAssigned:
        data = ReferralAssignedData(
            referral_id=uuid.UUID("2f4e6a8c-1b3d-4f5a-9c7e-0d2b4f6a8c1e"),
            household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
            dong="yeoksam1",
            assigned_to="u-1024",
            priority=2,
            assigned_at=datetime(2026, 11, 23, 1, 20, tzinfo=UTC),
        )
        return cls.create(subject=data.referral_id, data=data)


class ReferralScreenedData(EventData):
    """An emergency-welfare screening of the referral's household: which schemes it is
    eligible for under which year's policy. Amounts and figures stay in intake."""

    referral_id: uuid.UUID
    household_id: uuid.UUID
    policy_year: int
    national_eligible: bool | None = Field(description="국가형; null when an input was missing")
    seoul_eligible: bool | None = Field(description="서울형; null when an input was missing")
    care_sos: Literal["free", "self_paid", "not_eligible"] | None = Field(description="돌봄SOS")
    missing_inputs: list[str] = Field(default_factory=list)
    screened_at: datetime


class ReferralScreened(Event):
    topic: ClassVar[str] = topics.INTAKE_REFERRAL
    type: Literal["heemang.intake.referral.screened.v1"] = "heemang.intake.referral.screened.v1"
    data: ReferralScreenedData

    @classmethod
    def example(cls) -> ReferralScreened:
        data = ReferralScreenedData(
            referral_id=uuid.UUID("2f4e6a8c-1b3d-4f5a-9c7e-0d2b4f6a8c1e"),
            household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
            policy_year=2021,
            national_eligible=True,
            seoul_eligible=True,
            care_sos="free",
            missing_inputs=[],
            screened_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC),
        )
        return cls.create(subject=data.referral_id, data=data)


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
    ReferralLinked,
    ReferralAssigned,
    ReferralScreened,
    HouseholdRegistered,
    HouseholdUpdated,
]
