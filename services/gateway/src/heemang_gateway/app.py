"""Gateway: auth and roles, one API for frontends, partner webhooks, the OpenAPI docs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from heemang_common.auth import TokenVerifier
from heemang_common.http import create_service_app
from heemang_common.runtime import Runtime
from heemang_gateway import live
from heemang_gateway.api import audit, auth, docs, proxy, v1, views
from heemang_gateway.audit.handlers import CONSUMERS as AUDIT_CONSUMERS
from heemang_gateway.auth.service import AuthContext
from heemang_gateway.db.models import InboxMessage, OutboxMessage, RelayState
from heemang_gateway.openapi_merge import MergedOpenApi
from heemang_gateway.ratelimit import RateLimiter
from heemang_gateway.settings import Settings
from heemang_gateway.upstream import Upstreams
from heemang_gateway.webhooks import context as webhooks_context
from heemang_gateway.webhooks import router as webhooks_router
from heemang_gateway.webhooks.handlers import consumer_spec as webhooks_consumer
from heemang_gateway.webhooks.ssrf import Resolver, system_resolver


def create_app(settings: Settings | None = None, *, webhook_resolver: Resolver = system_resolver) -> FastAPI:
    settings = settings or Settings()
    auth_context = AuthContext.from_settings(settings)
    start_webhooks = webhooks_context.startup(settings, resolver=webhook_resolver)  # partner webhooks

    async def start_upstreams(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        client = httpx.AsyncClient(
            timeout=settings.upstream_timeout_s,
            # Idle connections expire before the services' 5 s keep-alive closes them, so a
            # request never goes out on a connection the other end is closing.
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0),
        )
        upstreams = Upstreams(settings, client)
        runtime.extras["upstreams"] = upstreams
        background = [
            asyncio.create_task(app.state.merged_openapi.keep_fresh(client, runtime.stop_event)),
            asyncio.create_task(live.feed(app.state.live_hub, runtime.bootstrap_servers, runtime.stop_event)),
        ]
        stop_webhooks = await start_webhooks(runtime)

        async def stop() -> None:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await client.aclose()
            await stop_webhooks()

        return stop

    app = create_service_app(
        settings=settings,
        title="Heemang API",
        description=(
            "One API for the web and mobile frontends of the district welfare department.\n\n"
            "Sign in with `POST /auth/token` (OAuth2 password flow; `otp` for accounts with a second "
            "factor) and send the access token as `Authorization: Bearer …`. Each service's routes "
            "are under `/api/v1/<service>/…`; the services check role and scope themselves too. "
            "Events: `/asyncapi.json`. Partner webhooks: `/webhooks/event-types`."
        ),
        routers=[
            docs.router,
            auth.router,
            auth.admin,
            auth.permission_log,
            audit.router,
            v1.router,
            views.router,
            webhooks_router.public_router,
            webhooks_router.router,
            proxy.router,
        ],
        outbox_model=OutboxMessage,
        inbox_model=InboxMessage,
        relay_state_model=RelayState,
        consumers=[*AUDIT_CONSUMERS, webhooks_consumer()],
        on_startup=start_upstreams,
    )
    app.state.auth = auth_context
    app.state.view_part_timeout_s = settings.view_part_timeout_s
    app.state.live_hub = live.LiveHub()
    app.state.live_heartbeat_s = settings.live_heartbeat_s
    app.state.live_lifetime_s = float(settings.access_token_ttl_s)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_per_minute, settings.partner_rate_limit_per_minute
    )
    if origins := [o.strip() for o in settings.cors_origins.split(",") if o.strip()]:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "X-Purpose",
                "X-Export-Reason",
            ],
            expose_headers=["Retry-After", "Content-Disposition", "X-Request-Id"],
        )
    app.state.merged_openapi = MergedOpenApi(app, Upstreams.base_urls_of(settings))
    app.state.merged_openapi.install()
    # The gateway trusts its own keys (no fetch from itself) and any issuer configured inline.
    trusted = auth_context.keys.jwks()
    if settings.auth_jwks:
        trusted["keys"] += json.loads(settings.auth_jwks)["keys"]
    app.state.token_verifier = TokenVerifier(
        jwks=json.dumps(trusted),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway_s=settings.auth_leeway_s,
    )
    return app
