"""Casework: integrated case management through its eight stages."""

from __future__ import annotations

from fastapi import FastAPI

from heemang_casework.api import alerts, cases, conferences, plans
from heemang_casework.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_casework.events.handlers import CONSUMERS
from heemang_casework.settings import Settings
from heemang_common.http import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="Heemang casework",
        description="Integrated case management: eight stages, conferences, plans, follow-ups, reports.",
        routers=[cases.router, plans.router, conferences.router, alerts.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=CONSUMERS,
    )
