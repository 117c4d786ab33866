"""Faults the event bus must survive (issue: foundation; RELIABILITY T8 in part).

Real services on real ports, real PostgreSQL (under CI), a broker of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from heemang_common.events.envelope import utcnow
from heemang_common.testing import eventually


async def _rows(stack: Any, service: str, model: Any) -> list[Any]:
    async with stack.running[service].runtime.sessionmaker() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


async def _case_count(stack: Any) -> int:
    from heemang_casework.db.models import Case

    async with stack.running["casework"].runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def _post_referral(client: httpx.AsyncClient, household_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"dong": "yeoksam1", "channel": "phone", "accept": True}
    if household_id:
        body["household_id"] = household_id
    response = await client.post("/referrals", json=body)
    # The API must keep accepting work while the broker is down: events wait in the outbox.
    assert response.status_code == 201, f"referral refused: {response.status_code} {response.text}"
    return dict(response.json())


async def test_broker_outage_loses_nothing(make_stack: Any, private_broker: Any) -> None:
    """Referrals keep coming while the broker crashes and a new, empty incarnation starts:
    every referral becomes exactly one case, and the replayed events already consumed are
    absorbed by casework's inbox. (Per-household order across such a crash is T6's subject,
    libs/common/tests/reliability; here each referral is a new household, since a second
    referral for a household with an open case is linked to it, not opened again.)"""
    from heemang_casework.db.models import OutboxMessage as CaseworkOutbox

    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    before, streams_n, per_stream = 5, 5, 15
    referral_ids: list[str] = []

    async with stack.client("intake") as intake:
        referral_ids += [(await _post_referral(intake, None))["id"] for _ in range(before)]

        async def first_cases_open() -> bool:
            return await _case_count(stack) == before

        # Consumed before the crash: their replay must be absorbed by casework's inbox.
        await eventually(first_cases_open, timeout_s=30)

        received_at: list[Any] = []

        async def stream() -> None:
            for _ in range(per_stream):
                referral_ids.append((await _post_referral(intake, None))["id"])
                received_at.append(utcnow())
                await asyncio.sleep(0.3)

        streams = asyncio.gather(*(stream() for _ in range(streams_n)))
        await asyncio.sleep(0.6)
        outage_started = utcnow()
        await private_broker.kill()  # the broker crashes while referrals keep arriving
        await asyncio.sleep(1.5)
        outage_ended = utcnow()
        # What `make run` does: a new, empty broker incarnation; the relays notice it and
        # replay their outbox window into it before publishing anything new.
        await private_broker.restart()
        await streams

    total = before + streams_n * per_stream
    assert len(set(referral_ids)) == total
    during = [t for t in received_at if outage_started <= t <= outage_ended]
    after = [t for t in received_at if t > outage_ended]
    assert during and after and received_at[0] < outage_started, "referrals span the outage"

    async def all_cases_opened() -> bool:
        return await _case_count(stack) >= total

    await eventually(all_cases_opened, timeout_s=90)
    await asyncio.sleep(1.0)  # let redelivered duplicates arrive: they must change nothing
    assert await _case_count(stack) == total

    rows = await _rows(stack, "casework", CaseworkOutbox)
    opened = [
        json.loads(r.payload)["data"] for r in rows if r.event_type == "heemang.casework.case.opened.v1"
    ]
    assert sorted(d["referral_id"] for d in opened) == sorted(referral_ids), "one case.opened per referral"
    assert stack.running["casework"].runtime.consumers[0].stats.duplicates >= before


async def test_event_republished_by_hand_has_one_effect(make_stack: Any, private_broker: Any) -> None:
    from heemang_intake.db.models import OutboxMessage as IntakeOutbox

    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    async with stack.client("intake") as intake:
        referral = await _post_referral(intake, None)

    async def case_open() -> bool:
        return await _case_count(stack) == 1

    await eventually(case_open, timeout_s=30)
    accepted = next(r for r in await _rows(stack, "intake", IntakeOutbox) if "accepted" in r.event_type)
    producer = AIOKafkaProducer(bootstrap_servers=private_broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait(accepted.topic, accepted.payload.encode(), key=accepted.key.encode())
    finally:
        await producer.stop()
    consumer = stack.running["casework"].runtime.consumers[0]
    duplicates_before = consumer.stats.duplicates

    async def duplicates_absorbed() -> bool:
        return consumer.stats.duplicates >= duplicates_before + 3

    await eventually(duplicates_absorbed, timeout_s=60)  # generous: CI runs three test workers
    assert await _case_count(stack) == 1
    assert referral["status"] == "accepted"


async def test_failing_event_goes_to_dlq_and_the_next_is_processed(
    make_stack: Any, private_broker: Any, monkeypatch: Any
) -> None:
    from heemang_casework import service as casework_service

    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    poisoned_household = str(uuid.uuid4())
    real_open = casework_service.open_case_for_referral

    async def open_or_fail(session: Any, **kwargs: Any) -> Any:
        if str(kwargs["household_id"]) == poisoned_household:
            raise RuntimeError("simulated handler bug")
        return await real_open(session, **kwargs)

    monkeypatch.setattr(casework_service, "open_case_for_referral", open_or_fail)

    # A household registered directly, so the poisoned referral's household id is known.
    from heemang_intake.db.models import Household

    async with stack.running["intake"].runtime.sessionmaker() as session, session.begin():
        session.add(Household(id=uuid.UUID(poisoned_household), dong="yeoksam1", created_at=utcnow()))

    async with stack.client("intake") as intake:
        poisoned = await _post_referral(intake, poisoned_household)
        healthy = await _post_referral(intake, None)

    from heemang_casework.db.models import Case

    async def healthy_case() -> bool:
        async with stack.running["casework"].runtime.sessionmaker() as session:
            stmt = select(Case).where(Case.referral_id == uuid.UUID(healthy["id"]))
            return (await session.execute(stmt)).first() is not None

    await eventually(healthy_case, timeout_s=30)
    dlq = AIOKafkaConsumer(
        "heemang.intake.referral.dlq",
        bootstrap_servers=private_broker.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"dlq-reader-{uuid.uuid4().hex[:6]}",
    )
    await dlq.start()
    try:
        found = None
        deadline = asyncio.get_running_loop().time() + 30
        while found is None and asyncio.get_running_loop().time() < deadline:
            batch = await dlq.getmany(timeout_ms=500)
            for message in (m for ms in batch.values() for m in ms):
                envelope = json.loads(message.value)
                if envelope["data"]["referral_id"] == poisoned["id"]:
                    found = message
    finally:
        await dlq.stop()
    assert found is not None, "the failing event reached heemang.intake.referral.dlq"
    headers = {k: v.decode() for k, v in found.headers}
    assert "simulated handler bug" in headers["dlq_error"]
    assert headers["dlq_consumer"] == "casework"
    assert await _case_count(stack) == 1  # the healthy one only

    async with stack.client("casework") as casework:
        refused = await casework.get("/ops/dead-letters")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        token = stack.running["casework"].runtime.settings.ops_token
        listed = await casework.get("/ops/dead-letters", headers={"authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    [dead] = listed.json()["items"]
    assert dead["consumer"] == "casework" and dead["type"] == "heemang.intake.referral.accepted.v1"
    assert dead["event_id"] == json.loads(found.value)["id"]
