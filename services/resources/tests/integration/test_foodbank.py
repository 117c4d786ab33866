"""Food bank: goods in with expiry, out first-expiring-first (never expired goods), stock by
item, the expiring-soon list, people served; every movement on the ledger at appraised value."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from .conftest import balance, key, tag


async def _in(
    client: httpx.AsyncClient, item: str, quantity: int, value: int, expires: str | None
) -> dict[str, Any]:
    body = {
        "item": item,
        "unit": "ea",
        "quantity": quantity,
        "unit_value": value,
        "expires_on": expires,
        "received_on": "2026-11-01",
    }
    response = await client.post("/foodbank/receipts", json=body, headers=key())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _out(client: httpx.AsyncClient, item: str, quantity: int, **who: Any) -> httpx.Response:
    body = {"item": item, "quantity": quantity, "issued_on": "2026-11-20", **who}
    return await client.post("/foodbank/issues", json=body, headers=key())


async def test_goods_go_out_first_expiring_first(client: httpx.AsyncClient) -> None:
    item = f"rice-{tag()}"
    known = (await client.get("/ledger/accounts/stock:foodbank")).status_code == 200
    stock_before = await balance(client, "stock:foodbank") if known else 0
    await _in(client, item, 5, 30_000, "2026-11-19")  # expired by the issue date
    late = await _in(client, item, 10, 25_000, "2027-03-01")
    soon = await _in(client, item, 4, 28_000, "2026-11-25")
    assert await balance(client, "stock:foodbank") == stock_before + 150_000 + 250_000 + 112_000
    household = str(uuid.uuid4())
    issued = await _out(client, item, 6, household_id=household, dong="sinsa")
    assert issued.status_code == 201, issued.text
    assert (
        issued.json()["value"] == 4 * 28_000 + 2 * 25_000
    )  # the soon-expiring lot first, never the expired one
    too_many = await _out(client, item, 9, facility="경로당")  # 8 usable left
    assert too_many.status_code == 409 and too_many.json()["available"] == 8
    assert (await _out(client, item, 8, facility="경로당")).status_code == 201
    stock = {s["item"]: s for s in (await client.get("/foodbank/stock")).json()}
    assert stock[item]["quantity"] == 5 and stock[item]["value"] == 150_000  # only the expired lot is left
    expiring = (
        await client.get("/foodbank/expiring", params={"as_of": "2026-11-20", "within_days": 10})
    ).json()
    assert [x["id"] for x in expiring if x["item"] == item] == [(await _lot_id(client, item))]
    assert late["remaining"] == 10 and soon["remaining"] == 4  # the responses are the first, frozen bytes
    expired_lot = await _lot_id(client, item)
    off = await client.post(
        f"/foodbank/lots/{expired_lot}/write-off",
        json={"reason": "유통기한 경과", "written_off_on": "2026-11-20"},
        headers=key(),
    )
    assert off.status_code == 201 and (off.json()["quantity"], off.json()["value"]) == (5, 150_000)
    assert await balance(client, "ext:written_off:foodbank") >= 150_000
    assert item not in {s["item"] for s in (await client.get("/foodbank/stock")).json()}
    again = await client.post(
        f"/foodbank/lots/{expired_lot}/write-off",
        json={"reason": "x", "written_off_on": "2026-11-20"},
        headers=key(),
    )
    assert again.status_code == 409
    served = (await client.get("/foodbank/served", params={"from": "2026-11-20", "to": "2026-11-20"})).json()
    assert served["households"] >= 1 and served["facilities"] >= 1 and served["value"] >= 112_000 + 250_000


async def _lot_id(client: httpx.AsyncClient, item: str) -> str:
    expiring = (
        await client.get("/foodbank/expiring", params={"as_of": "2026-11-20", "within_days": 0})
    ).json()
    [lot] = [x for x in expiring if x["item"] == item]
    return str(lot["id"])


async def test_issues_name_a_household_in_scope_or_a_facility(client: httpx.AsyncClient) -> None:
    item = f"kimchi-{tag()}"
    await _in(client, item, 3, 10_000, None)
    assert (await _out(client, item, 1)).status_code == 422
    assert (await _out(client, item, 1, household_id=str(uuid.uuid4()))).status_code == 422  # no dong
    assert (await _out(client, item, 1, quantity_typo=1, facility="x")).status_code == 422
    assert (await _out(client, item, 1, facility="지역아동센터")).status_code == 201
