"""Per-user and per-partner request limits (OWASP API4: unrestricted resource consumption).

A token bucket per key in this process: with N gateway replicas a user gets at most N times
the rate, which bounds abuse without a shared store; put a shared limiter in front (or
Redis) if that matters."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from heemang_common.auth import Principal, Role
from heemang_common.errors import TooManyRequests


@dataclass
class Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    per_minute: int
    partner_per_minute: int
    buckets: dict[str, Bucket] = field(default_factory=dict)
    max_keys: int = 100_000

    def check(self, principal: Principal, now: float | None = None) -> None:
        partner = principal.role == Role.PARTNER_AGENCY
        # A partner agency shares one budget across its users: it is one integration.
        key = f"agency:{principal.agency_id}" if partner else f"user:{principal.subject}"
        rate = (self.partner_per_minute if partner else self.per_minute) / 60.0
        capacity = max(1.0, rate * 60.0 / 6)  # bursts of up to 10 seconds' worth
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets.clear()  # bounded memory; a reset only grants fresh bursts
            bucket = self.buckets[key] = Bucket(capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            wait = math.ceil((1.0 - bucket.tokens) / rate)
            raise TooManyRequests(
                f"Slow down: at most {round(rate * 60)} requests a minute.",
                headers={"Retry-After": str(wait)},
            )
        bucket.tokens -= 1.0
