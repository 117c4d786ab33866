from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from heemang_common.runtime import Runtime
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import RateLimitedSender, SmsProvider
from heemang_hotline.sms.http import HttpSmsProvider
from heemang_hotline.sms.local import LocalSmsProvider


async def start_sms(settings: Settings, runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Choose the provider from settings and put a rate-limited sender in the runtime."""
    client: httpx.AsyncClient | None = None
    provider: SmsProvider
    if settings.sms_provider == "http":
        client = httpx.AsyncClient(timeout=settings.sms_timeout_s)
        provider = HttpSmsProvider(
            client, url=settings.sms_url, api_key=settings.sms_api_key, sender=settings.sms_sender
        )
    else:
        provider = LocalSmsProvider(runtime.sessionmaker)
    runtime.extras["sms"] = RateLimitedSender(provider, settings.sms_rate_per_s)

    async def stop() -> None:
        if client is not None:
            await client.aclose()

    return stop
