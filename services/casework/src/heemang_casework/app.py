"""Casework: integrated case management through its eight stages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from heemang_casework.api import alerts, cases, conferences, followups, plans, reports
from heemang_casework.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_casework.events.handlers import CONSUMERS
from heemang_casework.scheduler import Clock, FollowUpScheduler
from heemang_casework.settings import Settings
from heemang_common.events.envelope import utcnow
from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or Settings()

    async def start_scheduler(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        # The scheduler's task joins the runtime's: stopped with them, before the engine closes.
        if settings.followup_scheduler:
            scheduler = FollowUpScheduler(
                runtime.sessionmaker,
                clock=clock,
                interval_s=settings.followup_interval_s,
                batch_size=settings.followup_batch_size,
            )
            runtime.extras["followup_scheduler"] = scheduler
            runtime.tasks.append(
                asyncio.create_task(scheduler.run(runtime.stop_event), name="followup-scheduler")
            )
        return None

    return create_service_app(
        settings=settings,
        title="Heemang casework",
        description="Integrated case management: eight stages, conferences, plans, follow-ups, reports.",
        routers=[
            cases.router,
            plans.router,
            conferences.router,
            followups.router,
            alerts.router,
            reports.router,
        ],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=CONSUMERS,
        on_startup=start_scheduler,
    )
