"""End to end: casework's events on the broker → the gateway's webhook consumer → deliveries
→ the dispatcher → partner receivers on loopback. A partner endpoint is down for a while
(503, then not listening at all) and the gateway itself restarts meanwhile: every event of
the cases assigned to the agency arrives once, in order, verified with standardwebhooks; no
event of another agency's case arrives; payloads are thin."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from heemang_common.broker import EmbeddedBroker, free_port
from heemang_common.events import Event
from heemang_common.events.casework import (
    CaseAssigned,
    CaseAssignedData,
    CaseClosed,
    CaseClosedData,
    CaseStageChanged,
    CaseStageChangedData,
)
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

pytestmark = pytest.mark.slow

STAGES = ["intake", "assessment", "selection", "conference", "planning", "delivery", "closed"]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(partitions=2, address_file=tmp_path_factory.mktemp("broker") / "broker.json")
    await embedded.start()
    yield embedded
    await embedded.stop()


def _settings(database: str, broker: EmbeddedBroker) -> Settings:
    return fast_settings(
        Settings,
        database_url=database,
        bootstrap=broker.bootstrap_servers,
        webhook_allow_private_targets=True,
        webhook_retry_schedule_s=[0, 0.3, 0.5] + [1.0] * 12,
        webhook_poll_interval_s=0.05,
        webhook_timeout_s=2,
        webhook_lease_s=3,
        port=free_port(),
    )


def _case_events(case_id: uuid.UUID, household_id: uuid.UUID, agency: str) -> list[Event]:
    events: list[Event] = [
        CaseAssigned.create(
            subject=case_id,
            data=CaseAssignedData(
                case_id=case_id,
                household_id=household_id,
                dong="sinsa",
                case_manager_id="u-1",
                agencies=[agency],
                restricted=False,
                assigned_at=T0,
            ),
        )
    ]
    for i, (old, new) in enumerate(itertools.pairwise(STAGES[:-1])):
        events.append(
            CaseStageChanged.create(
                subject=case_id,
                data=CaseStageChangedData(
                    case_id=case_id,
                    household_id=household_id,
                    from_stage=old,
                    to_stage=new,  # type: ignore[arg-type]
                    at=T0 + timedelta(minutes=i + 1),
                ),
            )
        )
    events.append(
        CaseClosed.create(
            subject=case_id,
            data=CaseClosedData(
                case_id=case_id,
                household_id=household_id,
                dong="sinsa",
                closure_reason="death",
                reason_category="circumstantial",
                closed_at=T0 + timedelta(hours=1),
                follow_up_due=[],
            ),
        )
    )
    return events


async def _produce(producer: AIOKafkaProducer, events: list[Event]) -> None:
    for event in events:
        await producer.send_and_wait(
            event.topic, event.to_json().encode(), key=event.partition_key().encode()
        )


async def _register(client: httpx.AsyncClient, agency: str, url: str) -> dict[str, Any]:
    reply = await client.post(
        "/webhooks/endpoints",
        json={"url": url, "event_types": ["case.assigned.v1", "case.stage_changed.v1", "case.closed.v1"]},
        headers=TEST_MINT.headers("partner_agency", agency=agency, dongs=[]),
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


async def _log(client: httpx.AsyncClient, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    reply = await client.get(
        f"/webhooks/endpoints/{endpoint['id']}/deliveries?limit=200",
        headers=TEST_MINT.headers("district_admin"),
    )
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


async def test_outage_and_restart_every_event_once_in_order(
    databases: DatabaseFactory, broker: EmbeddedBroker, partner: Any, make_partner: Any
) -> None:
    database = await databases.fresh_database("gateway", SERVICE_ROOT)
    gateway: RunningService | None = await _serve_gateway(database, broker)
    assert gateway is not None
    other_partner = make_partner()
    await other_partner.start()
    mine, theirs = "ag-mine", "ag-theirs"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        endpoint = await _register(client, mine, partner.url)
        other = await _register(client, theirs, other_partner.url)
    partner.secrets, other_partner.secrets = [endpoint["secret"]], [other["secret"]]

    case, foreign_case, unassigned = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    household = uuid.uuid4()
    ours = _case_events(case, household, mine)
    theirs_events = _case_events(foreign_case, uuid.uuid4(), theirs)
    stray = _case_events(unassigned, uuid.uuid4(), theirs)[1:]  # never assigned: no one hears

    partner.answer = 503  # the partner is down
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await _produce(producer, ours[:4] + theirs_events + stray)
        await _produce(producer, [ours[2]])  # a redelivered event: no second delivery
        await _produce(producer, ours[4:])
    finally:
        await producer.stop()

    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:

        async def all_enqueued_and_failing() -> bool:
            log = await _log(client, endpoint)
            return len(log) == len(ours) and any(d["attempt_count"] >= 2 for d in log)

        await eventually(all_enqueued_and_failing, timeout_s=30)
    assert len(partner.effects) == 0 and len(partner.received) >= 2
    # Nothing after the head was tried: order holds while the partner is down.
    assert {h["webhook-id"] for h in partner.received} == {partner.received[0]["webhook-id"]}

    await partner.stop()  # now not even listening
    await gateway.stop()  # and the gateway restarts meanwhile
    gateway = None
    await asyncio.sleep(0.5)
    gateway = await _serve_gateway(database, broker)
    try:
        await asyncio.sleep(0.5)
        partner.answer = None
        await partner.start()  # back
        await eventually(lambda: _ready(len(partner.effects) >= len(ours)), timeout_s=40)
        await asyncio.sleep(0.5)  # nothing more should arrive
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            log = await _log(client, endpoint)
            other_log = await _log(client, other)
    finally:
        await gateway.stop()

    # Once each, in the order casework published them.
    ids = [m for m, _ in partner.effects]
    assert len(ids) == len(set(ids)) == len(ours)
    payloads = [p for _, p in partner.effects]
    assert [p["type"] for p in payloads] == (
        ["case.assigned.v1"] + ["case.stage_changed.v1"] * (len(ours) - 2) + ["case.closed.v1"]
    )
    assert [p["data"].get("to_stage") for p in payloads[1:-1]] == STAGES[1:-1]
    assert {p["data"]["case_id"] for p in payloads} == {str(case)}
    assert {d["status"] for d in log} == {"delivered"} and len(log) == len(ours)
    # Retries kept the webhook-id: every id that arrived is one of the logged deliveries.
    assert {h["webhook-id"] for h in partner.received} == {d["message_id"] for d in log}

    # The other agency heard only of its own case; nobody heard of the unassigned one.
    await eventually(lambda: _ready(len(other_partner.effects) >= len(theirs_events)), timeout_s=20)
    assert {p["data"]["case_id"] for _, p in other_partner.effects} == {str(foreign_case)}
    assert len(other_log) == len(theirs_events)

    # Thin: no household, 동, closure reason or anything personal in any body.
    for _, payload in partner.effects + other_partner.effects:
        text = json.dumps(payload)
        assert str(household) not in text
        for key in ("household_id", "dong", "sinsa", "closure_reason", "death", "agencies", "case_manager"):
            assert key not in text, (key, payload)


async def _serve_gateway(database: str, broker: EmbeddedBroker) -> RunningService:
    settings = _settings(database, broker)
    return await serve("gateway", create_app(settings), settings.port)


async def _ready(value: bool) -> bool:
    return value
