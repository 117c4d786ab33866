"""What the webhook routes and consumer share at run time (kept in runtime.extras)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from heemang_common.runtime import Runtime
from heemang_gateway.settings import Settings
from heemang_gateway.webhooks.dispatcher import DispatchConfig, Dispatcher, stop_quietly
from heemang_gateway.webhooks.repository import DELIVERIES_ADDED
from heemang_gateway.webhooks.schedule import Clock, DisablePolicy, SystemClock
from heemang_gateway.webhooks.secret_box import SecretBox
from heemang_gateway.webhooks.ssrf import Resolver, system_resolver

EXTRAS_KEY = "webhooks"
log = logging.getLogger("heemang.webhooks")


@dataclass
class WebhooksContext:
    allow_private_targets: bool
    secret_overlap: timedelta
    resolver: Resolver
    clock: Clock
    dispatcher: Dispatcher
    secret_box: SecretBox


def dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        schedule_s=tuple(settings.webhook_retry_schedule_s),
        jitter=settings.webhook_retry_jitter,
        timeout_s=settings.webhook_timeout_s,
        lease_s=max(settings.webhook_lease_s, settings.webhook_timeout_s * 2),
        batch_size=settings.webhook_batch_size,
        poll_interval_s=settings.webhook_poll_interval_s,
        max_retry_after_s=settings.webhook_max_retry_after_s,
        allow_private_targets=settings.webhook_allow_private_targets,
        log_retention_s=settings.webhook_log_retention_days * 86400,
        disable=DisablePolicy(
            failing_for_s=settings.webhook_disable_after_failing_s,
            exhausted_deliveries=settings.webhook_disable_after_exhausted,
        ),
    )


def startup(
    settings: Settings, *, resolver: Resolver = system_resolver, clock: Clock | None = None
) -> Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]]]]:
    """The start-up hook: the dispatcher runs as one of the runtime's background tasks, so
    it stops (between attempts) before the engine closes."""

    async def start(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        # Redirects are never followed; the per-request timeout is set on each call.
        client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        box = SecretBox(settings.webhook_secret_key)
        if not box.sealing and settings.environment == "production":
            log.warning("GATEWAY_WEBHOOK_SECRET_KEY is not set: webhook secrets are stored unsealed")
        dispatcher = Dispatcher(
            runtime.sessionmaker,
            client,
            dispatch_config(settings),
            resolver=resolver,
            clock=clock,
            secret_box=box,
        )
        runtime.extras[EXTRAS_KEY] = WebhooksContext(
            allow_private_targets=settings.webhook_allow_private_targets,
            secret_overlap=timedelta(seconds=settings.webhook_secret_overlap_s),
            resolver=resolver,
            clock=clock or SystemClock(),
            dispatcher=dispatcher,
            secret_box=box,
        )
        session_class = runtime.sessionmaker.kw["sync_session_class"]

        def wake_after_commit(session: Session) -> None:
            if session.info.pop(DELIVERIES_ADDED, False):
                dispatcher.wake()

        event.listen(session_class, "after_commit", wake_after_commit)
        if settings.webhook_dispatcher_enabled:
            runtime.tasks.append(
                asyncio.create_task(dispatcher.run(runtime.stop_event), name="webhook-dispatcher")
            )

        async def cleanup() -> None:
            await stop_quietly(client)

        return cleanup

    return start


def get_context(request: Request) -> WebhooksContext:
    context: WebhooksContext = request.app.state.runtime.extras[EXTRAS_KEY]
    return context


WebhooksDep = Annotated[WebhooksContext, Depends(get_context)]
