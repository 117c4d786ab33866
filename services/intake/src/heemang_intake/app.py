"""Intake: referrals from every channel, the household register, screening."""

from __future__ import annotations

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_intake.api import households, imports, public, referrals, screening
from heemang_intake.crypto import RrnProtector
from heemang_intake.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_intake.domain.ratelimit import TokenBuckets
from heemang_intake.events.handlers import CONSUMERS
from heemang_intake.household_service import Register
from heemang_intake.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings=settings,
        title="Heemang intake",
        description="Referrals from every channel, the household register, emergency-welfare screening.",
        routers=[referrals.router, households.router, screening.router, imports.router, public.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=CONSUMERS,
    )
    # Pure computation from settings (no I/O resource): the keys and the 동 list.
    app.state.register = Register(protector=RrnProtector.from_settings(settings), dongs=settings.dong_codes())
    app.state.intake_settings = settings
    app.state.red_postbox_limit = TokenBuckets(settings.red_postbox_per_minute, settings.red_postbox_burst)
    return app
