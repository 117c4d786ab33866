"""Notice campaigns (RELIABILITY T16): exactly one message per subscriber across a crash and
restart, opt-outs before the next batch, quiet hours, the daily cost cap, bad input."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from heemang_common.testing import TEST_MINT, RunningService, fast_settings, serve
from heemang_hotline.app import create_app
from heemang_hotline.campaign_sender import CampaignSender
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.db.models import CampaignSend, ContactRefusal, LocalSms, Subscriber
from heemang_hotline.domain.checkins import KST
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import OutboundSms, SendResult, SmsProvider

NUMBERS = itertools.count(5000_0000)
COMPLETED = "heemang.hotline.sms.campaign.completed.v1"
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=KST)
MANAGER = TEST_MINT.headers("supervisor", sub="s-1")


@pytest.fixture
async def hotline(databases: Any, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("hotline", SERVICE_ROOT)
    settings = fast_settings(
        Settings,
        database_url=url,
        bootstrap=bootstrap,
        scheduler_enabled=False,
        campaigns_enabled=False,
        consume_events=False,
        sms_rate_per_s=1_000_000.0,
        campaign_batch_size=2000,
        campaign_concurrency=128,
    )
    service = await serve("hotline", create_app(settings), settings.port)
    yield service
    await service.stop()


class Crash(BaseException):
    """The process dying mid-batch (not an Exception: nothing catches it)."""


class CrashAfter:
    name = "crash-after"

    def __init__(self, inner: SmsProvider, after: int) -> None:
        self.inner, self.after, self.sent = inner, after, 0

    async def send(self, message: OutboundSms) -> SendResult:
        result = await self.inner.send(message)  # the message left...
        self.sent += 1
        if self.sent >= self.after:
            raise Crash  # ...and the worker died before recording it
        return result


def sender_of(
    hotline: RunningService, provider: SmsProvider | None = None, **overrides: Any
) -> CampaignSender:
    runtime = hotline.runtime
    settings: Settings = runtime.settings.model_copy(update=overrides)  # type: ignore[assignment]
    return CampaignSender(
        runtime.sessionmaker, provider or runtime.extras["sms"].provider, runtime.extras["contacts"], settings
    )


async def add_subscribers(
    hotline: RunningService, n: int, topic: str = "rental_housing", **facts: Any
) -> list[uuid.UUID]:
    """Bulk-insert consenting subscribers the way the API stores them (encrypted, hashed)."""
    protector = hotline.runtime.extras["contacts"]
    rows, now = [], datetime.now(UTC)
    for _ in range(n):
        sid, phone = uuid.uuid4(), f"010{next(NUMBERS):08d}"
        rows.append(
            {
                "id": sid,
                "topic": topic,
                "phone_enc": protector.encrypt(phone, sid.bytes),
                "phone_hash": protector.lookup_hash(phone),
                "channel": "sms",
                "consent_at": now,
                "created_at": now,
                **facts,
            }
        )
    async with hotline.runtime.sessionmaker() as session, session.begin():
        for start in range(0, n, 2000):
            await session.execute(insert(Subscriber), rows[start : start + 2000])
    return [r["id"] for r in rows]


async def start_campaign(
    client: httpx.AsyncClient, body: str = "행복주택 입주자 모집 공고", **extra: Any
) -> dict[str, Any]:
    made = await client.post(
        "/campaigns", json={"topic": "rental_housing", "title": "모집", "body": body, **extra}
    )
    assert made.status_code == 201, made.text
    preview = await client.get(f"/campaigns/{made.json()['id']}/preview")
    assert preview.status_code == 200, preview.text
    started = await client.post(f"/campaigns/{made.json()['id']}/send")
    assert started.status_code == 202, started.text
    assert started.json()["recipients"] == preview.json()["recipients"]
    return dict(started.json())


async def drain(sender: CampaignSender, now: datetime, limit: int = 100) -> None:
    for _ in range(limit):
        report = await sender.tick(now)
        if report.completed or report.claimed == 0:
            return
    raise AssertionError("the campaign did not finish")


async def messages_per_subscriber(hotline: RunningService) -> dict[uuid.UUID, int]:
    async with hotline.runtime.sessionmaker() as session:
        stmt = (
            select(CampaignSend.subscriber_id, func.count(LocalSms.id))
            .join(LocalSms, LocalSms.id == CampaignSend.id)
            .group_by(CampaignSend.subscriber_id)
        )
        return {sid: int(n) for sid, n in (await session.execute(stmt)).all()}


@pytest.mark.slow
async def test_crash_mid_campaign_and_restart_gives_everyone_exactly_one_message(
    hotline: RunningService, events_of: Any
) -> None:
    subscribers = await add_subscribers(hotline, 10_000)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER, timeout=60) as client:
        campaign = await start_campaign(client)
    assert campaign["recipients"] == 10_000
    inner = hotline.runtime.extras["sms"].provider
    doomed = sender_of(hotline, CrashAfter(inner, after=3_500))
    with pytest.raises(BaseExceptionGroup) as died:
        await drain(doomed, NOON)
    assert died.group_contains(Crash)
    # the restarted process: after the dead worker's lease, it finishes the campaign
    restarted = sender_of(hotline)
    await drain(restarted, NOON + timedelta(minutes=5))
    counts = await messages_per_subscriber(hotline)
    assert len(counts) == 10_000 and set(counts.values()) == {1}
    assert set(counts) == set(subscribers)
    async with hotline.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(LocalSms))).scalar_one() == 10_000
    [event] = await events_of(hotline, COMPLETED)
    assert event["sent"] == 10_000 and event["recipients"] == 10_000
    assert (await restarted.tick(NOON + timedelta(minutes=6))).completed == []  # the event is not sent again


async def test_opt_out_mid_campaign_by_api_and_by_reply(
    hotline: RunningService, events_of: Any, sign: Callable[..., dict[str, str]]
) -> None:
    ids = await add_subscribers(hotline, 30)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        campaign = await start_campaign(client)
        sender = sender_of(hotline, campaign_batch_size=10)
        first = await sender.tick(NOON)
        assert first.sent == 10
        sent_to = set(await messages_per_subscriber(hotline))
        later = [sid for sid in ids if sid not in sent_to]
        by_api = await client.post(f"/subscribers/{later[0]}/opt-out")
        assert by_api.status_code == 200 and by_api.json()["opted_out_at"]
        async with hotline.runtime.sessionmaker() as session:
            replier = await session.get(Subscriber, later[1])
            assert replier is not None
            phone = hotline.runtime.extras["contacts"].decrypt(replier.phone_enc, replier.id.bytes)
        body = json.dumps({"from": phone, "text": "수신거부"}).encode()
        replied = await client.post(
            "/sms/inbound", content=body, headers=sign(hotline.runtime.settings, body)
        )
        assert replied.json()["effect"] == "opted_out:1", replied.text
        await drain(sender, NOON)
        report = (await client.get(f"/campaigns/{campaign['id']}")).json()
    received = await messages_per_subscriber(hotline)
    assert later[0] not in received and later[1] not in received and len(received) == 28
    assert report["status"] == "completed"
    assert report["report"]["opted_out"] == 2
    assert report["report"]["sent"] == 28
    [event] = await events_of(hotline, COMPLETED)
    assert event["opted_out"] == 2


async def test_do_not_contact_subscribers_are_refused_and_logged(hotline: RunningService) -> None:
    household = uuid.uuid4()
    await add_subscribers(hotline, 3)
    await add_subscribers(hotline, 1, household_id=household)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        flagged = await client.put(
            f"/do-not-contact/household/{household}", json={"reason": "domestic_violence"}
        )
        assert flagged.status_code == 200
        campaign = await start_campaign(client)
        counting = Counting(hotline.runtime.extras["sms"].provider)
        await drain(sender_of(hotline, counting), NOON)
        report = (await client.get(f"/campaigns/{campaign['id']}")).json()["report"]
    assert report["sent"] == 3 and report["refused"] == 1
    assert household not in {m.to for m in counting.calls} and len(counting.calls) == 3
    async with hotline.runtime.sessionmaker() as session:
        [refusal] = (await session.execute(select(ContactRefusal))).scalars().all()
    assert refusal.channel == "campaign" and refusal.household_id == household


class Counting:
    name = "counting"

    def __init__(self, inner: SmsProvider) -> None:
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    async def send(self, message: OutboundSms) -> SendResult:
        self.calls.append(message)
        return await self.inner.send(message)


async def test_quiet_hours_hold_non_urgent_campaigns(hotline: RunningService) -> None:
    await add_subscribers(hotline, 5)
    night = NOON.replace(hour=22)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        await start_campaign(client)
        sender = sender_of(hotline)
        assert (await sender.tick(night)).claimed == 0
        assert (await sender.tick(night + timedelta(hours=10))).sent == 5  # 08:00 next day
        await add_subscribers(hotline, 2, topic="disaster")
        made = await client.post(
            "/campaigns", json={"topic": "disaster", "title": "대피", "body": "대피 안내", "urgent": True}
        )
        await client.post(f"/campaigns/{made.json()['id']}/send")
        assert (await sender.tick(night)).sent == 2  # urgent: sent at night


async def test_daily_cost_cap_stops_sends_until_the_next_day(hotline: RunningService) -> None:
    await add_subscribers(hotline, 10)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        campaign = await start_campaign(client)
        sender = sender_of(hotline, sms_cost_krw=10, sms_daily_cap_krw=45)  # 4 messages a day
        first = await sender.tick(NOON)
        assert first.sent == 4 and first.deferred == 6
        for _ in range(3):
            assert (await sender.tick(NOON + timedelta(hours=1))).sent == 0  # beyond the cap: 0
        assert (await sender.tick(NOON + timedelta(days=1))).sent == 4
        report = (await client.get(f"/campaigns/{campaign['id']}")).json()["report"]
    assert report["sent"] == 8 and report["pending"] == 2
    assert len(await messages_per_subscriber(hotline)) == 8


async def test_bad_input_is_refused_and_nothing_is_sent(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        bad_phone = await client.post(
            "/subscribers",
            json={"topic": "rental_housing", "phone": "010-12", "consent_at": "2026-11-01T09:00:00+09:00"},
        )
        assert bad_phone.status_code == 422
        assert bad_phone.headers["content-type"].startswith("application/problem+json")
        landline = await client.post(
            "/subscribers",
            json={
                "topic": "rental_housing",
                "phone": "02-123-4567",
                "consent_at": "2026-11-01T09:00:00+09:00",
            },
        )
        assert landline.status_code == 422
        too_long = await client.post(
            "/campaigns", json={"topic": "rental_housing", "title": "긴 글", "body": "가" * 1001}
        )
        assert too_long.status_code == 422 and "too long" in too_long.json()["detail"]
        nobody = await client.post(
            "/campaigns", json={"topic": "rental_housing", "title": "t", "body": "안내"}
        )
        assert (await client.get(f"/campaigns/{nobody.json()['id']}/preview")).json()["recipients"] == 0
        refused = await client.post(f"/campaigns/{nobody.json()['id']}/send")
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(f"/campaigns/{nobody.json()['id']}")).json()["status"] == "draft"
        counsellor = TEST_MINT.headers("hotline_counsellor")
        assert (await client.post("/campaigns", headers=counsellor, json={})).status_code == 403
        ok = await client.post(
            "/subscribers",
            json={
                "topic": "rental_housing",
                "phone": "010-1234-5678",
                "consent_at": "2026-11-01T09:00:00+09:00",
            },
        )
        assert ok.status_code == 201 and ok.json()["phone_masked"] == "010-****-5678"
        twice = await client.post(
            "/subscribers",
            json={
                "topic": "rental_housing",
                "phone": "01012345678",
                "consent_at": "2026-11-01T09:00:00+09:00",
            },
        )
        assert twice.status_code == 409
    assert (await sender_of(hotline).tick(NOON)).claimed == 0
    async with hotline.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(LocalSms))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(CampaignSend))).scalar_one() == 0


async def test_audience_filters_narrow_the_recipients(hotline: RunningService) -> None:
    await add_subscribers(hotline, 3, dong="sinsa", birth_year=1950, household_type="elderly_alone")
    await add_subscribers(hotline, 2, dong="sinsa", birth_year=1990)
    await add_subscribers(hotline, 4, dong="gaepo1", birth_year=1955, household_type="elderly_alone")
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:

        async def reach(audience: dict[str, Any]) -> int:
            made = await client.post(
                "/campaigns",
                json={"topic": "rental_housing", "title": "t", "body": "안내", "audience": audience},
            )
            assert made.status_code == 201, made.text
            preview = (await client.get(f"/campaigns/{made.json()['id']}/preview")).json()
            return int(preview["recipients"])

        assert await reach({}) == 9
        assert await reach({"dongs": ["sinsa"]}) == 5
        assert await reach({"dongs": ["sinsa"], "age_min": 65}) == 3
        assert (
            await reach({"household_types": ["elderly_alone"], "age_max": 75}) == 4
        )  # the 1950s-born: 76 → out
        assert await reach({"age_min": 30, "age_max": 40}) == 2
        bad = await client.post(
            "/campaigns",
            json={
                "topic": "rental_housing",
                "title": "t",
                "body": "x",
                "audience": {"age_min": 70, "age_max": 60},
            },
        )
        assert bad.status_code == 422


async def test_transient_failures_back_off_permanent_ones_fail(hotline: RunningService) -> None:
    await add_subscribers(hotline, 3)
    local = hotline.runtime.extras["sms"].provider
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER) as client:
        campaign = await start_campaign(client)
        sender = sender_of(hotline)
        local.faults.fail_next = 2  # the gateway is busy for two sends
        first = await sender.tick(NOON)
        assert first.sent == 1 and first.retry == 2
        assert (await sender.tick(NOON)).claimed == 0  # backing off
        later = await sender.tick(NOON + timedelta(seconds=2))
        assert later.sent == 2 and later.completed == [uuid.UUID(campaign["id"])]
    assert set((await messages_per_subscriber(hotline)).values()) == {1}


async def test_hammering_send_starts_the_campaign_once(hotline: RunningService) -> None:
    await add_subscribers(hotline, 50)
    async with httpx.AsyncClient(base_url=hotline.url, headers=MANAGER, timeout=30) as client:
        made = await client.post("/campaigns", json={"topic": "rental_housing", "title": "t", "body": "안내"})
        path = f"/campaigns/{made.json()['id']}/send"
        answers = await asyncio.gather(*[client.post(path) for _ in range(20)])
        assert sorted(r.status_code for r in answers) == [202] + [409] * 19
        await drain(sender_of(hotline), NOON)
        report = (await client.get(f"/campaigns/{made.json()['id']}")).json()
    assert report["recipients"] == 50 and report["report"]["sent"] == 50
    assert set((await messages_per_subscriber(hotline)).values()) == {1}
