"""Request-scoped context that flows from an HTTP request into the events it causes."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)


def current_correlation_id() -> str | None:
    return correlation_id_var.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex
