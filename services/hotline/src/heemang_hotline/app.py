"""Hotline: consultations, weekly check-in programmes, SMS notice campaigns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime
from heemang_hotline.api import checkins, consultations
from heemang_hotline.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_hotline.settings import Settings
from heemang_hotline.sms.factory import start_sms


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def on_startup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        return await start_sms(settings, runtime)

    return create_service_app(
        settings=settings,
        title="Heemang hotline",
        description="Consultations, weekly check-in programmes with escalation, SMS notice campaigns.",
        routers=[consultations.router, checkins.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        on_startup=on_startup,
    )
