"""Fixtures of the partner-webhook tests: a migrated gateway database, a fake clock, a
stub resolver (DNS is the edge of the world here) and a recording HTTP transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.db import create_engine
from heemang_common.testing import DatabaseFactory
from heemang_gateway.cli import SERVICE_ROOT


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
