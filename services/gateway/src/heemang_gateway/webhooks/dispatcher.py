"""The delivery loop: claims due deliveries from the database and sends them.

Everything it needs is in the database, so a restart loses nothing. Replicas share the work
without double sends: a delivery is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease
(owner + expiry) in a short transaction; the result is written only by the lease's owner.
Per-endpoint order: only the oldest pending delivery of an endpoint (its head) can be
claimed, so event n+1 waits until n is delivered or given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from heemang_common.aio import reraise_if_we_are_cancelled
from heemang_common.db import transaction
from heemang_gateway.webhooks import repository as repo
from heemang_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from heemang_gateway.webhooks.schedule import (
    Clock,
    DisablePolicy,
    Outcome,
    SystemClock,
    classify,
    retry_after_s,
    retry_delay,
)
from heemang_gateway.webhooks.secret_box import PLAIN, SecretBox
from heemang_gateway.webhooks.signing import sign_headers
from heemang_gateway.webhooks.ssrf import Resolver, UnsafeTarget, check_target, system_resolver

log = logging.getLogger("heemang.webhooks")

USER_AGENT = "Heemang-Webhooks/1"


@dataclass(frozen=True)
class DispatchConfig:
    schedule_s: Sequence[float] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    jitter: float = 0.10
    timeout_s: float = 15.0
    lease_s: float = 90.0
    batch_size: int = 50
    poll_interval_s: float = 1.0
    max_retry_after_s: float = 36000
    allow_private_targets: bool = False
    log_retention_s: float = 90 * 86400
    purge_every_s: float = 3600
    disable: DisablePolicy = field(default_factory=DisablePolicy)


@dataclass(frozen=True)
class Claim:
    seq: int
    message_id: str
    endpoint_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Response:
    """What came back from one attempt (status None: no HTTP answer)."""

    status_code: int | None
    headers: Mapping[str, str]
    error: str | None
    started_at: datetime
    webhook_timestamp: int
    duration_ms: int


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        config: DispatchConfig,
        *,
        resolver: Resolver = system_resolver,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
        owner: str | None = None,
        secret_box: SecretBox = PLAIN,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.client = client
        self.config = config
        self.resolver = resolver
        self.clock: Clock = clock or SystemClock()
        self.rand = rand
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.secret_box = secret_box
        self._wake = asyncio.Event()
        self._next_purge = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self.config.poll_interval_s
        while not stop.is_set():
            try:
                await self._purge_now_and_then()
                sent = await self.run_once()
                backoff = self.config.poll_interval_s
            except (Exception, asyncio.CancelledError) as exc:  # the loop outlives any trouble
                reraise_if_we_are_cancelled(exc)
                log.warning("webhook dispatcher iteration failed: %r", exc, exc_info=True)
                sent, backoff = 0, min(backoff * 2, 30.0)
            if not sent:
                await self._sleep(stop, await self._idle_for(backoff))

    async def _idle_for(self, longest: float) -> float:
        """Until the next head delivery falls due or its lease ends (a retry in 5 s is not
        left to the poll), at most ``longest``; new deliveries wake the loop on commit."""
        stmt = select(WebhookDelivery.next_attempt_at, WebhookDelivery.lease_until).where(
            WebhookDelivery.status == repo.PENDING, WebhookDelivery.seq == self._head()
        )
        try:
            async with self.sessionmaker() as session:
                rows = (await session.execute(stmt)).all()
        except Exception:
            return longest
        if not rows:
            return longest
        due = min(max(at, lease or at) for at, lease in rows)
        return min(longest, max((due - self.clock.now()).total_seconds(), 0.01))

    @staticmethod
    def _head() -> Any:
        """The seq of the oldest pending delivery of the row's endpoint (correlated)."""
        other = aliased(WebhookDelivery)
        return (
            select(func.min(other.seq))
            .where(other.endpoint_id == WebhookDelivery.endpoint_id, other.status == repo.PENDING)
            .scalar_subquery()
        )

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wake.clear()

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.config.purge_every_s
        before = self.clock.now() - timedelta(seconds=self.config.log_retention_s)
        async with transaction(self.sessionmaker) as session:
            purged = await repo.purge_finished(session, before)
        if purged:
            log.info("purged %d finished webhook deliveries older than the log retention", purged)

    async def run_once(self) -> int:
        """Claim the due heads and send them concurrently; the number sent."""
        claims = await self.claim()
        if claims:
            await asyncio.gather(*(self.deliver(claim) for claim in claims))
        return len(claims)

    async def claim(self) -> list[Claim]:
        now = self.clock.now()
        stmt = (
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == repo.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                and_(WebhookEndpoint.enabled.is_(True), WebhookDelivery.seq == self._head()),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
            .limit(self.config.batch_size)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        lease_until = now + timedelta(seconds=self.config.lease_s)
        claims: list[Claim] = []
        async with transaction(self.sessionmaker) as session:
            for delivery, endpoint in (await session.execute(stmt)).all():
                delivery.lease_owner = self.owner
                delivery.lease_until = lease_until
                claims.append(
                    Claim(
                        seq=delivery.seq,
                        message_id=delivery.message_id,
                        endpoint_id=endpoint.id,
                        url=endpoint.url,
                        secrets=tuple(repo.signing_secrets(endpoint, now, self.secret_box)),
                        body=delivery.body,
                    )
                )
        return claims

    async def deliver(self, claim: Claim) -> Outcome:
        response = await self.send(claim)
        return await self.record(claim, response)

    async def send(self, claim: Claim) -> Response:
        """One signed POST: a fresh webhook-timestamp, the same webhook-id and body."""
        started_at = self.clock.now()
        timestamp = int(started_at.timestamp())
        began = time.monotonic()

        def answer(status: int | None, headers: Mapping[str, str], error: str | None) -> Response:
            took = int((time.monotonic() - began) * 1000)
            return Response(status, headers, error, started_at, timestamp, took)

        try:
            target = await check_target(
                claim.url, resolver=self.resolver, allow_private=self.config.allow_private_targets
            )
        except UnsafeTarget as exc:
            return answer(None, {}, f"refused target: {exc}")
        url = httpx.URL(claim.url)
        headers = {
            **sign_headers(claim.message_id, timestamp, claim.body, claim.secrets),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": url.netloc.decode("ascii"),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            # The timeout bounds the whole exchange (httpx's applies per read, which a
            # server dripping bytes could stretch), and the answer's body is never read:
            # the status and headers are all we need, and a partner cannot make us buffer.
            async with asyncio.timeout(self.config.timeout_s):
                request = self.client.build_request(
                    "POST",
                    url.copy_with(host=target.address),  # the checked address, not a new lookup
                    content=claim.body,
                    headers=headers,
                    extensions=extensions,
                    timeout=self.config.timeout_s,
                )
                reply = await self.client.send(request, stream=True, follow_redirects=False)
                await reply.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return answer(None, {}, f"no answer within {self.config.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return answer(None, {}, f"{type(exc).__name__}: {str(exc)[:200]}")
        return answer(reply.status_code, reply.headers, None)

    async def record(self, claim: Claim, response: Response) -> Outcome:
        outcome = classify(response.status_code)
        async with transaction(self.sessionmaker) as session:
            delivery = await session.get(WebhookDelivery, claim.seq, with_for_update=True)
            if delivery is None or delivery.lease_owner != self.owner or delivery.status != repo.PENDING:
                log.info("delivery %s was taken over or cancelled meanwhile", claim.message_id)
                return outcome
            endpoint = await session.get(WebhookEndpoint, claim.endpoint_id, with_for_update=True)
            assert endpoint is not None
            now = self.clock.now()
            delivery.attempts += 1
            delivery.last_status_code = response.status_code
            delivery.last_error = response.error[:300] if response.error else None
            delivery.lease_owner = delivery.lease_until = None
            session.add(
                WebhookAttempt(
                    delivery_seq=claim.seq,
                    attempted_at=response.started_at,
                    webhook_timestamp=response.webhook_timestamp,
                    status_code=response.status_code,
                    outcome=str(outcome),
                    error=delivery.last_error,
                    duration_ms=response.duration_ms,
                )
            )
            if outcome == Outcome.DELIVERED:
                delivery.status, delivery.finished_at = repo.DELIVERED, now
                endpoint.failing_since, endpoint.exhausted_in_row = None, 0
            elif outcome == Outcome.GONE:
                delivery.status, delivery.finished_at = repo.FAILED, now
                await session.flush()
                await repo.disable_endpoint(
                    session,
                    endpoint,
                    "the endpoint answered 410 Gone",
                    now,
                    notice=f"Endpoint {endpoint.url} answered 410 Gone and was disabled.",
                )
                log.warning("webhook endpoint %s disabled: 410 Gone", endpoint.id)
            else:
                await self._retry_or_give_up(session, delivery, endpoint, outcome, response, now)
        return outcome

    async def _retry_or_give_up(
        self,
        session: AsyncSession,
        delivery: WebhookDelivery,
        endpoint: WebhookEndpoint,
        outcome: Outcome,
        response: Response,
        now: datetime,
    ) -> None:
        endpoint.failing_since = endpoint.failing_since or response.started_at
        delay = retry_delay(delivery.attempts, self.config.schedule_s, self.config.jitter, self.rand)
        if delay is not None and outcome == Outcome.THROTTLED:
            asked = retry_after_s(response.headers, now, self.config.max_retry_after_s)
            delay = max(delay, asked or 0.0)
        if delay is None:
            delivery.status, delivery.finished_at = repo.FAILED, now
            endpoint.exhausted_in_row += 1
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        if self.config.disable.should_disable(endpoint.failing_since, now, endpoint.exhausted_in_row):
            await session.flush()
            reason = (
                f"{endpoint.exhausted_in_row} deliveries in a row exhausted their retries"
                if endpoint.exhausted_in_row >= self.config.disable.exhausted_deliveries
                else f"every attempt has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
            )
            await repo.disable_endpoint(
                session,
                endpoint,
                f"kept failing: {reason}",
                now,
                notice=f"Endpoint {endpoint.url} was disabled because it kept failing ({reason}).",
            )
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)


async def stop_quietly(client: httpx.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await client.aclose()
