"""Side-dish vouchers: monthly top-ups that never run twice, member-shop charges by partner
agencies that never overdraw a wallet (50 concurrent), usage rate per month."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, RunningService
from heemang_resources.db.models import OutboxMessage

from .conftest import key, open_account, tag, transfer


async def _programme(client: httpx.AsyncClient, budget_amount: int) -> tuple[str, str]:
    t = tag()
    budget = f"budget:chan{t}:district"
    await open_account(client, budget, "budget_line")
    await open_account(client, "ext:appropriation:district", "appropriation")
    assert (await transfer(client, budget, "ext:appropriation:district", budget_amount)).status_code == 201
    code = f"chan{t}"
    body = {
        "code": code,
        "name": "다함께 찬찬찬",
        "monthly_amount": 40_000,
        "holiday_bonus": 20_000,
        "budget_line": budget,
    }
    assert (await client.post("/vouchers", json=body)).status_code == 201
    shop = f"shop-{t}"
    assert (
        await client.post(f"/vouchers/{code}/shops", json={"agency_id": shop, "name": "반찬가게"})
    ).status_code == 201
    return code, shop


async def _holder(client: httpx.AsyncClient, code: str) -> str:
    response = await client.post(
        f"/vouchers/{code}/holders", json={"household_id": str(uuid.uuid4()), "dong": "sinsa"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_top_ups_run_once_a_month_and_usage_is_reported(client: httpx.AsyncClient) -> None:
    code, shop = await _programme(client, 1_000_000)
    holders = [await _holder(client, code) for _ in range(3)]
    month = datetime.now(ZoneInfo("Asia/Seoul")).strftime("%Y-%m")  # charges are dated today
    run = await client.post(
        f"/vouchers/{code}/top-ups", json={"month": month, "holiday": True}, headers=key()
    )
    assert run.status_code == 201, run.text
    assert run.json() == {
        "programme": code,
        "month": month,
        "holiday": True,
        "holders": 3,
        "per_holder": 60_000,
        "total": 180_000,
    }
    twice = await client.post(f"/vouchers/{code}/top-ups", json={"month": month}, headers=key())
    assert twice.status_code == 409 and twice.json()["type"].endswith("topup-already-run")
    balance = (await client.get(f"/vouchers/{code}/holders/{holders[0]}")).json()["balance"]
    assert balance == 60_000
    partner = TEST_MINT.headers("partner_agency", agency=shop, dongs=[])
    for holder, amount in zip(holders, (60_000, 50_000, 40_000), strict=True):
        charged = await client.post(
            f"/vouchers/{code}/charges",
            json={"holder_id": holder, "amount": amount},
            headers={**partner, **key()},
        )
        assert charged.status_code == 201, charged.text
    usage = (await client.get(f"/vouchers/{code}/usage", headers=TEST_MINT.headers("auditor"))).json()
    assert usage["months"] == [
        {"month": month, "topped_up": 180_000, "charged": 150_000, "usage_rate_percent": "83.3"}
    ]


async def test_only_member_shops_charge(client: httpx.AsyncClient) -> None:
    code, shop = await _programme(client, 100_000)
    holder = await _holder(client, code)
    await client.post(f"/vouchers/{code}/top-ups", json={"month": "2026-10"}, headers=key())
    body = {"holder_id": holder, "amount": 1_000}
    stranger = TEST_MINT.headers("partner_agency", agency="not-a-member", dongs=[])
    assert (
        await client.post(f"/vouchers/{code}/charges", json=body, headers={**stranger, **key()})
    ).status_code == 403
    officer = TEST_MINT.headers("resource_officer")
    assert (
        await client.post(f"/vouchers/{code}/charges", json=body, headers={**officer, **key()})
    ).status_code == 403
    float_amount = {"holder_id": holder, "amount": 1000.5}
    member = TEST_MINT.headers("partner_agency", agency=shop, dongs=[])
    assert (
        await client.post(f"/vouchers/{code}/charges", json=float_amount, headers={**member, **key()})
    ).status_code == 422


async def test_fifty_concurrent_shop_charges_never_overdraw(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    code, shop = await _programme(client, 100_000)
    holder = await _holder(client, code)
    assert (
        await client.post(f"/vouchers/{code}/top-ups", json={"month": "2026-11"}, headers=key())
    ).status_code == 201
    partner = TEST_MINT.headers("partner_agency", agency=shop, dongs=[])
    body = {"holder_id": holder, "amount": 1_000}
    results = await asyncio.gather(
        *[
            client.post(f"/vouchers/{code}/charges", json=body, headers={**partner, **key()})
            for _ in range(50)
        ]
    )
    statuses = [r.status_code for r in results]
    assert statuses.count(201) == 40 and statuses.count(409) == 10, statuses
    assert (await client.get(f"/vouchers/{code}/holders/{holder}")).json()["balance"] == 0
    async with transaction(resources.runtime.sessionmaker) as session:
        rows = await session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.event_type == "heemang.resources.voucher.charged.v1"
            )
        )
        charged = [json.loads(r)["data"] for r in rows]
    assert len([c for c in charged if c["programme"] == code and c["shop"] == shop]) == 40
    tb = (await client.get("/ledger/trial-balance", params={"verify": "true"})).json()
    assert tb["balanced"] and tb["negative_accounts"] == []
