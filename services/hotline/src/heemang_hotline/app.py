"""Hotline: consultations, weekly check-in programmes, SMS notice campaigns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime
from heemang_hotline.api import campaigns, checkins, consultations, contact, sms_callbacks
from heemang_hotline.campaign_sender import CampaignSender
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_hotline.events.handlers import consumers
from heemang_hotline.scheduler import CheckinScheduler
from heemang_hotline.settings import Settings
from heemang_hotline.sms.factory import start_sms


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def on_startup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        stop_sms = await start_sms(settings, runtime)
        protector = ContactProtector.from_settings(settings)
        runtime.extras["contacts"] = protector
        scheduler = CheckinScheduler(runtime.sessionmaker, runtime.extras["sms"], protector, settings)
        runtime.extras["scheduler"] = scheduler
        if settings.scheduler_enabled:
            runtime.tasks.append(
                asyncio.create_task(scheduler.run(runtime.stop_event), name="checkin-scheduler")
            )
        sender = CampaignSender(runtime.sessionmaker, runtime.extras["sms"], protector, settings)
        runtime.extras["campaigns"] = sender
        if settings.campaigns_enabled:
            runtime.tasks.append(asyncio.create_task(sender.run(runtime.stop_event), name="campaign-sender"))
        return stop_sms

    return create_service_app(
        settings=settings,
        title="Heemang hotline",
        description="Consultations, weekly check-in programmes with escalation, SMS notice campaigns.",
        routers=[
            consultations.router,
            checkins.router,
            contact.router,
            campaigns.router,
            sms_callbacks.router,
        ],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=consumers(settings) if settings.consume_events else [],
        on_startup=on_startup,
    )
