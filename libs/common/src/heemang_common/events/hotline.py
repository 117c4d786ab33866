"""Events the hotline publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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

    @classmethod
    def example(cls) -> ConsultationLogged:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="3b1f6c2e-9a4d-4e7b-8c1d-2f3a4b5c6d7e",
            data=ConsultationLoggedData(
                consultation_id=uuid.UUID("3b1f6c2e-9a4d-4e7b-8c1d-2f3a4b5c6d7e"),
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                category="housing",
                outcome="information_given",
                at=datetime(2026, 11, 23, 1, 15, tzinfo=UTC),
            ),
        )


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

    @classmethod
    def example(cls) -> ReferralRequested:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="3b1f6c2e-9a4d-4e7b-8c1d-2f3a4b5c6d7e",
            data=ReferralRequestedData(
                request_id=uuid.UUID("3b1f6c2e-9a4d-4e7b-8c1d-2f3a4b5c6d7e"),
                household_id=None,
                dong="yeoksam1",
                category="low_income",
                urgent=True,
                requested_at=datetime(2026, 11, 23, 1, 15, tzinfo=UTC),
            ),
        )


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

    @classmethod
    def example(cls) -> CheckinMissed:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            data=CheckinMissedData(
                enrolment_id=uuid.UUID("9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                dong="gaepo1",
                programme="hello_ansim",
                reason="missed",
                consecutive_misses=2,
                urgent=False,
                history=[
                    CheckinRecord(slot_at=datetime(2026, 11, 9, 1, 0, tzinfo=UTC), outcome="no_answer"),
                    CheckinRecord(slot_at=datetime(2026, 11, 16, 1, 0, tzinfo=UTC), outcome="no_answer"),
                ],
                at=datetime(2026, 11, 16, 3, 0, tzinfo=UTC),
            ),
        )


class SmsCampaignCompletedData(EventData):
    """Counts only: no recipient, number or message text leaves hotline."""

    campaign_id: uuid.UUID
    topic: str = Field(description="Subscription topic, e.g. rental_housing")
    recipients: int = Field(ge=0, description="Consenting subscribers targeted when sending began")
    sent: int = Field(ge=0, description="Accepted by the provider")
    failed: int = Field(ge=0, description="Refused by the provider (bad number, after retries)")
    refused: int = Field(ge=0, description="Not sent: do-not-contact")
    opted_out: int = Field(ge=0, description="Not sent: opted out before their batch")
    urgent: bool
    completed_at: datetime


class SmsCampaignCompleted(Event):
    """A notice campaign (문자 알림) finished sending: every recipient has one outcome.

    Published once per campaign (delivery reports keep arriving afterwards and show in the
    campaign's report, not in further events)."""

    topic: ClassVar[str] = topics.HOTLINE_SMS
    key_field: ClassVar[str | None] = "campaign_id"
    type: Literal["heemang.hotline.sms.campaign.completed.v1"] = "heemang.hotline.sms.campaign.completed.v1"
    data: SmsCampaignCompletedData

    @classmethod
    def example(cls) -> SmsCampaignCompleted:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a",
            data=SmsCampaignCompletedData(
                campaign_id=uuid.UUID("0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a"),
                topic="rental_housing",
                recipients=7120,
                sent=7093,
                failed=12,
                refused=3,
                opted_out=12,
                urgent=False,
                completed_at=datetime(2026, 11, 23, 2, 40, tzinfo=UTC),
            ),
        )


EVENTS: list[type[Event]] = [ConsultationLogged, ReferralRequested, CheckinMissed, SmsCampaignCompleted]
