"""T2: the reference receiver — a replayed delivery takes effect once, the timestamp window
is ±300 s, malformed signature headers are 401 and never 500."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from heemang_gateway.webhooks.receiver import (
    DEDUP_RETENTION,
    InvalidWebhook,
    MemoryDedupStore,
    WebhookReceiver,
)
from heemang_gateway.webhooks.schedule import DEFAULT_SCHEDULE_S
from heemang_gateway.webhooks.signing import generate_secret, sign_headers

SECRET = generate_secret()
BODY = json.dumps({"type": "case.closed.v1", "data": {"case_id": "c-1"}}).encode()


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


def _receiver(effects: list[str], clock: Clock) -> WebhookReceiver:
    async def effect(msg_id: str, payload: dict[str, Any]) -> None:
        effects.append(msg_id)

    return WebhookReceiver([SECRET], effect, clock=clock)


def _headers(clock: Clock, msg_id: str = "msg_1", skew_s: int = 0) -> dict[str, str]:
    return sign_headers(msg_id, int(clock.now().timestamp()) + skew_s, BODY, [SECRET])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_retention_covers_the_senders_retry_span() -> None:
    assert timedelta(hours=75, minutes=36) <= DEDUP_RETENTION
    assert timedelta(seconds=sum(DEFAULT_SCHEDULE_S) * 1.1) <= DEDUP_RETENTION


async def test_same_delivery_1000_times_takes_effect_once(clock: Clock) -> None:
    effects: list[str] = []
    receiver = _receiver(effects, clock)
    app = receiver.asgi()
    headers = _headers(clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
        replies = await asyncio.gather(
            *(client.post("/", content=BODY, headers=headers) for _ in range(1000))
        )
    assert {r.status_code for r in replies} == {204}
    assert effects == ["msg_1"]


async def test_late_retry_within_retention_is_still_a_duplicate(clock: Clock) -> None:
    effects: list[str] = []
    receiver = _receiver(effects, clock)
    assert await receiver.receive(_headers(clock), BODY)
    clock.current += timedelta(hours=75, minutes=36)
    assert not await receiver.receive(_headers(clock), BODY)  # re-signed with a new timestamp
    assert effects == ["msg_1"]


async def test_a_failed_effect_is_not_remembered(clock: Clock) -> None:
    calls: list[str] = []

    async def flaky(msg_id: str, payload: dict[str, Any]) -> None:
        calls.append(msg_id)
        if len(calls) == 1:
            raise RuntimeError("database down")

    receiver = WebhookReceiver([SECRET], flaky, clock=clock)
    with pytest.raises(RuntimeError):
        await receiver.receive(_headers(clock), BODY)
    assert await receiver.receive(_headers(clock), BODY)  # the sender's retry takes effect
    assert calls == ["msg_1", "msg_1"]


@pytest.mark.parametrize(("skew", "accepted"), [(-299, True), (299, True), (-301, False), (301, False)])
async def test_timestamp_tolerance(clock: Clock, skew: int, accepted: bool) -> None:
    effects: list[str] = []
    receiver = _receiver(effects, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver.asgi()), base_url="http://r"
    ) as client:
        reply = await client.post("/", content=BODY, headers=_headers(clock, f"msg_{skew}", skew))
    assert reply.status_code == (204 if accepted else 401)
    assert effects == ([f"msg_{skew}"] if accepted else [])


def _malformed(clock: Clock) -> list[dict[str, str]]:
    good = _headers(clock)
    sig = good["webhook-signature"]
    ts = good["webhook-timestamp"]
    return [
        {**good, "webhook-signature": sig.replace(",", "")},  # no comma
        {**good, "webhook-signature": "v1,@@not-base64@@"},
        {**good, "webhook-signature": "v1," + sig.split(",", 1)[1][:-4]},  # truncated base64
        {**good, "webhook-signature": "v1a," + sig.split(",", 1)[1]},  # only v1a
        {**good, "webhook-signature": "v1,"},
        {**good, "webhook-signature": ""},
        {**good, "webhook-signature": " , ,,, "},
        {**good, "webhook-signature": "v1," + "A" * 10_000},
        {**good, "webhook-timestamp": ts + ".5"},  # fractional
        {**good, "webhook-timestamp": ts + ".0"},
        {**good, "webhook-timestamp": "1e9"},
        {**good, "webhook-timestamp": "-" + ts},
        {**good, "webhook-timestamp": "nan"},
        {**good, "webhook-timestamp": ""},
        {**good, "webhook-timestamp": "9" * 40},
        {**good, "webhook-id": ""},
        {k: v for k, v in good.items() if k != "webhook-id"},
        {k: v for k, v in good.items() if k != "webhook-signature"},
        {k: v for k, v in good.items() if k != "webhook-timestamp"},
    ]


async def test_malformed_headers_are_401_never_500(clock: Clock) -> None:
    effects: list[str] = []
    receiver = _receiver(effects, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver.asgi(), raise_app_exceptions=False), base_url="http://r"
    ) as client:
        for headers in _malformed(clock):
            reply = await client.post("/", content=BODY, headers=headers)
            assert reply.status_code == 401, headers
    assert effects == []


async def test_our_receiver_agrees_with_the_reference_on_valid_deliveries(clock: Clock) -> None:
    effects: list[str] = []
    receiver = _receiver(effects, clock)
    now_headers = sign_headers("msg_ok", int(datetime.now(UTC).timestamp()), BODY, [SECRET])
    Webhook(SECRET).verify(BODY, now_headers)
    clock.current = datetime.now(UTC)
    assert await receiver.receive(now_headers, BODY)
    with pytest.raises(InvalidWebhook):
        await receiver.receive({**now_headers, "webhook-id": "msg_other"}, BODY)


def test_dedup_store_forgets_after_retention() -> None:
    store = MemoryDedupStore(retention=timedelta(hours=80))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert store.begin("a", t0)
    store.finish("a", t0, succeeded=True)
    assert not store.begin("a", t0 + timedelta(hours=79))
    assert store.begin("a", t0 + timedelta(hours=81))
