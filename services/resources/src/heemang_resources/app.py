"""Resources: donations, campaigns, the support ledger, food bank, vouchers, budgets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI

from heemang_common.db import transaction
from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime
from heemang_resources.api import (
    agreements,
    allocations,
    allowances,
    budgets,
    donations,
    foodbank,
    ledger,
    reports,
    vouchers,
)
from heemang_resources.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_resources.events.handlers import CONSUMERS
from heemang_resources.service import idempotency
from heemang_resources.settings import Settings

log = logging.getLogger("heemang.resources")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def on_startup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        task = asyncio.create_task(_purge_keys(runtime, settings), name="idempotency-purge")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return create_service_app(
        settings=settings,
        title="Heemang resources",
        description="Donations, campaigns, a double-entry support ledger, food bank, vouchers, "
        "budgets and the care-service catalogue.",
        routers=[
            ledger.router,
            allocations.router,
            donations.router,
            vouchers.router,
            budgets.router,
            allowances.router,
            foodbank.router,
            agreements.router,
            reports.router,
        ],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=CONSUMERS,
        on_startup=on_startup,
    )


async def _purge_keys(runtime: Runtime, settings: Settings) -> None:
    """Forget idempotency keys past their retention, periodically."""
    retention = timedelta(hours=settings.idempotency_retention_hours)
    while True:
        try:
            async with transaction(runtime.sessionmaker) as session:
                purged = await idempotency.purge(session, retention)
            if purged:
                log.info("purged %d expired idempotency keys", purged)
        except Exception:
            log.exception("idempotency key purge failed; will retry")
        await asyncio.sleep(settings.idempotency_purge_interval_s)
