"""The access-log consumer: AccessRecorded events from every service into the chain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events import topics
from heemang_common.events.audit import AccessRecorded
from heemang_common.runtime import ConsumerSpec
from heemang_gateway.audit import log


async def handle_access_recorded(event: AccessRecorded, session: AsyncSession) -> None:
    await log.append(session, [event.data])


CONSUMERS = [
    ConsumerSpec(
        name="gateway-access-log",
        topics=[topics.AUDIT_ACCESS],
        handlers={AccessRecorded.type_name(): handle_access_recorded},
    )
]
