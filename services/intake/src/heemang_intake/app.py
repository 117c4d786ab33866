"""Intake: referrals from every channel, the household register, screening."""

from __future__ import annotations

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_intake.api import referrals
from heemang_intake.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_intake.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="Heemang intake",
        description="Referrals from every channel, the household register, emergency-welfare screening.",
        routers=[referrals.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
    )
