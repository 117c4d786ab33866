"""RELIABILITY T8: a long broker outage while the API keeps writing, and a wedged consumer
flagged by the probes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from heemang_common.testing import eventually

OUTAGE_S = float(os.environ.get("HEEMANG_T8_OUTAGE_S", "60"))


async def _cases(stack: Any) -> int:
    from heemang_casework.db.models import Case

    async with stack.running["casework"].runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def test_broker_down_for_a_minute_while_writing(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    written: list[str] = []
    stop_writing = asyncio.Event()

    async def writer(client: httpx.AsyncClient) -> None:
        while not stop_writing.is_set():
            response = await client.post(
                "/referrals", json={"dong": "daechi1", "channel": "phone", "accept": True}
            )
            assert response.status_code == 201, response.text  # writes never fail on an outage
            written.append(response.json()["id"])
            await asyncio.sleep(0.2)

    async with stack.client("intake") as client:
        writing = asyncio.create_task(writer(client))
        await asyncio.sleep(2)
        await private_broker.kill()
        await asyncio.sleep(OUTAGE_S)
        during = len(written)
        await private_broker.restart()
        await asyncio.sleep(3)
        stop_writing.set()
        await writing
    assert during > OUTAGE_S * 2, "the API kept accepting referrals during the outage"

    intake_relay = stack.running["intake"].runtime.relay
    consumer = stack.running["casework"].runtime.consumers[0]
    started = time.monotonic()

    async def drained() -> bool:
        return (
            await intake_relay.pending_count() == 0
            and await _cases(stack) == len(written)
            and consumer.running
            and consumer.lag() == 0
        )

    await eventually(drained, timeout_s=300, interval_s=0.5)
    assert time.monotonic() - started < 300
    assert await _cases(stack) == len(written)


async def test_wedged_consumer_is_flagged_by_the_probes(
    make_stack: Any, private_broker: Any, monkeypatch: Any
) -> None:
    from heemang_casework import service as casework_service

    release = asyncio.Event()
    real_open = casework_service.open_case_for_referral
    wedge_household: list[str] = []

    async def hang_once(session: Any, **kwargs: Any) -> Any:
        if str(kwargs["household_id"]) in wedge_household:
            await release.wait()  # a handler stuck on a dependency that never answers
        return await real_open(session, **kwargs)

    monkeypatch.setattr(casework_service, "open_case_for_referral", hang_once)
    stack = make_stack(private_broker)
    await stack.start("intake")
    session_timeout_ms = 3000
    await stack.start("casework", kafka_session_timeout_ms=session_timeout_ms)
    async with stack.client("intake") as intake, stack.client("casework") as casework:
        first = await intake.post("/referrals", json={"dong": "daechi1", "channel": "phone", "accept": True})
        assert first.status_code == 201

        async def first_case() -> bool:
            return await _cases(stack) == 1

        await eventually(first_case, timeout_s=30)
        assert (await casework.get("/healthz")).status_code == 200

        wedge_household.append(str(uuid.uuid4()))
        from heemang_intake.db.models import Household

        async with stack.running["intake"].runtime.sessionmaker() as session, session.begin():
            session.add(Household(id=uuid.UUID(wedge_household[0]), dong="daechi1"))
        for _ in range(3):  # the wedged one, then more behind it: lag > 0
            await intake.post(
                "/referrals",
                json={
                    "household_id": wedge_household[0],
                    "dong": "daechi1",
                    "channel": "phone",
                    "accept": True,
                },
            )
        wedged_at = time.monotonic()

        async def flagged() -> dict[str, Any] | None:
            health = await casework.get("/healthz")
            return health.json() if health.status_code == 503 else None

        body = await eventually(flagged, timeout_s=30, interval_s=0.25)
        assert body["stuck_consumers"] == ["casework"]
        assert time.monotonic() - wedged_at <= 2 * session_timeout_ms / 1000 + 5
        assert (await casework.get("/readyz")).status_code == 503

        release.set()  # the dependency answers again: progress resumes, the flag clears

        async def recovered() -> bool:
            return (await casework.get("/healthz")).status_code == 200 and await _cases(stack) == 4

        await eventually(recovered, timeout_s=30)
