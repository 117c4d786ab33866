"""Service requests from casework become allocations: approved within caps and funds, else
rejected with a reason; delivery posts to the ledger and says so once; the household's
support history is scoped by 동 and its reads are logged."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from heemang_common.db import transaction
from heemang_common.events.casework import ServiceRequested, ServiceRequestedData
from heemang_common.testing import TEST_MINT, RunningService, eventually
from heemang_resources.db.models import Allocation, OutboxMessage
from heemang_resources.service import allocations

from .conftest import balance, key, open_account, tag, transfer

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def request(
    household: uuid.UUID, code: str, amount: int, quantity: int | None = None, **extra: Any
) -> ServiceRequested:
    return ServiceRequested.create(
        subject=str(uuid.uuid4()),
        data=ServiceRequestedData(
            request_id=uuid.uuid4(),
            case_id=uuid.uuid4(),
            household_id=household,
            dong=extra.pop("dong", "sinsa"),
            domain="health",
            kind="in_kind",
            service_code=code,
            provider="home-care-centre",
            amount=amount,
            quantity=quantity,
            requested_at=AT,
            **extra,
        ),
    )


async def decide(resources: RunningService, event: ServiceRequested) -> Allocation:
    async with transaction(resources.runtime.sessionmaker) as session:
        return await allocations.decide(session, event.data)


async def events_about(resources: RunningService, subject: str) -> list[dict[str, Any]]:
    async with transaction(resources.runtime.sessionmaker) as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        decoded = [json.loads(r.payload) for r in rows]
    return [e for e in decoded if e["subject"] == subject]


@pytest.fixture
async def care_budget(client: httpx.AsyncClient) -> str:
    """A care SOS budget line of its own, funded with 10,000,000 KRW."""
    budget = f"budget:care{tag()}:city"
    await open_account(client, budget, "budget_line")
    await open_account(client, "ext:appropriation:city", "appropriation")
    assert (await transfer(client, budget, "ext:appropriation:city", 10_000_000)).status_code == 201
    return budget


async def test_caps_bind_per_household_and_year(resources: RunningService, care_budget: str) -> None:
    household = uuid.uuid4()
    first = await decide(
        resources, request(household, "care_sos.home_care", 18 * 48_170, 18, fund=care_budget)
    )
    assert (first.status, first.amount) == ("approved", 867_060)
    over = await decide(resources, request(household, "care_sos.home_care", 3 * 48_170, 3, fund=care_budget))
    assert (over.status, over.reason) == ("rejected", "cap_exceeded")
    assert "60 hours" in (over.detail or "") and "2 left" in (over.detail or "")
    meals = await decide(resources, request(household, "care_sos.meals", 31 * 7_800, 31, fund=care_budget))
    assert meals.reason == "cap_exceeded"
    stay = await decide(
        resources, request(household, "care_sos.short_stay", 13 * 58_070, 13, fund=care_budget)
    )
    assert stay.reason == "cap_exceeded" and "annual limit 1,580,000" in (stay.detail or "")
    unknown = await decide(resources, request(household, "care_sos.massage", 10_000, 1, fund=care_budget))
    assert unknown.reason == "unknown_service"
    # Replaying the same request (a redelivered event) decides nothing new.
    event = request(household, "care_sos.meals", 7_800, 1, fund=care_budget)
    once, twice = await decide(resources, event), await decide(resources, event)
    assert once.id == twice.id and once.status == "approved"
    [approved] = await events_about(resources, str(first.id))
    assert approved["type"] == "heemang.resources.allocation.approved.v1"
    assert approved["data"]["amount"] == 867_060 and approved["data"]["fund"] == care_budget
    [rejected] = await events_about(resources, str(over.request_id))
    assert rejected["data"]["reason"] == "cap_exceeded"


async def test_funds_and_budget_lines_must_hold_the_money(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    t = tag()
    budget = f"budget:emerg{t}:national"
    await open_account(client, budget, "budget_line")
    await open_account(client, "ext:appropriation:national", "appropriation")
    assert (await transfer(client, budget, "ext:appropriation:national", 1_000_000)).status_code == 201
    a = await decide(resources, request(uuid.uuid4(), "emergency.living", 802_000, fund=budget))
    assert a.status == "approved"
    # 198,000 left once the first approval is committed, though not yet spent.
    b = await decide(resources, request(uuid.uuid4(), "emergency.living", 474_600, fund=budget))
    assert (b.status, b.reason) == ("rejected", "budget_exhausted")
    too_much = await decide(resources, request(uuid.uuid4(), "emergency.living", 2_000_000, fund=budget))
    assert too_much.reason == "cap_exceeded"
    nowhere = await decide(
        resources, request(uuid.uuid4(), "emergency.living", 100, fund=f"fund:campaign:none{t}")
    )
    assert nowhere.reason == "fund_insufficient"
    household = uuid.uuid4()
    other = f"fund:designated:household:{uuid.uuid4()}"
    await open_account(client, other, "designated_fund")
    wrong = await decide(resources, request(household, "emergency.heating", 98_000, fund=other))
    assert wrong.reason == "not_eligible"


async def test_delivery_posts_once_and_emits_once(
    client: httpx.AsyncClient, resources: RunningService, care_budget: str
) -> None:
    allocation = await decide(
        resources, request(uuid.uuid4(), "care_sos.meals", 10 * 7_800, 10, fund=care_budget)
    )
    before = await balance(client, care_budget)
    headers = key()
    delivered = await client.post(f"/allocations/{allocation.id}/delivery", json={}, headers=headers)
    assert delivered.status_code == 201, delivered.text
    assert delivered.json()["status"] == "delivered" and delivered.json()["delivery_entry_id"]
    replay = await client.post(f"/allocations/{allocation.id}/delivery", json={}, headers=headers)
    assert replay.content == delivered.content
    again = await client.post(f"/allocations/{allocation.id}/delivery", json={}, headers=key())
    assert again.status_code == 409 and again.json()["type"].endswith("already-delivered")
    assert await balance(client, care_budget) == before - 78_000
    assert await balance(client, "ext:disbursed:care-sos") >= 78_000
    kinds = [e["type"] for e in await events_about(resources, str(allocation.id))]
    assert kinds.count("heemang.resources.distribution.delivered.v1") == 1
    entry = (await client.get(f"/ledger/entries/{delivered.json()['delivery_entry_id']}")).json()
    assert {(x["account"], x["side"]) for x in entry["lines"]} == {
        ("ext:disbursed:care-sos", "debit"),
        (care_budget, "credit"),
    }


async def test_household_history_is_scoped_by_dong_and_logged(
    client: httpx.AsyncClient, resources: RunningService, care_budget: str
) -> None:
    household = uuid.uuid4()
    dong = f"d{tag()}"
    await decide(resources, request(household, "care_sos.meals", 7_800, 1, fund=care_budget, dong=dong))
    await decide(resources, request(household, "care_sos.meals", 31 * 7_800, 31, fund=care_budget, dong=dong))
    officer = TEST_MINT.headers("dong_officer", sub="dong-officer-1", dongs=[dong])
    history = await client.get(f"/households/{household}/support", headers=officer)
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["totals"] == {"approved": 7_800, "delivered": 0, "rejected_requests": 1}
    assert len(body["items"]) == 2
    assert body["food_bank"] == [] and body["designated_fund"] is None
    # Food bank goods and a designated gift show in the same history.
    item = f"rice-{tag()}"
    lot = {"item": item, "quantity": 2, "unit_value": 30_000, "received_on": "2026-11-01"}
    assert (await client.post("/foodbank/receipts", json=lot, headers=key())).status_code == 201
    given = {
        "item": item,
        "quantity": 1,
        "issued_on": "2026-11-02",
        "household_id": str(household),
        "dong": dong,
    }
    assert (await client.post("/foodbank/issues", json=given, headers=key())).status_code == 201
    gift = {
        "form": "cash",
        "designation": "household",
        "household_id": str(household),
        "amount": 100_000,
        "received_on": "2026-11-03",
    }
    assert (await client.post("/donations", json=gift, headers=key())).status_code == 201
    body = (await client.get(f"/households/{household}/support", headers=officer)).json()
    assert [(f["item"], f["value"]) for f in body["food_bank"]] == [(item, 30_000)]
    assert body["designated_fund"] == {"received": 100_000, "spent": 0, "remaining": 100_000}
    elsewhere = TEST_MINT.headers("dong_officer", dongs=["other-dong"])
    assert (await client.get(f"/households/{household}/support", headers=elsewhere)).status_code == 403
    for role in ("partner_agency", "auditor", "hotline_counsellor"):
        denied = await client.get(f"/households/{household}/support", headers=TEST_MINT.headers(role))
        assert denied.status_code == 403
    logged = [
        e
        for e in await events_about(resources, str(household))
        if e["type"] == "heemang.audit.access.recorded.v1"
    ]
    assert [e["data"]["actor_id"] for e in logged] == ["dong-officer-1", "dong-officer-1"]  # two reads
    assert logged[0]["data"]["household_id"] == str(household)


async def test_the_consumer_answers_requests_from_the_broker(
    resources: RunningService, bootstrap: str, care_budget: str
) -> None:
    event = request(uuid.uuid4(), "care_sos.accompaniment", 2 * 14_800, 2, fund=care_budget)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            event.topic, event.to_json().encode(), key=event.partition_key().encode()
        )
        await producer.send_and_wait(
            event.topic, event.to_json().encode(), key=event.partition_key().encode()
        )
    finally:
        await producer.stop()

    async def answered() -> list[Allocation]:
        async with transaction(resources.runtime.sessionmaker) as session:
            rows = await session.scalars(
                select(Allocation).where(Allocation.request_id == event.data.request_id)
            )
            return list(rows)

    [allocation] = await eventually(answered, timeout_s=60)
    assert allocation.status == "approved" and allocation.amount == 29_600
