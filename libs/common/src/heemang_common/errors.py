"""Domain errors, rendered as RFC 9457 problem+json by the app factory.

No FastAPI import here: services raise these from any layer; the edge renders them.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://heemang.example/problems/"


class DomainError(Exception):
    status: ClassVar[int] = 400
    problem: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers = headers or {}  # e.g. Retry-After on 429 and 503

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.problem


class NotFound(DomainError):
    status = 404
    problem = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    problem = "conflict"
    title = "Conflict"


class Invalid(DomainError):
    status = 422
    problem = "validation-error"
    title = "Invalid input"


class Forbidden(DomainError):
    status = 403
    problem = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    problem = "unauthorized"
    title = "Unauthorized"


class TooManyRequests(DomainError):
    status = 429
    problem = "rate-limited"
    title = "Too many requests"


class UpstreamUnavailable(DomainError):
    status = 503
    problem = "upstream-unavailable"
    title = "A service this request needs is unavailable"
