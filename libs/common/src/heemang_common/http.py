"""The app factory every service uses: lifespan, probes, metrics, problem+json, request ids."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import select

from heemang_common.auth import TokenVerifier
from heemang_common.errors import Unauthorized
from heemang_common.logging import configure_logging
from heemang_common.middleware import CorrelationMiddleware, MetricsMiddleware
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin
from heemang_common.problems import install_problem_docs, install_problem_handlers
from heemang_common.runtime import ConsumerSpec, Runtime, build_runtime
from heemang_common.settings import ServiceSettings

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

#: Extra start-up work a service needs once the runtime exists (e.g. an HTTP client).
StartupHook = Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]] | None]]


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    outbox_model: type[OutboxMixin],
    inbox_model: type[InboxMixin],
    relay_state_model: type[RelayStateMixin],
    consumers: Sequence[ConsumerSpec] = (),
    on_startup: StartupHook | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(
            settings,
            outbox_model=outbox_model,
            inbox_model=inbox_model,
            relay_state_model=relay_state_model,
            consumers=consumers,
        )
        app.state.runtime = runtime
        cleanup = await on_startup(runtime) if on_startup else None
        runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            if cleanup is not None:
                await cleanup()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.token_verifier = TokenVerifier(
        jwks=settings.auth_jwks,
        jwks_url=settings.auth_jwks_url,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway_s=settings.auth_leeway_s,
    )
    app.add_middleware(MetricsMiddleware, registry=registry)
    app.add_middleware(CorrelationMiddleware)
    install_problem_handlers(app)
    app.include_router(_ops_router(registry))
    for router in routers:
        app.include_router(router)
    install_problem_docs(app)
    return app


def _ops_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["ops"])
    gauges = {
        "outbox_pending": Gauge("outbox_pending", "Outbox rows not yet published", registry=registry),
        "outbox_published": Gauge("outbox_published", "Rows published since start", registry=registry),
        "consumer_processed": Gauge("consumer_processed", "Events handled", ["consumer"], registry=registry),
        "consumer_dead_lettered": Gauge(
            "consumer_dead_lettered", "Events sent to the DLQ", ["consumer"], registry=registry
        ),
        "consumer_lag": Gauge(
            "consumer_lag", "Messages behind the high-water mark", ["consumer"], registry=registry
        ),
    }

    @router.get("/healthz", summary="Liveness: the process answers and no consumer is wedged")
    async def healthz(request: Request) -> JSONResponse:
        # A consumer with lag and no progress for 2 x session timeout is wedged (a hung
        # handler or a blocked loop): failing liveness gets the process restarted, and the
        # inbox makes the restart safe.
        runtime: Runtime = request.app.state.runtime
        stuck = [c.name for c in runtime.consumers if c.is_stuck()]
        if stuck:
            return JSONResponse({"status": "stuck", "stuck_consumers": stuck}, 503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", summary="Readiness: database and broker reachable, no stuck consumer")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, Any] = {
            "database": await runtime.database_ok(),
            "broker": await runtime.broker_ok(),
            "consumers": {c.name: not c.is_stuck() for c in runtime.consumers},
        }
        ready = checks["database"] and checks["broker"] and all(checks["consumers"].values())
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": checks}, 200 if ready else 503
        )

    @router.get("/ops/dead-letters", summary="Events this service's consumers dead-lettered")
    async def dead_letters(
        request: Request,
        authorization: str = Header(""),
        limit: int = Query(100, ge=1, le=1000),
    ) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        expected = f"Bearer {runtime.settings.ops_token}"
        if not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise Unauthorized("the ops endpoints need `Authorization: Bearer <OPS_TOKEN>`")
        inbox = runtime.inbox_model
        stmt = (
            select(inbox.consumer, inbox.event_id, inbox.event_type, inbox.processed_at)
            .where(inbox.status == "dead_lettered")
            .order_by(inbox.processed_at.desc())
            .limit(limit)
        )
        async with runtime.sessionmaker() as session:
            rows = (await session.execute(stmt)).all()
        items = [
            {"consumer": r.consumer, "event_id": r.event_id, "type": r.event_type, "at": r.processed_at}
            for r in rows
        ]
        return JSONResponse(jsonable_encoder({"items": items}))

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            gauges["outbox_pending"].set(await runtime.relay.pending_count())
        except Exception:
            gauges["outbox_pending"].set(float("nan"))
        gauges["outbox_published"].set(runtime.relay.published_total)
        for consumer in runtime.consumers:
            gauges["consumer_processed"].labels(consumer.name).set(consumer.stats.processed)
            gauges["consumer_dead_lettered"].labels(consumer.name).set(consumer.stats.dead_lettered)
            gauges["consumer_lag"].labels(consumer.name).set(consumer.lag())
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
