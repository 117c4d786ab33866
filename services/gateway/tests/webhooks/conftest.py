"""Fixtures of the partner-webhook tests: a migrated gateway database, a fake clock, a
stub resolver (DNS is the edge of the world here) and a recording HTTP transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from heemang_common.db import create_engine
from heemang_common.testing import DatabaseFactory, RunningService, serve
from heemang_gateway.cli import SERVICE_ROOT
from heemang_gateway.webhooks.receiver import InvalidWebhook, MemoryDedupStore, WebhookReceiver


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        self.current = max(self.current, when)


@dataclass
class StubResolver:
    """Answers from a table; records every look-up."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise OSError(f"no such host {host}")
        return list(self.answers[host])


@dataclass
class Recorder:
    """An httpx transport standing in for partner servers: records each request and answers
    with what ``respond`` says (no socket is ever opened)."""

    respond: Callable[[httpx.Request], httpx.Response] = lambda _r: httpx.Response(204)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.respond(request)

        return httpx.MockTransport(handler)


@pytest.fixture(scope="module")
async def gateway_db(databases: DatabaseFactory) -> str:
    return await databases.fresh_database("gateway", SERVICE_ROOT)


@pytest.fixture(scope="module")
async def sessionmaker(gateway_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(gateway_db)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def resolver() -> StubResolver:
    return StubResolver({"partner.example": ["93.184.216.34"]})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


class Partner:
    """A partner agency's webhook receiver on a real loopback port: it verifies every
    delivery with the reference library (standardwebhooks) and our receiver helper, and
    can be made to fail (``answer``) or be stopped and started again on the same port."""

    def __init__(self) -> None:
        from heemang_common.broker import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.secrets: list[str] = []
        self.answer: int | None = None  # a status to fail with, None = handle it
        self.location: str | None = None  # sent with a 3xx answer
        self.delay_s = 0.0  # a slow (or hanging) partner
        self.effects: list[tuple[str, dict[str, Any]]] = []  # (webhook-id, payload) taking effect
        self.received: list[dict[str, str]] = []  # headers of every request that arrived
        self.server: RunningService | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        async def effect(msg_id: str, payload: dict[str, Any]) -> None:
            self.effects.append((msg_id, payload))

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            self.received.append(headers)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.answer is not None:
                headers = {"location": self.location} if self.location else None
                return Response(status_code=self.answer, headers=headers)
            for secret in self.secrets:
                try:
                    Webhook(secret).verify(body, headers)
                    break
                except Exception:
                    continue
            else:
                return Response(status_code=401)
            receiver = WebhookReceiver(self.secrets, effect, store=self.store)
            try:
                await receiver.receive(headers, body)
            except InvalidWebhook:
                return Response(status_code=401)
            return Response(status_code=204)

        return app

    async def start(self) -> None:
        self.server = await serve("partner", self.app(), self.port)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    @property
    def store(self) -> MemoryDedupStore:
        if not hasattr(self, "_store"):
            self._store = MemoryDedupStore()
        return self._store


@pytest.fixture
async def partner() -> AsyncIterator[Partner]:
    running = Partner()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def make_partner() -> AsyncIterator[Callable[[], Partner]]:
    """Partners beyond the first (started by the test, stopped here)."""
    made: list[Partner] = []

    def make() -> Partner:
        made.append(Partner())
        return made[-1]

    yield make
    for running in made:
        await running.stop()
