"""One contract, two adapters (CONVENTIONS 15): the local provider and the real HTTP
adapter — the latter against a stand-in SMS gateway on loopback (the edge of the world)."""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from heemang_common.broker import free_port
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.testing import serve
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.db.models import LocalSms
from heemang_hotline.sms.base import OutboundSms, SmsProvider
from heemang_hotline.sms.http import HttpSmsProvider
from heemang_hotline.sms.local import LocalSmsProvider

INVALID = "01000000000"  # the gateway rejects it: permanent
FLAKY = "01099999999"  # the gateway answers 503: transient
SLOW = "01088888888"  # the gateway hangs past the client's timeout: transient
API_KEY = "test-key"


class ProviderHarness(ABC):
    """What the contract needs from each adapter's test setup."""

    provider: SmsProvider

    @abstractmethod
    async def delivered(self) -> list[dict[str, Any]]:
        """What reached the far side, as (ref, kind, body) dicts."""


def fake_gateway(received: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/send")
    async def send(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse({"error": "unauthorised"}, 401)
        body = await request.json()
        if body["to"] == INVALID:
            return JSONResponse({"error": "invalid number"}, 400)
        if body["to"] == FLAKY:
            return JSONResponse({"error": "busy"}, 503)
        if body["to"] == SLOW:
            await asyncio.sleep(2)
        received.append(body)
        return JSONResponse({"messageId": uuid.uuid4().hex})

    return app


class HttpHarness(ProviderHarness):
    def __init__(self, url: str, received: list[dict[str, Any]], client: httpx.AsyncClient) -> None:
        self.provider = HttpSmsProvider(client, url=url, api_key=API_KEY, sender="0215880000")
        self.received = received

    async def delivered(self) -> list[dict[str, Any]]:
        return [{"ref": m["ref"], "kind": m["type"].lower(), "body": m["text"]} for m in self.received]


class LocalHarness(ProviderHarness):
    def __init__(self, sessionmaker: Any) -> None:
        self.local = LocalSmsProvider(sessionmaker)
        self.local.faults.invalid_numbers.add(INVALID)
        self.provider = self.local
        self.sessionmaker = sessionmaker

    async def delivered(self) -> list[dict[str, Any]]:
        async with self.sessionmaker() as session:
            rows = (await session.execute(select(LocalSms))).scalars().all()
        return [{"ref": str(r.id), "kind": r.kind, "body": r.body} for r in rows]


@pytest.fixture(params=["local", "http"])
async def harness(request: Any, databases: Any) -> AsyncIterator[ProviderHarness]:
    if request.param == "local":
        engine = create_engine(await databases.fresh_database("hotline", SERVICE_ROOT))
        yield LocalHarness(create_sessionmaker(engine))
        await engine.dispose()
        return
    received: list[dict[str, Any]] = []
    port = free_port()
    gateway = await serve("sms-gateway", fake_gateway(received), port)
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpHarness(f"{gateway.url}/send", received, client)
    await gateway.stop()


async def test_short_message_goes_as_sms(harness: ProviderHarness) -> None:
    message = OutboundSms(uuid.uuid4(), "01012345678", "안부 전화 드립니다. 괜찮으세요?")
    result = await harness.provider.send(message)
    assert result.accepted and result.provider_message_id
    assert await harness.delivered() == [{"ref": str(message.id), "kind": "sms", "body": message.body}]


async def test_long_message_goes_as_lms(harness: ProviderHarness) -> None:
    body = "공공임대주택 모집 안내: " + "행복주택 입주자 모집 공고가 게시되었습니다. " * 5
    result = await harness.provider.send(OutboundSms(uuid.uuid4(), "01012345678", body))
    assert result.accepted
    [sent] = await harness.delivered()
    assert sent["kind"] == "lms" and sent["body"] == body


async def test_invalid_number_is_a_permanent_failure(harness: ProviderHarness) -> None:
    result = await harness.provider.send(OutboundSms(uuid.uuid4(), INVALID, "hello"))
    assert not result.accepted and result.permanent
    assert await harness.delivered() == []


async def test_transient_failure_is_retryable() -> None:
    received: list[dict[str, Any]] = []
    gateway = await serve("sms-gateway", fake_gateway(received), free_port())
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            provider = HttpSmsProvider(
                client, url=f"{gateway.url}/send", api_key=API_KEY, sender="0215880000"
            )
            busy = await provider.send(OutboundSms(uuid.uuid4(), FLAKY, "hi"))
            assert not busy.accepted and not busy.permanent
            wrong_key = HttpSmsProvider(
                client, url=f"{gateway.url}/send", api_key="nope", sender="0215880000"
            )
            refused = await wrong_key.send(OutboundSms(uuid.uuid4(), "01012345678", "hi"))
            assert not refused.accepted and refused.permanent  # misconfiguration: do not hammer
            dead = HttpSmsProvider(
                client, url=f"http://127.0.0.1:{free_port()}/send", api_key=API_KEY, sender="x"
            )
            unreachable = await dead.send(OutboundSms(uuid.uuid4(), "01012345678", "hi"))
            assert not unreachable.accepted and not unreachable.permanent
        async with httpx.AsyncClient(timeout=0.3) as impatient:
            provider = HttpSmsProvider(impatient, url=f"{gateway.url}/send", api_key=API_KEY, sender="x")
            hung = await provider.send(OutboundSms(uuid.uuid4(), SLOW, "hi"))
            assert not hung.accepted and not hung.permanent and "Timeout" in (hung.error or "")
    finally:
        await gateway.stop()
