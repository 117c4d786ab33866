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
from heemang_gateway.webhooks import context as webhooks_context
from heemang_gateway.webhooks import router as webhooks_router
from heemang_gateway.webhooks.handlers import consumer_spec as webhooks_consumer
from heemang_gateway.webhooks.ssrf import Resolver, system_resolver


def create_app(settings: Settings | None = None, *, webhook_resolver: Resolver = system_resolver) -> FastAPI:
    settings = settings or Settings()
    start_webhooks = webhooks_context.startup(settings, resolver=webhook_resolver)  # partner webhooks

    async def start_upstreams(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        client = httpx.AsyncClient(
            timeout=settings.upstream_timeout_s,
            # Idle connections expire before the services' 5 s keep-alive closes them, so a
            # request never goes out on a connection the other end is closing.
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0),
        )
        runtime.extras["upstreams"] = Upstreams(settings, client)
        stop_webhooks = await start_webhooks(runtime)

        async def cleanup() -> None:
            await client.aclose()
            await stop_webhooks()

        return cleanup

    return create_service_app(
        settings=settings,
        title="Heemang API",
        description="One API for the web and mobile frontends of the district welfare department.",
        routers=[v1.router, webhooks_router.public_router, webhooks_router.router],
        consumers=[webhooks_consumer()],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        on_startup=start_upstreams,
    )
