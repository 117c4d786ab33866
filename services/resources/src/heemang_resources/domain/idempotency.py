"""Idempotency keys (RELIABILITY.md T10, Stripe's and the IETF draft's semantics), pure part.

A key is remembered with a fingerprint of the request (method, path, canonical JSON body)
and, once the request completed, the exact bytes answered. A replay with the same fingerprint
gets those bytes; another fingerprint is refused (422); a duplicate while the first is still
running gets a retryable 409. Requests refused by validation or a domain rule are not
remembered, so the key may be retried once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from heemang_common.errors import Conflict, Invalid

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{8,200}$")
MIN_RETENTION = timedelta(hours=24)


class KeyState(StrEnum):
    in_flight = "in_flight"
    completed = "completed"


class MissingKey(Invalid):
    problem = "idempotency-key-missing"
    title = "Idempotency-Key header required"


class InFlight(Conflict):
    """Another request with this key is running: retry later (the IETF draft's 409)."""

    problem = "idempotency-key-in-flight"
    title = "A request with this idempotency key is still in progress"


def check_key(key: str | None) -> str:
    if key is None or not KEY_PATTERN.match(key):
        raise MissingKey(
            "Money-moving requests need an Idempotency-Key header: 8-200 characters of "
            "letters, digits and _.:- (a UUID is ideal)."
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(
        {"method": method.upper(), "path": path, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredKey:
    fingerprint: str
    state: KeyState
    claimed_at: datetime
    status: int | None
    body: str | None


def takeover_allowed(stored: StoredKey, now: datetime, lease: timedelta) -> bool:
    """An in-flight claim older than the lease belongs to a request that died before its
    commit (the claim's completion commits with the work), so it may be claimed again."""
    return stored.state is KeyState.in_flight and now - stored.claimed_at > lease
