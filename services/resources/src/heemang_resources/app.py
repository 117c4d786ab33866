"""Resources: donations, campaigns, the support ledger, food bank, vouchers, budgets."""

from __future__ import annotations

from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_resources.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_resources.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or Settings(),
        title="Heemang resources",
        description="Donations, campaigns, a double-entry support ledger, food bank, vouchers, "
        "budgets and the care-service catalogue.",
        routers=[],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
    )
