"""Events resources publishes: answers to service requests, deliveries, campaigns."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from heemang_common.events import topics
from heemang_common.events.envelope import Event, EventData

_HOUSEHOLD = uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f")
_CASE = uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d")
_REQUEST = uuid.UUID("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d")
_ALLOCATION = uuid.UUID("2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f")
_AT = datetime(2026, 11, 23, 1, 5, tzinfo=UTC)

RejectionReason = Literal[
    "cap_exceeded",  # a care-SOS or per-service cap would be exceeded
    "fund_insufficient",  # the fund or designated account lacks the money
    "budget_exhausted",  # the budget line has no room left
    "unknown_service",  # the service code is not in the catalogue
    "not_eligible",  # the household does not qualify for this support
]


class AllocationApprovedData(EventData):
    allocation_id: uuid.UUID
    request_id: uuid.UUID = Field(description="The planned service that asked (casework)")
    case_id: uuid.UUID
    household_id: uuid.UUID
    amount: int = Field(ge=0, description="KRW approved")
    fund: str = Field(description="Account or budget line it will be paid from")
    approved_at: datetime


class AllocationApproved(Event):
    topic: ClassVar[str] = topics.RESOURCES_ALLOCATION
    type: Literal["heemang.resources.allocation.approved.v1"] = "heemang.resources.allocation.approved.v1"
    data: AllocationApprovedData

    @classmethod
    def example(cls) -> AllocationApproved:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject=str(_ALLOCATION),
            data=AllocationApprovedData(
                allocation_id=_ALLOCATION,
                request_id=_REQUEST,
                case_id=_CASE,
                household_id=_HOUSEHOLD,
                amount=802_000,
                fund="budget.emergency.national",
                approved_at=_AT,
            ),
        )


class AllocationRejectedData(EventData):
    request_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    reason: RejectionReason
    detail: str = Field(description="Which cap or fund, in words; never personal data")
    rejected_at: datetime


class AllocationRejected(Event):
    topic: ClassVar[str] = topics.RESOURCES_ALLOCATION
    type: Literal["heemang.resources.allocation.rejected.v1"] = "heemang.resources.allocation.rejected.v1"
    data: AllocationRejectedData

    @classmethod
    def example(cls) -> AllocationRejected:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject=str(_REQUEST),
            data=AllocationRejectedData(
                request_id=_REQUEST,
                case_id=_CASE,
                household_id=_HOUSEHOLD,
                reason="cap_exceeded",
                detail="care_sos yearly cap 1,580,000 KRW: 1,450,000 used, 240,000 asked",
                rejected_at=_AT,
            ),
        )


class DistributionDeliveredData(EventData):
    allocation_id: uuid.UUID
    request_id: uuid.UUID | None = Field(description="The planned service, for case-plan allocations")
    case_id: uuid.UUID | None
    household_id: uuid.UUID
    amount: int = Field(ge=0, description="KRW posted to the ledger")
    delivered_at: datetime


class DistributionDelivered(Event):
    """Support reached the household and was posted to the ledger."""

    topic: ClassVar[str] = topics.RESOURCES_ALLOCATION
    type: Literal["heemang.resources.distribution.delivered.v1"] = (
        "heemang.resources.distribution.delivered.v1"
    )
    data: DistributionDeliveredData

    @classmethod
    def example(cls) -> DistributionDelivered:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject=str(_ALLOCATION),
            data=DistributionDeliveredData(
                allocation_id=_ALLOCATION,
                request_id=_REQUEST,
                case_id=_CASE,
                household_id=_HOUSEHOLD,
                amount=802_000,
                delivered_at=_AT,
            ),
        )


class CampaignGoalReachedData(EventData):
    campaign_id: uuid.UUID
    goal: int = Field(ge=0, description="KRW")
    raised: int = Field(ge=0, description="KRW raised when the goal was reached")
    reached_at: datetime


class CampaignGoalReached(Event):
    """A fundraising campaign reached its goal (sent once per campaign)."""

    topic: ClassVar[str] = topics.RESOURCES_CAMPAIGN
    key_field: ClassVar[str | None] = "campaign_id"
    type: Literal["heemang.resources.campaign.goal_reached.v1"] = "heemang.resources.campaign.goal_reached.v1"
    data: CampaignGoalReachedData

    @classmethod
    def example(cls) -> CampaignGoalReached:
        """A realistic instance, for the docs and the schema tests."""
        campaign = uuid.UUID("7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")
        return cls.create(
            subject=str(campaign),
            data=CampaignGoalReachedData(
                campaign_id=campaign, goal=276_452_000, raised=276_900_000, reached_at=_AT
            ),
        )


class DonationReceivedData(EventData):
    """A gift was booked. Thin on purpose: no donor name, no designated household."""

    donation_id: uuid.UUID
    donor_id: uuid.UUID | None = Field(description="Opaque donor id; null for an anonymous gift")
    campaign_id: uuid.UUID | None
    form: Literal["cash", "goods"] = Field(description="성금 cash or 성품 goods (appraised value)")
    designation: Literal["general", "household", "programme"]
    amount: int = Field(ge=0, description="KRW (goods: appraised value)")
    received_on: date


class DonationReceived(Event):
    """A donation (성금·성품) was received and posted to the ledger."""

    topic: ClassVar[str] = topics.RESOURCES_DONATION
    key_field: ClassVar[str | None] = "donation_id"
    type: Literal["heemang.resources.donation.received.v1"] = "heemang.resources.donation.received.v1"
    data: DonationReceivedData

    @classmethod
    def example(cls) -> DonationReceived:
        """A realistic instance, for the docs and the schema tests."""
        donation = uuid.UUID("3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b")
        return cls.create(
            subject=str(donation),
            data=DonationReceivedData(
                donation_id=donation,
                donor_id=uuid.UUID("8f7e6d5c-4b3a-4291-8f0e-1d2c3b4a5968"),
                campaign_id=uuid.UUID("7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"),
                form="cash",
                designation="general",
                amount=1_000_000,
                received_on=date(2020, 12, 15),
            ),
        )


class VoucherChargedData(EventData):
    """A member shop charged a voucher wallet (the shop is owed the amount)."""

    charge_id: uuid.UUID
    programme: str = Field(description="Voucher programme code, e.g. chanchan")
    shop: str = Field(description="The member shop's partner agency id")
    amount: int = Field(ge=0, description="KRW")
    month: str = Field(description="YYYY-MM (Seoul) the charge counts in")
    charged_at: datetime


class VoucherCharged(Event):
    """A voucher charge by a member shop was posted (wallet → redeemed)."""

    topic: ClassVar[str] = topics.RESOURCES_VOUCHER
    key_field: ClassVar[str | None] = "charge_id"
    type: Literal["heemang.resources.voucher.charged.v1"] = "heemang.resources.voucher.charged.v1"
    data: VoucherChargedData

    @classmethod
    def example(cls) -> VoucherCharged:
        """A realistic instance, for the docs and the schema tests."""
        charge = uuid.UUID("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
        return cls.create(
            subject=str(charge),
            data=VoucherChargedData(
                charge_id=charge,
                programme="chanchan",
                shop="banchan-shop-7",
                amount=12_000,
                month="2026-11",
                charged_at=_AT,
            ),
        )


EVENTS: list[type[Event]] = [
    AllocationApproved,
    AllocationRejected,
    DistributionDelivered,
    CampaignGoalReached,
    DonationReceived,
    VoucherCharged,
]
