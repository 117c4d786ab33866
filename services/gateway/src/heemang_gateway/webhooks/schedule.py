"""When to try a delivery again, and what a partner's answer means. Pure rules, no I/O.

The Standard Webhooks example schedule: an attempt immediately, then after 5 s, 5 min,
30 min, 2 h, 5 h, 10 h and 10 h (8 attempts, ~27 h 35 m), each delay jittered by ±10 % so
that endpoints coming back from an outage are not hit by every sender at the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

#: Delay before each attempt, in seconds (the first one: immediately).
DEFAULT_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_JITTER = 0.10


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def jittered(delay_s: float, jitter: float, rand: Callable[[], float] = random.random) -> float:
    """``delay_s`` ± ``jitter`` (a fraction), uniformly."""
    return delay_s * (1 + jitter * (2 * rand() - 1))


def retry_delay(
    attempts_made: int,
    schedule: Sequence[float],
    jitter: float,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before the next attempt after ``attempts_made`` failed ones, or None
    when the schedule is exhausted."""
    if attempts_made >= len(schedule):
        return None
    return jittered(schedule[attempts_made], jitter, rand)


class Outcome(StrEnum):
    DELIVERED = "delivered"  # 2xx
    GONE = "gone"  # 410: the partner asks us to stop; the endpoint is disabled
    THROTTLED = "throttled"  # 429: retried, not before its retry-after
    FAILED = "failed"  # anything else, 3xx included (redirects are never followed)


def classify(status_code: int | None) -> Outcome:
    if status_code is None:
        return Outcome.FAILED  # no answer: timeout, refused, unsafe target
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code == 410:
        return Outcome.GONE
    if status_code == 429:
        return Outcome.THROTTLED
    return Outcome.FAILED


def retry_after_s(headers: Mapping[str, str], now: datetime, cap_s: float) -> float | None:
    """A 429's ``retry-after`` (seconds or HTTP date) in seconds, capped; None if absent/bad."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else None
        if seconds is None:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(seconds, 0.0), cap_s)


@dataclass(frozen=True)
class DisablePolicy:
    """When an endpoint that keeps failing is switched off (with a notice)."""

    failing_for_s: float = 5 * 24 * 3600  # every attempt failed for this long
    exhausted_deliveries: int = 5  # or this many deliveries in a row gave up

    def should_disable(self, failing_since: datetime | None, now: datetime, exhausted_in_row: int) -> bool:
        if exhausted_in_row >= self.exhausted_deliveries:
            return True
        return failing_since is not None and (now - failing_since).total_seconds() >= self.failing_for_s
