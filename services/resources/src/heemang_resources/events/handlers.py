"""What resources does with the events it consumes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events import topics
from heemang_common.events.casework import ServiceRequested
from heemang_common.runtime import ConsumerSpec
from heemang_resources.service import allocations


async def handle_service_requested(event: ServiceRequested, session: AsyncSession) -> None:
    await allocations.decide(session, event.data)


CONSUMERS = [
    ConsumerSpec(
        name="resources",
        topics=[topics.CASEWORK_CASE],
        handlers={ServiceRequested.type_name(): handle_service_requested},
    )
]
