"""ASGI middleware: correlation ids in and out, request metrics."""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heemang_common.context import correlation_id_var, new_correlation_id, traceparent_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
REQUEST_ID_HEADER = b"x-request-id"


class CorrelationMiddleware:
    """Takes X-Request-ID (or X-Correlation-ID) from the caller or makes one; it goes into
    every log line and every event the request causes, and back in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = (headers.get(REQUEST_ID_HEADER) or headers.get(b"x-correlation-id") or b"").decode(
            "latin-1"
        )
        correlation_id = incoming if _SAFE_ID.match(incoming) else new_correlation_id()
        traceparent = headers.get(b"traceparent", b"").decode("latin-1")[:55] or None
        token = correlation_id_var.set(correlation_id)
        trace_token = traceparent_var.set(traceparent)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id_var.reset(token)
            traceparent_var.reset(trace_token)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.requests.labels(scope["method"], path, str(status["code"])).inc()
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - started)
