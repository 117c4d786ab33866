"""The interface every SMS provider implements, and the sender that rate-limits it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Protocol

from heemang_hotline.domain.sms import Kind, TokenBucket, kind_for


@dataclass(frozen=True)
class OutboundSms:
    id: uuid.UUID  # our id: the provider echoes it in delivery reports
    to: str
    body: str

    @property
    def kind(self) -> Kind:
        return kind_for(self.body)


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    provider_message_id: str | None = None
    #: A permanent failure (bad number, rejected content) is never retried.
    permanent: bool = False
    error: str | None = None


class SmsProvider(Protocol):
    name: str

    async def send(self, message: OutboundSms) -> SendResult: ...


class RateLimitedSender:
    """Sends through a provider at no more than its configured rate."""

    def __init__(self, provider: SmsProvider, rate_per_s: float, burst: float | None = None) -> None:
        self.provider = provider
        self.bucket = TokenBucket(rate_per_s, burst if burst is not None else max(rate_per_s, 1.0))
        self._lock = asyncio.Lock()

    async def send(self, message: OutboundSms) -> SendResult:
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self.bucket.take(loop.time())
            while wait > 0:
                await asyncio.sleep(wait)
                wait = self.bucket.take(loop.time())
        return await self.provider.send(message)
