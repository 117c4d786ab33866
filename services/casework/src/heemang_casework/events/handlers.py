"""What casework does with the events it consumes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework import planning, service
from heemang_common.events import topics
from heemang_common.events.hotline import CheckinMissed
from heemang_common.events.intake import HouseholdRegistered, HouseholdUpdated, ReferralAccepted
from heemang_common.events.resources import AllocationApproved, AllocationRejected, DistributionDelivered
from heemang_common.runtime import ConsumerSpec


async def handle_referral_accepted(event: ReferralAccepted, session: AsyncSession) -> None:
    await service.open_case_for_referral(
        session,
        referral_id=event.data.referral_id,
        household_id=event.data.household_id,
        dong=event.data.dong,
        restricted=event.data.restricted,
    )


async def handle_checkin_missed(event: CheckinMissed, session: AsyncSession) -> None:
    """An alert on the household's open case (follow-up included); nothing without one —
    intake turns those check-ins into referrals."""
    await service.raise_checkin_alert(session, event_id=event.id, checkin=event.data)


async def handle_allocation_approved(event: AllocationApproved, session: AsyncSession) -> None:
    await planning.allocation_approved(session, event.data)


async def handle_allocation_rejected(event: AllocationRejected, session: AsyncSession) -> None:
    await planning.allocation_rejected(session, event.data)


async def handle_distribution_delivered(event: DistributionDelivered, session: AsyncSession) -> None:
    await planning.distribution_delivered(session, event.id, event.data)


async def handle_household_registered(event: HouseholdRegistered, session: AsyncSession) -> None:
    data = event.data
    await service.record_household(
        session,
        household_id=data.household_id,
        dong=data.dong,
        household_type=data.household_type,
        protection_status=data.protection_status,
        member_count=data.member_count,
        at=data.registered_at,
    )


async def handle_household_updated(event: HouseholdUpdated, session: AsyncSession) -> None:
    data = event.data
    await service.record_household(
        session,
        household_id=data.household_id,
        dong=data.dong,
        household_type=data.household_type,
        protection_status=data.protection_status,
        member_count=data.member_count,
        at=data.updated_at,
    )


CONSUMERS = [
    ConsumerSpec(
        name="casework",
        topics=[
            topics.INTAKE_REFERRAL,
            topics.INTAKE_HOUSEHOLD,
            topics.HOTLINE_CHECKIN,
            topics.RESOURCES_ALLOCATION,
        ],
        handlers={
            ReferralAccepted.type_name(): handle_referral_accepted,
            HouseholdRegistered.type_name(): handle_household_registered,
            HouseholdUpdated.type_name(): handle_household_updated,
            CheckinMissed.type_name(): handle_checkin_missed,
            AllocationApproved.type_name(): handle_allocation_approved,
            AllocationRejected.type_name(): handle_allocation_rejected,
            DistributionDelivered.type_name(): handle_distribution_delivered,
        },
    )
]
