"""RELIABILITY T2 for the SMS gateway's delivery-report callback: one effect per delivery
however often it is replayed, ±299 s of clock skew accepted and ±301 s refused, and every
malformed signature header answered 401, never 500."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from heemang_common.testing import TEST_MINT, RunningService
from heemang_hotline.db.models import CampaignSend, Subscriber, WebhookSeen


async def a_sent_message(client: httpx.AsyncClient, hotline: RunningService) -> uuid.UUID:
    made = await client.post(
        "/subscribers",
        json={"topic": "rental_housing", "phone": "010-7777-0001", "consent_at": "2026-11-01T09:00:00+09:00"},
    )
    assert made.status_code == 201, made.text
    campaign = await client.post(
        "/campaigns", json={"topic": "rental_housing", "title": "t", "body": "공고 안내"}
    )
    assert (await client.post(f"/campaigns/{campaign.json()['id']}/send")).status_code == 202
    await hotline.runtime.extras["campaigns"].tick(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    async with hotline.runtime.sessionmaker() as session:
        send = (await session.execute(select(CampaignSend))).scalar_one()
        assert send.status == "sent"
        return send.id


async def test_replayed_delivery_report_has_one_effect(
    hotline: RunningService, sign: Callable[..., dict[str, str]]
) -> None:
    # Idle pooled connections expire before uvicorn's 5 s keep-alive closes them: on a busy
    # machine a reused connection the server is closing would fail the read.
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with httpx.AsyncClient(
        base_url=hotline.url, headers=TEST_MINT.headers("supervisor"), limits=limits
    ) as client:
        ref = await a_sent_message(client, hotline)
        body = json.dumps({"ref": str(ref), "status": "delivered"}).encode()
        headers = sign(hotline.runtime.settings, body)
        semaphore = asyncio.Semaphore(20)

        async def post() -> dict[str, Any]:
            async with semaphore:
                response = await client.post("/sms/delivery-reports", content=body, headers=headers)
                assert response.status_code in (200, 409), response.text
                return dict(response.json()) if response.status_code == 200 else {"duplicate": True}

        answers = await asyncio.gather(*[post() for _ in range(1000)])
        assert sum(1 for a in answers if not a["duplicate"]) == 1
    async with hotline.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookSeen))).scalar_one() == 1
        send = await session.get(CampaignSend, ref)
        assert send is not None and send.delivery == "delivered"


async def test_clock_skew_and_malformed_signatures(
    hotline: RunningService, sign: Callable[..., dict[str, str]]
) -> None:
    settings = hotline.runtime.settings
    body = json.dumps({"ref": str(uuid.uuid4()), "status": "failed"}).encode()
    async with httpx.AsyncClient(base_url=hotline.url) as client:

        async def post(headers: dict[str, str]) -> int:
            return (await client.post("/sms/delivery-reports", content=body, headers=headers)).status_code

        now = float(int(time.time()))
        hotline.runtime.extras["wall_clock"] = lambda: now  # the receiver's clock, pinned
        for skew in (-299, 299):
            assert await post(sign(settings, body, at=now + skew)) == 200
        for skew in (-301, 301):
            assert await post(sign(settings, body, at=now + skew)) == 401
        hotline.runtime.extras.pop("wall_clock")
        good = sign(settings, body)
        malformed = [
            good | {"webhook-signature": good["webhook-signature"].replace(",", "")},  # no comma
            good | {"webhook-signature": "v1,@@@not base64@@@"},
            good | {"webhook-signature": "v1a," + good["webhook-signature"].split(",", 1)[1]},  # only v1a
            good | {"webhook-timestamp": f"{int(time.time())}.5"},  # fractional
            good | {"webhook-timestamp": "yesterday"},
            good | {"webhook-signature": ""},
            {k: v for k, v in good.items() if k != "webhook-id"},
            good | {"webhook-id": "x" * 500},
        ]
        for headers in malformed:
            response = await client.post("/sms/delivery-reports", content=body, headers=headers)
            assert response.status_code == 401, (headers, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        tampered = await client.post("/sms/delivery-reports", content=body + b" ", headers=good)
        assert tampered.status_code == 401
    async with hotline.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Subscriber))).scalar_one() == 0


async def test_seen_ids_are_kept_beyond_the_retry_span_then_purged(
    hotline: RunningService, sign: Callable[..., dict[str, str]]
) -> None:
    body = json.dumps({"ref": str(uuid.uuid4()), "status": "delivered"}).encode()
    async with httpx.AsyncClient(base_url=hotline.url) as client:
        response = await client.post(
            "/sms/delivery-reports", content=body, headers=sign(hotline.runtime.settings, body)
        )
        assert response.json() == {"duplicate": False, "effect": "unknown_message"}
    sender = hotline.runtime.extras["campaigns"]
    now = datetime.now(UTC)
    assert (
        await sender.purge_seen_webhooks(now + timedelta(hours=75, minutes=37)) == 0
    )  # a late retry is still known
    assert await sender.purge_seen_webhooks(now + timedelta(hours=97)) == 1
