"""Fixtures of the hotline suite: a running service on a fresh migrated database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from heemang_common.testing import RunningService, fast_settings, serve
from heemang_hotline.app import create_app
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.db.models import OutboxMessage
from heemang_hotline.settings import Settings


@pytest.fixture
async def hotline(databases: Any, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("hotline", SERVICE_ROOT)
    settings = fast_settings(
        Settings,
        database_url=url,
        bootstrap=bootstrap,
        scheduler_enabled=False,
        campaigns_enabled=False,
        consume_events=False,
    )
    service = await serve("hotline", create_app(settings), settings.port)
    yield service
    await service.stop()


EventsOf = Callable[[RunningService, str], Awaitable[list[dict[str, Any]]]]


async def _events_of(service: RunningService, event_type: str) -> list[dict[str, Any]]:
    async with service.runtime.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return [json.loads(r.payload)["data"] for r in rows if r.event_type == event_type]


@pytest.fixture
def events_of() -> EventsOf:
    """The data of the outbox events of one type, oldest first."""
    return _events_of


def signed_headers(
    settings: Settings, body: bytes, *, msg_id: str | None = None, at: float | None = None
) -> dict[str, str]:
    """Headers the SMS gateway sends, signed by the reference Standard Webhooks library."""
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    stamp = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    webhook_id = msg_id or f"msg_{uuid.uuid4().hex}"
    signature = Webhook(settings.webhook_secret()).sign(webhook_id, stamp, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


@pytest.fixture
def sign() -> Callable[..., dict[str, str]]:
    return signed_headers
