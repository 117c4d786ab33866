"""Gateway: auth and roles, one API for frontends, partner webhooks, the OpenAPI docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime
from heemang_gateway.api import v1
from heemang_gateway.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_gateway.settings import Settings
from heemang_gateway.upstream import Upstreams


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start_upstreams(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        client = httpx.AsyncClient(
            timeout=settings.upstream_timeout_s,
            # Idle connections expire before the services' 5 s keep-alive closes them, so a
            # request never goes out on a connection the other end is closing.
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0),
        )
        runtime.extras["upstreams"] = Upstreams(settings, client)
        return client.aclose

    return create_service_app(
        settings=settings,
        title="Heemang API",
        description="One API for the web and mobile frontends of the district welfare department.",
        routers=[v1.router],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        on_startup=start_upstreams,
    )
