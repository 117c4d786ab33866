"""Intake's own problem types."""

from __future__ import annotations

from heemang_common.errors import DomainError


class TooManyRequests(DomainError):
    status = 429
    problem = "rate-limited"
    title = "Too many requests"
