"""Hotline: consultations, weekly check-in programmes, SMS notice campaigns."""

from __future__ import annotations

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_hotline.api import consultations
from heemang_hotline.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_hotline.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="Heemang hotline",
        description="Consultations, weekly check-in programmes with escalation, SMS notice campaigns.",
        routers=[consultations.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
    )
