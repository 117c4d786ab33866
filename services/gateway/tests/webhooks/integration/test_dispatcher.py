"""T3 and the dispatcher's guarantees, on a migrated database with a fake clock and a
recording transport in place of partner servers: the retry schedule ±10 %, the same
webhook-id with a fresh timestamp, 410/3xx/429 handling, auto-disable with a notice,
per-endpoint order, leases across two dispatchers, and the send-time SSRF re-check."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.db import transaction
from heemang_gateway.webhooks import repository as repo
from heemang_gateway.webhooks.dispatcher import DispatchConfig, Dispatcher
from heemang_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookNotice
from heemang_gateway.webhooks.schedule import DEFAULT_SCHEDULE_S, DisablePolicy

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(autouse=True)
async def _empty(sessionmaker: Sessions) -> None:
    """Each test starts with no deliveries: a dispatcher claims whatever is due."""
    async with transaction(sessionmaker) as session:
        for model in (WebhookAttempt, WebhookNotice, WebhookDelivery, WebhookEndpoint):
            await session.execute(delete(model))


async def _endpoint(sessions: Sessions, clock: Any, url: str = "https://partner.example/hook") -> uuid.UUID:
    async with transaction(sessions) as session:
        endpoint, _ = await repo.create_endpoint(
            session,
            agency_id=f"ag-{uuid.uuid4().hex[:8]}",
            url=url,
            event_types=["case.closed.v1"],
            description="",
            created_by="test",
            now=clock.now(),
        )
        return endpoint.id


async def _enqueue(sessions: Sessions, endpoint_id: uuid.UUID, clock: Any, n: int = 1) -> list[str]:
    ids = []
    async with transaction(sessions) as session:
        for i in range(n):
            event_id = str(uuid.uuid4())
            body = f'{{"type":"case.closed.v1","n":{i}}}'.encode()
            await repo.insert_delivery(
                session,
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type="case.closed.v1",
                body=body,
                now=clock.now(),
            )
            ids.append(event_id)
    return ids


async def _delivery(sessions: Sessions, endpoint_id: uuid.UUID) -> WebhookDelivery:
    async with sessions() as session:
        stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        return (await session.execute(stmt)).scalars().first()  # type: ignore[return-value]


async def _endpoint_row(sessions: Sessions, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    async with sessions() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        return row


def _dispatcher(sessions: Sessions, recorder: Any, clock: Any, resolver: Any, **config: Any) -> Dispatcher:
    client = httpx.AsyncClient(transport=recorder.transport())
    return Dispatcher(sessions, client, DispatchConfig(**config), resolver=resolver, clock=clock)


async def _drive(dispatcher: Dispatcher, sessions: Sessions, endpoint_id: uuid.UUID, clock: Any) -> None:
    """Jump the fake clock to each next attempt until the delivery is finished."""
    for _ in range(50):
        await dispatcher.run_once()
        delivery = await _delivery(sessions, endpoint_id)
        if delivery.status != repo.PENDING:
            return
        clock.set(delivery.next_attempt_at)
    raise AssertionError("the delivery never finished")


async def test_failing_endpoint_follows_the_schedule_with_jitter(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    recorder.respond = lambda _r: httpx.Response(503)
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    start = clock.now()
    await _drive(_dispatcher(sessionmaker, recorder, clock, resolver), sessionmaker, endpoint_id, clock)

    requests = recorder.requests
    assert len(requests) == len(DEFAULT_SCHEDULE_S) == 8
    times = [int(r.headers["webhook-timestamp"]) for r in requests]
    attempt_offsets = [times[0] - int(start.timestamp())] + [b - a for a, b in itertools.pairwise(times)]
    for offset, planned in zip(attempt_offsets, DEFAULT_SCHEDULE_S, strict=True):
        assert planned * 0.9 - 1 <= offset <= planned * 1.1 + 1, (attempt_offsets, DEFAULT_SCHEDULE_S)
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # same id on every retry
    assert len(set(times)) == 8  # a new timestamp on every retry
    assert {r.content for r in requests} == {requests[0].content}  # the very same body
    delivery = await _delivery(sessionmaker, endpoint_id)
    assert delivery.status == repo.FAILED and delivery.attempts == 8 and delivery.last_status_code == 503


async def test_jitter_spreads_retries(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    """Two deliveries failing at the same instant do not retry at the same instant."""
    recorder.respond = lambda _r: httpx.Response(500)
    dispatcher = _dispatcher(sessionmaker, recorder, clock, resolver)
    endpoints = [await _endpoint(sessionmaker, clock) for _ in range(5)]
    for endpoint_id in endpoints:
        await _enqueue(sessionmaker, endpoint_id, clock)
    await dispatcher.run_once()
    clock.advance(5.6)
    await dispatcher.run_once()
    retries = [await _delivery(sessionmaker, e) for e in endpoints]
    offsets = {round((d.next_attempt_at - clock.now()).total_seconds(), 3) for d in retries}
    assert len(offsets) == 5
    assert all(270 <= o <= 330 for o in offsets)


async def test_gone_disables_the_endpoint_and_stops(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    recorder.respond = lambda _r: httpx.Response(410)
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock, n=3)
    dispatcher = _dispatcher(sessionmaker, recorder, clock, resolver)
    await dispatcher.run_once()
    for _ in range(5):
        clock.advance(40000)
        assert await dispatcher.run_once() == 0
    assert len(recorder.requests) == 1
    endpoint = await _endpoint_row(sessionmaker, endpoint_id)
    assert not endpoint.enabled and "410" in (endpoint.disabled_reason or "")
    async with sessionmaker() as session:
        statuses = Counter(
            (
                await session.execute(
                    select(WebhookDelivery.status).where(WebhookDelivery.endpoint_id == endpoint_id)
                )
            )
            .scalars()
            .all()
        )
        notices = (
            (await session.execute(select(WebhookNotice).where(WebhookNotice.endpoint_id == endpoint_id)))
            .scalars()
            .all()
        )
    assert statuses == {"failed": 1, "cancelled": 2}
    assert len(notices) == 1


@pytest.mark.parametrize("code", [301, 302, 307, 308])
async def test_redirect_is_a_failure_and_never_followed(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any, code: int
) -> None:
    recorder.respond = lambda _r: httpx.Response(code, headers={"location": "http://127.0.0.1:1/canary"})
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    await _dispatcher(sessionmaker, recorder, clock, resolver).run_once()
    assert [str(r.url.host) for r in recorder.requests] == ["93.184.216.34"]
    delivery = await _delivery(sessionmaker, endpoint_id)
    assert delivery.status == repo.PENDING and delivery.attempts == 1 and delivery.last_status_code == code


async def test_throttled_honours_retry_after(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    recorder.respond = lambda _r: httpx.Response(429, headers={"retry-after": "900"})
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    await _dispatcher(sessionmaker, recorder, clock, resolver).run_once()
    delivery = await _delivery(sessionmaker, endpoint_id)
    # The schedule says ~5 s; the partner asked for 15 min.
    assert delivery.next_attempt_at - clock.now() == timedelta(seconds=900)


async def test_timeout_is_a_failure(sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    recorder.respond = hang
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    await _dispatcher(sessionmaker, recorder, clock, resolver, timeout_s=2.0).run_once()
    delivery = await _delivery(sessionmaker, endpoint_id)
    assert delivery.attempts == 1 and delivery.last_status_code is None
    assert "no answer within 2 s" in (delivery.last_error or "")


async def test_endpoint_that_keeps_failing_is_disabled_with_a_notice(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    recorder.respond = lambda _r: httpx.Response(500)
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock, n=4)
    dispatcher = _dispatcher(
        sessionmaker,
        recorder,
        clock,
        resolver,
        schedule_s=(0, 60),
        disable=DisablePolicy(exhausted_deliveries=2),
    )
    for _ in range(10):
        await dispatcher.run_once()
        clock.advance(70)
    endpoint = await _endpoint_row(sessionmaker, endpoint_id)
    assert not endpoint.enabled and "kept failing" in (endpoint.disabled_reason or "")
    assert len(recorder.requests) == 4  # two deliveries × two attempts, then nothing
    async with sessionmaker() as session:
        notice = (
            await session.execute(select(WebhookNotice).where(WebhookNotice.endpoint_id == endpoint_id))
        ).scalar_one()
    assert "kept failing" in notice.message


async def test_failing_for_days_disables(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    recorder.respond = lambda _r: httpx.Response(500)
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    dispatcher = _dispatcher(sessionmaker, recorder, clock, resolver, schedule_s=(0, 86400 * 3, 86400 * 3))
    await dispatcher.run_once()
    clock.advance(86400 * 3.5)
    await dispatcher.run_once()
    assert (await _endpoint_row(sessionmaker, endpoint_id)).enabled  # failing for 3.5 days
    clock.advance(86400 * 3.5)
    await dispatcher.run_once()
    endpoint = await _endpoint_row(sessionmaker, endpoint_id)
    assert not endpoint.enabled and "since" in (endpoint.disabled_reason or "")


async def test_success_resets_the_failure_streak(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    answers = iter([500, 204])
    recorder.respond = lambda _r: httpx.Response(next(answers))
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock)
    await _drive(_dispatcher(sessionmaker, recorder, clock, resolver), sessionmaker, endpoint_id, clock)
    endpoint = await _endpoint_row(sessionmaker, endpoint_id)
    assert endpoint.failing_since is None and endpoint.enabled
    async with sessionmaker() as session:
        outcomes = (
            (
                await session.execute(
                    select(WebhookAttempt.outcome)
                    .join(WebhookDelivery)
                    .where(WebhookDelivery.endpoint_id == endpoint_id)
                    .order_by(WebhookAttempt.id)
                )
            )
            .scalars()
            .all()
        )
    assert outcomes == ["failed", "delivered"]


async def test_per_endpoint_order_waits_for_the_head(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    answers = iter([503, 503, 204, 204, 204])
    recorder.respond = lambda _r: httpx.Response(next(answers))
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock, n=3)
    dispatcher = _dispatcher(sessionmaker, recorder, clock, resolver)
    for _ in range(10):
        await dispatcher.run_once()
        clock.advance(400)
    sent = [r.content for r in recorder.requests]
    assert [b[-2:-1] for b in sent] == [b"0", b"0", b"0", b"1", b"2"]


async def test_two_dispatchers_never_send_twice_and_keep_order(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    endpoints = [await _endpoint(sessionmaker, clock) for _ in range(4)]
    for endpoint_id in endpoints:
        await _enqueue(sessionmaker, endpoint_id, clock, n=15)
    first = _dispatcher(sessionmaker, recorder, clock, resolver, batch_size=3)
    second = _dispatcher(sessionmaker, recorder, clock, resolver, batch_size=3)
    for _ in range(40):
        await asyncio.gather(first.run_once(), second.run_once())
    ours = [r for r in recorder.requests]
    per_id = Counter(r.headers["webhook-id"] for r in ours)
    assert len(per_id) == 60 and set(per_id.values()) == {1}
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    WebhookDelivery.endpoint_id,
                    WebhookDelivery.message_id,
                    WebhookDelivery.seq,
                    WebhookDelivery.status,
                ).where(WebhookDelivery.endpoint_id.in_(endpoints))
            )
        ).all()
    assert {r.status for r in rows} == {"delivered"}
    seq_of = {r.message_id: (r.endpoint_id, r.seq) for r in rows}
    for endpoint_id in endpoints:
        order = [
            seq_of[r.headers["webhook-id"]][1]
            for r in ours
            if seq_of[r.headers["webhook-id"]][0] == endpoint_id
        ]
        assert order == sorted(order)


async def test_dns_rebinding_is_refused_at_send_time(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    resolver.answers["rebind.example"] = ["93.184.216.34"]
    endpoint_id = await _endpoint(sessionmaker, clock, url="https://rebind.example/hook")
    await _enqueue(sessionmaker, endpoint_id, clock)
    for answer in (["127.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "10.1.2.3"], ["::1"]):
        resolver.answers["rebind.example"] = answer
        await _dispatcher(sessionmaker, recorder, clock, resolver).run_once()
        clock.advance(40000)
    assert recorder.requests == []  # not one request left the process
    delivery = await _delivery(sessionmaker, endpoint_id)
    assert delivery.attempts == 4 and "refused target" in (delivery.last_error or "")


async def test_request_goes_to_the_checked_address_with_host_and_signature(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    endpoint_id = await _endpoint(sessionmaker, clock, url="https://partner.example:8443/hook?x=1")
    await _enqueue(sessionmaker, endpoint_id, clock)
    await _dispatcher(sessionmaker, recorder, clock, resolver).run_once()
    (request,) = recorder.requests
    assert str(request.url) == "https://93.184.216.34:8443/hook?x=1"
    assert request.headers["host"] == "partner.example:8443"
    assert request.extensions.get("sni_hostname") == "partner.example"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"


async def test_loopback_canary_sees_nothing(
    sessionmaker: Sessions, clock: Any, resolver: Any, partner: Any, make_partner: Any
) -> None:
    """Real sockets this time: with the guard on, a name rebound to loopback and a loopback
    literal (an endpoint stored while the guard was off) are refused before connecting; with
    it off (development), a redirect towards the canary is a failure and is not followed."""
    canary = partner
    resolver.answers["rebind.example"] = ["127.0.0.1"]
    rebound = await _endpoint(sessionmaker, clock, url=f"http://rebind.example:{canary.port}/hook")
    literal = await _endpoint(sessionmaker, clock, url=canary.url)
    await _enqueue(sessionmaker, rebound, clock)
    await _enqueue(sessionmaker, literal, clock)
    async with httpx.AsyncClient() as real:
        guarded = Dispatcher(sessionmaker, real, DispatchConfig(), resolver=resolver, clock=clock)
        assert await guarded.run_once() == 2
    assert canary.received == []
    for endpoint_id in (rebound, literal):
        assert "refused target" in ((await _delivery(sessionmaker, endpoint_id)).last_error or "")

    redirector = make_partner()
    await redirector.start()
    redirector.answer, redirector.location = 302, canary.url
    redirecting = await _endpoint(sessionmaker, clock, url=redirector.url)
    await _enqueue(sessionmaker, redirecting, clock)
    async with httpx.AsyncClient() as real:
        development = Dispatcher(
            sessionmaker, real, DispatchConfig(allow_private_targets=True), resolver=resolver, clock=clock
        )
        await development.run_once()
    assert len(redirector.received) == 1 and canary.received == []
    assert (await _delivery(sessionmaker, redirecting)).last_status_code == 302


async def test_finished_deliveries_are_purged_after_the_retention(
    sessionmaker: Sessions, clock: Any, resolver: Any, recorder: Any
) -> None:
    endpoint_id = await _endpoint(sessionmaker, clock)
    await _enqueue(sessionmaker, endpoint_id, clock, n=2)
    await _dispatcher(sessionmaker, recorder, clock, resolver).run_once()  # the head only
    async with transaction(sessionmaker) as session:
        assert await repo.purge_finished(session, clock.now() - timedelta(days=1)) == 0
        assert await repo.purge_finished(session, clock.now() + timedelta(seconds=1)) == 1
    async with sessionmaker() as session:
        left = (await session.execute(select(WebhookDelivery.status))).scalars().all()
        attempts = (await session.execute(select(WebhookAttempt))).scalars().all()
    assert left == ["pending"] and attempts == []


async def test_a_hanging_partner_is_cut_off_at_the_timeout(
    sessionmaker: Sessions, clock: Any, resolver: Any, partner: Any
) -> None:
    partner.delay_s = 4  # hangs well beyond the timeout (short only so the teardown is quick)
    endpoint_id = await _endpoint(sessionmaker, clock, url=partner.url)
    await _enqueue(sessionmaker, endpoint_id, clock)
    async with httpx.AsyncClient() as real:
        dispatcher = Dispatcher(
            sessionmaker,
            real,
            DispatchConfig(allow_private_targets=True, timeout_s=0.5),
            resolver=resolver,
            clock=clock,
        )
        began = asyncio.get_running_loop().time()
        await dispatcher.run_once()
        took = asyncio.get_running_loop().time() - began
    assert took < 3
    delivery = await _delivery(sessionmaker, endpoint_id)
    assert delivery.status == repo.PENDING and delivery.attempts == 1
    assert "no answer within 0.5 s" in (delivery.last_error or "")
    partner.delay_s = 0
