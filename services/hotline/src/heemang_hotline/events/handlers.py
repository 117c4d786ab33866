"""What hotline does with the events it consumes (consumer group ``hotline``).

- ``intake.household.registered`` / ``household.updated`` → the household-type projection;
- ``casework.case.closed`` → automatic enrolment of an elderly person living alone in the
  check-in programme (``HOTLINE_AUTO_ENROL_PROGRAMME``), waiting for a contact number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events import topics
from heemang_common.events.casework import CaseClosed
from heemang_common.events.intake import HouseholdRegistered, HouseholdUpdated
from heemang_common.runtime import ConsumerSpec
from heemang_hotline import inbound
from heemang_hotline.settings import Settings


def consumers(settings: Settings) -> list[ConsumerSpec]:
    async def on_household_registered(event: HouseholdRegistered, session: AsyncSession) -> None:
        data = event.data
        await inbound.household_seen(
            session,
            household_id=data.household_id,
            dong=data.dong,
            household_type=data.household_type,
            at=data.registered_at,
            settings=settings,
        )

    async def on_household_updated(event: HouseholdUpdated, session: AsyncSession) -> None:
        data = event.data
        await inbound.household_seen(
            session,
            household_id=data.household_id,
            dong=data.dong,
            household_type=data.household_type,
            at=data.updated_at,
            settings=settings,
        )

    async def on_case_closed(event: CaseClosed, session: AsyncSession) -> None:
        data = event.data
        await inbound.case_closed(
            session,
            case_id=data.case_id,
            household_id=data.household_id,
            dong=data.dong,
            reason=data.closure_reason,
            closed_at=data.closed_at,
            settings=settings,
        )

    handlers: dict[str, Callable[[Any, AsyncSession], Awaitable[None]]] = {
        HouseholdRegistered.type_name(): on_household_registered,
        HouseholdUpdated.type_name(): on_household_updated,
        CaseClosed.type_name(): on_case_closed,
    }
    return [
        ConsumerSpec(
            name="hotline", topics=[topics.INTAKE_HOUSEHOLD, topics.CASEWORK_CASE], handlers=handlers
        )
    ]
