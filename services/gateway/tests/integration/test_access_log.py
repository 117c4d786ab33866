"""The consolidated access log (RELIABILITY T13): AccessRecorded events from the services
land in a hash chain that only auditors read, that the database keeps append-only, and
whose verification names an entry edited behind the API's back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from heemang_common.db import transaction
from heemang_common.events.audit import AccessRecorded
from heemang_common.events.envelope import utcnow
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)
from heemang_gateway.app import create_app
from heemang_gateway.cli import SERVICE_ROOT
from heemang_gateway.settings import Settings

AUDITOR = TEST_MINT.headers("auditor")


@pytest.fixture(scope="module")
async def gateway(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("gateway", SERVICE_ROOT)
    # The test polls the log as one auditor faster than a person would.
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap, rate_limit_per_minute=100_000)
    running = await serve("gateway", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def client(gateway: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        yield http


async def _publish(bootstrap: str, actor: str, count: int) -> list[AccessRecorded]:
    events = []
    for n in range(count):
        example = AccessRecorded.example()
        data = example.data.model_copy(
            update={
                "access_id": uuid.uuid4(),
                "actor_id": actor,
                "record_id": f"rec-{n}",
                "occurred_at": utcnow(),
            }
        )
        events.append(AccessRecorded.create(subject=data.record_id, data=data))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                event.topic, event.to_json().encode(), key=event.partition_key().encode()
            )
        await producer.send_and_wait(events[0].topic, events[0].to_json().encode())  # a redelivery
    finally:
        await producer.stop()
    return events


async def _entries(client: httpx.AsyncClient, actor: str) -> list[dict[str, Any]]:
    page = await client.get("/audit/access-log", params={"actor_id": actor, "limit": 1000}, headers=AUDITOR)
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def test_accesses_become_a_verified_chain_only_auditors_read(
    client: httpx.AsyncClient, gateway: RunningService, bootstrap: str
) -> None:
    actor = f"actor-{uuid.uuid4().hex[:8]}"

    async def consumers_ready() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await eventually(consumers_ready, timeout_s=60)  # joined their groups: the log is being read
    await _publish(bootstrap, actor, 25)

    async def all_in() -> bool:
        return len(await _entries(client, actor)) == 25

    await eventually(all_in, timeout_s=90)  # CI runs three test workers on two cores
    entries = await _entries(client, actor)
    assert {e["record_id"] for e in entries} == {f"rec-{n}" for n in range(25)}  # redelivery absorbed
    verified = (await client.get("/audit/access-log/verify", headers=AUDITOR)).json()
    assert verified["intact"] and verified["entries"] >= 25
    for role in ("district_admin", "supervisor", "case_manager"):
        denied = await client.get("/audit/access-log", headers=TEST_MINT.headers(role))
        assert denied.status_code == 403

    # No route changes an entry, and the database refuses to.
    with pytest.raises(Exception, match="append-only"):
        async with transaction(gateway.runtime.sessionmaker) as session:
            await session.execute(text("UPDATE access_log SET actor_id = 'x'"))

    # Someone with database superpowers edits an entry: verification names it.
    target = entries[7]["seq"]
    async with transaction(gateway.runtime.sessionmaker) as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
        else:
            await session.execute(text("DROP TRIGGER access_log_no_update"))
        await session.execute(
            text("UPDATE access_log SET purpose = 'nothing to see' WHERE seq = :s"), {"s": target}
        )
    broken = (await client.get("/audit/access-log/verify", headers=AUDITOR)).json()
    assert not broken["intact"]
    assert {"seq": target, "problem": "edited"} in broken["breaks"]
