"""The webhook fan-out consumer: events of cases become deliveries, in the inbox's
transaction (a redelivered event adds nothing: the inbox skips it, and a delivery is
unique per endpoint × event anyway)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.consumer import Handler
from heemang_common.events import Event
from heemang_common.events.casework import CaseAssigned
from heemang_common.events.envelope import utcnow
from heemang_common.runtime import ConsumerSpec
from heemang_gateway.webhooks import repository as repo
from heemang_gateway.webhooks.payloads import BY_SOURCE

CONSUMER_NAME = "gateway-webhooks"


async def handle_case_assigned(event: CaseAssigned, session: AsyncSession) -> None:
    """Update the case's agencies first, so the newly assigned agencies hear of it."""
    if await repo.record_assignment(session, event):
        await repo.fan_out(session, event, utcnow())


async def handle_case_event(event: Event, session: AsyncSession) -> None:
    await repo.fan_out(session, event, utcnow())


def consumer_spec() -> ConsumerSpec:
    handlers: dict[str, Handler] = {source: handle_case_event for source in BY_SOURCE}
    handlers[CaseAssigned.type_name()] = handle_case_assigned
    return ConsumerSpec(
        name=CONSUMER_NAME, topics=sorted({t.source.topic for t in BY_SOURCE.values()}), handlers=handlers
    )
