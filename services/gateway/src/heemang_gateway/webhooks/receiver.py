"""A reference receiver for partners (and our tests): verify a Standard Webhooks delivery
strictly, then deduplicate by webhook-id so a retried or replayed message takes effect once.

Strict where the reference library is lenient: the timestamp must be whole seconds within
±300 s, a signature entry must be ``v1,<base64 of 32 bytes>``; anything malformed is a
verification failure (401), never an exception escaping as a 500. Deduplication keeps ids at
least as long as the sender may retry (75 h 36 m for the longest schedule partners meet),
so a late retry is still recognised.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from heemang_gateway.webhooks.schedule import Clock, SystemClock
from heemang_gateway.webhooks.signing import secret_key, signature

TOLERANCE_S = 300
#: ≥ the sender's retry span (75 h 36 m), with room for clock skew and a late replay.
DEDUP_RETENTION = timedelta(hours=80)
MAX_BODY_BYTES = 1_000_000

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_MSG_ID = re.compile(r"^[\x21-\x7e]{1,256}$")


class InvalidWebhook(Exception):
    """The delivery is not from the holder of our secret (or not fresh): answer 401."""


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Iterable[str],
    now: datetime,
    tolerance_s: int = TOLERANCE_S,
) -> str:
    """The verified webhook-id, or InvalidWebhook."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_ts = lowered.get("webhook-timestamp", "")
    raw_sigs = lowered.get("webhook-signature", "")
    if not _MSG_ID.match(msg_id):
        raise InvalidWebhook("missing or malformed webhook-id")
    if not _TIMESTAMP.match(raw_ts):
        raise InvalidWebhook("webhook-timestamp must be whole seconds since the epoch")
    timestamp = int(raw_ts)
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise InvalidWebhook("webhook-timestamp outside the tolerance")
    offered = [_v1_signature(entry) for entry in raw_sigs.split(" ")]
    candidates = [sig for sig in offered if sig is not None]
    if not candidates:
        raise InvalidWebhook("no well-formed v1 signature")
    for secret in secrets:
        expected = base64.b64decode(signature(secret_key(secret), msg_id, timestamp, body).split(",", 1)[1])
        if any(hmac.compare_digest(expected, sig) for sig in candidates):
            return msg_id
    raise InvalidWebhook("no matching signature")


def _v1_signature(entry: str) -> bytes | None:
    version, comma, encoded = entry.partition(",")
    if not comma or version != "v1":
        return None  # unknown versions are ignored, as the spec asks
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == 32 else None


class MemoryDedupStore:
    """Ids seen within the retention (one process). A real receiver keeps them in its
    database, in the transaction of the effect."""

    def __init__(self, retention: timedelta = DEDUP_RETENTION) -> None:
        self.retention = retention
        self._done: OrderedDict[str, datetime] = OrderedDict()  # oldest first
        self._in_flight: set[str] = set()

    def begin(self, msg_id: str, now: datetime) -> bool:
        """True if this id should take effect now (new and not being handled)."""
        self._expire(now)
        if msg_id in self._done or msg_id in self._in_flight:
            return False
        self._in_flight.add(msg_id)
        return True

    def finish(self, msg_id: str, now: datetime, *, succeeded: bool) -> None:
        self._in_flight.discard(msg_id)
        if succeeded:
            self._done[msg_id] = now
            self._done.move_to_end(msg_id)

    def _expire(self, now: datetime) -> None:
        horizon = now - self.retention
        while self._done:
            msg_id, at = next(iter(self._done.items()))
            if at >= horizon:
                break
            del self._done[msg_id]


Effect = Callable[[str, dict[str, Any]], Awaitable[None]]


class WebhookReceiver:
    def __init__(
        self,
        secrets: Iterable[str],
        effect: Effect,
        *,
        store: MemoryDedupStore | None = None,
        clock: Clock | None = None,
        tolerance_s: int = TOLERANCE_S,
    ) -> None:
        self.secrets = list(secrets)
        for secret in self.secrets:
            secret_key(secret)  # a bad secret fails at start, not per request
        self.effect = effect
        self.store = store or MemoryDedupStore()
        self.clock = clock or SystemClock()
        self.tolerance_s = tolerance_s

    async def receive(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Verify and apply once; True if it took effect now, False for a duplicate."""
        now = self.clock.now()
        msg_id = verify(headers, body, self.secrets, now, self.tolerance_s)
        try:
            payload = json.loads(body)
        except ValueError:
            raise InvalidWebhook("the body is not JSON") from None
        if not isinstance(payload, dict) or not self.store.begin(msg_id, now):
            return False
        succeeded = False
        try:
            await self.effect(msg_id, payload)
            succeeded = True
        finally:
            self.store.finish(msg_id, self.clock.now(), succeeded=succeeded)
        return True

    def asgi(self) -> ASGIApp:
        """An ASGI app: 204 when handled (or already handled), 401 when not verified."""

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            request = Request(scope, receive)
            response: Response
            body = await request.body()
            if request.method != "POST":
                response = JSONResponse({"detail": "POST only"}, 405)
            elif len(body) > MAX_BODY_BYTES:
                response = JSONResponse({"detail": "body too large"}, 413)
            else:
                try:
                    await self.receive(request.headers, body)
                    response = Response(status_code=204)
                except InvalidWebhook as exc:
                    response = JSONResponse({"detail": str(exc)}, 401)
            await response(scope, receive, send)

        return app
