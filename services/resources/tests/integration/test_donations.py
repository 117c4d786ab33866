"""Donors, donations and campaigns through the API: the brief's 희망2021 table reproduced from
donations, goal_reached once, receipts with serial numbers, designated-use reports without
recipients."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, RunningService
from heemang_resources.db.models import OutboxMessage

from .conftest import balance, key

GOAL_REACHED = "heemang.resources.campaign.goal_reached.v1"


async def _donor(client: httpx.AsyncClient, name: str, kind: str = "individual", **extra: Any) -> str:
    body = {"kind": kind, "name": name, "sponsorship": "regular", **extra}
    response = await client.post("/donors", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _give(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/donations", json=body, headers=key())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _events(resources: RunningService, kind: str, subject: str) -> list[dict[str, Any]]:
    async with transaction(resources.runtime.sessionmaker) as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == kind))
        return [e for e in (json.loads(r.payload) for r in rows) if e["subject"] == subject]


async def test_hope_2021_table_is_reproduced_from_donations(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    created = await client.post(
        "/campaigns",
        json={
            "name": "희망2021 나눔캠페인",
            "starts_on": "2020-12-01",
            "ends_on": "2021-01-31",
            "goal": 276_452_000,
        },
    )
    assert created.status_code == 201, created.text
    campaign = created.json()["id"]
    person, company = await _donor(client, "홍길동"), await _donor(client, "(주)희망건설", "company")
    k = 1000  # the brief's table is in thousand KRW
    gifts = [
        ("cash", "general", 100_000 * k, person, {}, "2020-12-03"),
        ("cash", "general", 62_479 * k, company, {}, "2020-12-20"),
        ("cash", "household", 27_175 * k, person, {"household_id": str(uuid.uuid4())}, "2020-12-24"),
        ("cash", "programme", 100_000 * k, company, {"programme": "dental"}, "2021-01-05"),
        ("goods", "general", 91_990 * k, company, {"goods_description": "쌀 10kg"}, "2021-01-10"),
        ("goods", "general", 100_000 * k, None, {"goods_description": "김장김치"}, "2021-01-30"),
    ]
    for form, designation, amount, donor, extra, day in gifts:
        await _give(
            client,
            form=form,
            designation=designation,
            amount=amount,
            donor_id=donor,
            campaign_id=campaign,
            received_on=day,
            **extra,
        )
    outside = await client.post(
        "/donations",
        json={"form": "cash", "amount": 1, "received_on": "2021-02-01", "campaign_id": campaign},
        headers=key(),
    )
    assert outside.status_code == 422

    table = (await client.get(f"/campaigns/{campaign}", headers=TEST_MINT.headers("supervisor"))).json()
    in_thousands = {
        f: table[f] // k for f in ("goal", "raised", "cash", "cash_general", "cash_designated", "goods")
    }
    assert in_thousands == {
        "goal": 276_452,
        "raised": 481_644,
        "cash": 289_654,
        "cash_general": 162_479,
        "cash_designated": 127_175,
        "goods": 191_990,
    }
    assert table["progress_percent"] == "174.2"
    # 162,479 + 27,175 + 100,000 = 289,654 ≥ 276,452 with the programme gift of 2021-01-05.
    assert table["goal_reached_on"] == "2021-01-05"
    [event] = await _events(resources, GOAL_REACHED, campaign)
    assert event["data"]["raised"] == 289_654 * k and event["data"]["goal"] == 276_452 * k
    assert await balance(client, f"fund:campaign:{campaign}") == 162_479 * k
    assert await balance(client, "fund:designated:programme:dental") >= 100_000 * k


async def test_receipts_are_numbered_pdfs(client: httpx.AsyncClient, resources: RunningService) -> None:
    donor = await _donor(client, "김철수")
    first = await _give(client, form="cash", amount=50_000, donor_id=donor, received_on="2026-05-01")
    second = await _give(client, form="cash", amount=70_000, donor_id=donor, received_on="2026-05-02")
    anonymous = await _give(client, form="cash", amount=10_000, received_on="2026-05-02")
    a, b = first["receipt_serial"], second["receipt_serial"]
    assert a.startswith("HM-2026-") and int(b.rsplit("-", 1)[1]) == int(a.rsplit("-", 1)[1]) + 1
    assert anonymous["receipt_serial"] is None
    [received] = await _events(resources, "heemang.resources.donation.received.v1", first["id"])
    assert received["data"]["amount"] == 50_000 and received["data"]["donor_id"] == donor
    assert "김철수" not in json.dumps(received)
    assert (await client.get(f"/donations/{first['id']}/receipt.pdf")).status_code == 422  # no reason
    reason = {"X-Export-Reason": "receipt requested by the donor"}
    pdf = await client.get(f"/donations/{first['id']}/receipt.pdf", headers=reason)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and a in pdf.headers["content-disposition"]
    assert (await client.get(f"/donations/{anonymous['id']}/receipt.pdf", headers=reason)).status_code == 422
    logged = await _events(resources, "heemang.audit.access.recorded.v1", donor)
    assert [(e["data"]["action"], e["data"]["reason"]) for e in logged] == [
        ("download", "receipt requested by the donor")
    ]
    masked = (await client.get(f"/donors/{donor}")).json()
    assert masked["name"] == "김*수"


async def test_designated_use_report_names_no_recipient(client: httpx.AsyncClient) -> None:
    household = str(uuid.uuid4())
    donor = await _donor(client, "이영희", hall_of_fame=True)
    gift = await _give(
        client,
        form="cash",
        designation="household",
        household_id=household,
        amount=300_000,
        donor_id=donor,
        received_on="2026-06-01",
    )
    fund = gift["fund"]
    assert fund == f"fund:designated:household:{household}"
    await client.post("/ledger/accounts", json={"code": "ext:disbursed:dental", "kind": "disbursed"})
    body = {
        "memo": "치과 치료비",
        "lines": [
            {"account": "ext:disbursed:dental", "side": "debit", "amount": 120_000},
            {"account": fund, "side": "credit", "amount": 120_000},
        ],
    }
    assert (await client.post("/ledger/entries", json=body, headers=key())).status_code == 201
    report = await client.get(f"/donations/{gift['id']}/use-report")
    assert report.status_code == 200, report.text
    assert report.json() == {
        "donation_id": gift["id"],
        "donated": 300_000,
        "designated_to": "a household",
        "fund_received": 300_000,
        "spent": [{"purpose": "disbursed:dental", "amount": 120_000, "movements": 1}],
        "remaining": 180_000,
    }
    assert household not in report.text
    fame = (await client.get("/donors/hall-of-fame")).json()
    assert {"name": "이*희", "kind": "individual", "donations": 1, "total": 300_000} in fame


async def test_bad_donations_change_nothing(client: httpx.AsyncClient) -> None:
    for body in (
        {"form": "cash", "amount": 1.5, "received_on": "2026-01-01"},
        {"form": "cash", "amount": -1, "received_on": "2026-01-01"},
        {"form": "cash", "designation": "household", "amount": 1, "received_on": "2026-01-01"},
        {"form": "cash", "amount": 1, "received_on": "2026-01-01", "donor_id": str(uuid.uuid4())},
        {"form": "cash", "amount": 1, "received_on": "2026-01-01", "campaign_id": str(uuid.uuid4())},
    ):
        response = await client.post("/donations", json=body, headers=key())
        assert response.status_code in (404, 422), (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    partner = TEST_MINT.headers("partner_agency", agency="ag-1", dongs=[])
    denied = await client.post(
        "/donations",
        json={"form": "cash", "amount": 1, "received_on": "2026-01-01"},
        headers={**partner, **key()},
    )
    assert denied.status_code == 403


async def test_corporate_agreements_are_used_within_capacity(client: httpx.AsyncClient) -> None:
    company = await _donor(client, "(주)해충박멸", "company")
    person = await _donor(client, "최개인")
    body = {
        "donor_id": company,
        "service": "pest_control",
        "description": "저소득 가구 방역 연 2회",
        "unit_value": 150_000,
        "uses_per_year": 2,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    assert (await client.post("/agreements", json={**body, "donor_id": person})).status_code == 422
    created = await client.post("/agreements", json=body)
    assert created.status_code == 201, created.text
    agreement = created.json()["id"]
    use = {"household_id": str(uuid.uuid4()), "dong": "sinsa", "used_on": "2026-06-01"}
    before = await balance(client, "ext:donations:goods")
    for _ in range(2):
        used = await client.post(f"/agreements/{agreement}/uses", json=use, headers=key())
        assert used.status_code == 201, used.text
    assert await balance(client, "ext:donations:goods") == before + 300_000
    assert await balance(client, "ext:distributed:agreement-pest_control") >= 300_000
    third = await client.post(f"/agreements/{agreement}/uses", json=use, headers=key())
    assert third.status_code == 409 and third.json()["type"].endswith("agreement-exhausted")
    late = await client.post(
        f"/agreements/{agreement}/uses", json={**use, "used_on": "2027-01-02"}, headers=key()
    )
    assert late.status_code == 422
    officer = TEST_MINT.headers("resource_officer", dongs=["other"])
    assert (
        await client.post(f"/agreements/{agreement}/uses", json=use, headers={**officer, **key()})
    ).status_code == 403
