from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events import Event
from heemang_common.outbox import add_event
from heemang_hotline.db.models import OutboxMessage


def publish(session: AsyncSession, event: Event) -> None:
    add_event(session, OutboxMessage, event)
