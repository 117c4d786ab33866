"""The ledger over HTTP against a migrated database: postings, reversals, balances derived
from lines, refusals that change nothing, and a journal the database itself keeps immutable."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, text

from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, RunningService
from heemang_resources.db.models import JournalEntry, JournalLine

from .conftest import balance, key, open_account, tag, transfer


async def _counts(resources: RunningService) -> tuple[int, int]:
    async with transaction(resources.runtime.sessionmaker) as session:
        entries = await session.scalar(select(func.count()).select_from(JournalEntry))
        lines = await session.scalar(select(func.count()).select_from(JournalLine))
    return int(entries or 0), int(lines or 0)


async def test_post_reverse_and_derive_balances(client: httpx.AsyncClient) -> None:
    t = tag()
    fund, source, sink = f"fund:designated:programme:{t}", "ext:donations:cash", f"ext:disbursed:{t}"
    await open_account(client, fund, "designated_fund")
    await open_account(client, source, "donations_received")
    created = await open_account(client, sink, "disbursed")
    assert created["no_overdraft"] is False and created["balance"] == 0
    assert (await open_account(client, fund, "designated_fund"))["code"] == fund  # reopening: no-op

    donation = await transfer(client, fund, source, 300_000)
    assert donation.status_code == 201, donation.text
    spent = await transfer(client, sink, fund, 120_000)
    assert spent.status_code == 201
    assert await balance(client, fund) == 180_000 and await balance(client, sink) == 120_000

    entry_id = spent.json()["id"]
    reversal = await client.post(f"/ledger/entries/{entry_id}/reversal", json={}, headers=key())
    assert reversal.status_code == 201, reversal.text
    mirrored = {(x["account"], x["side"], x["amount"]) for x in reversal.json()["lines"]}
    assert mirrored == {(fund, "debit", 120_000), (sink, "credit", 120_000)}
    assert reversal.json()["reverses"] == entry_id and reversal.json()["kind"] == "reversal"
    assert (await client.get(f"/ledger/entries/{entry_id}")).json()["reversed_by"] == reversal.json()["id"]
    assert await balance(client, fund) == 300_000 and await balance(client, sink) == 0

    again = await client.post(f"/ledger/entries/{entry_id}/reversal", json={}, headers=key())
    assert again.status_code == 409 and again.json()["type"].endswith("already-reversed")
    undo_undo = await client.post(f"/ledger/entries/{reversal.json()['id']}/reversal", json={}, headers=key())
    assert undo_undo.status_code == 422

    statement = (await client.get(f"/ledger/accounts/{fund}/lines", params={"limit": 2})).json()
    assert [x["amount"] for x in statement["items"]] == [300_000, 120_000] and statement["next_cursor"]
    rest = await client.get(f"/ledger/accounts/{fund}/lines", params={"cursor": statement["next_cursor"]})
    assert [x["side"] for x in rest.json()["items"]] == ["debit"]

    tb = (await client.get("/ledger/trial-balance", params={"verify": "true"})).json()
    assert tb["difference"] == 0 and tb["balanced"] and tb["mismatched_accounts"] == []
    assert tb["negative_accounts"] == []


BAD_LINES = [
    ("negative", -5, None),
    ("zero", 0, None),
    ("float", 1000.0, None),
    ("float-string", "1000", None),
    ("bool", True, None),
    ("too big", 10**16, None),
    ("unbalanced", 1000, 999),
]


@pytest.mark.parametrize(("name", "debit_amount", "credit_amount"), BAD_LINES)
async def test_bad_entries_are_problems_and_write_nothing(
    client: httpx.AsyncClient,
    resources: RunningService,
    name: str,
    debit_amount: object,
    credit_amount: object,
) -> None:
    t = tag()
    await open_account(client, f"fund:campaign:{t}", "campaign_fund")
    await open_account(client, "ext:donations:goods", "donations_received")
    before = await _counts(resources)
    body = {
        "memo": name,
        "lines": [
            {"account": f"fund:campaign:{t}", "side": "debit", "amount": debit_amount},
            {"account": "ext:donations:goods", "side": "credit", "amount": credit_amount or debit_amount},
        ],
    }
    response = await client.post("/ledger/entries", json=body, headers=key())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await _counts(resources) == before


async def test_unknown_accounts_overdrafts_and_bad_codes_change_nothing(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    t = tag()
    wallet = f"wallet:chanchan:{t}"
    await open_account(client, wallet, "voucher_wallet")
    await open_account(client, f"ext:redeemed:{t}", "voucher_redeemed")
    before = await _counts(resources)
    unknown = await transfer(client, f"ext:redeemed:{t}", f"wallet:chanchan:nobody{t}", 1)
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("unknown-account")
    # A boundary account is not read before posting: its foreign key refuses it.
    await open_account(client, "ext:donations:cash", "donations_received")
    unknown_sink = await transfer(client, f"ext:disbursed:never{t}", "ext:donations:cash", 1)
    assert unknown_sink.status_code == 422 and unknown_sink.json()["type"].endswith("unknown-account")
    shapeless = await transfer(client, f"nowhere:{t}", "ext:donations:cash", 1)
    assert shapeless.status_code == 422
    overdraft = await transfer(client, f"ext:redeemed:{t}", wallet, 1)
    assert overdraft.status_code == 409 and overdraft.json()["shortfall"] == 1
    wrong_shape = await client.post("/ledger/accounts", json={"code": f"fund:{t}", "kind": "general_fund"})
    assert wrong_shape.status_code == 422
    clash = await client.post("/ledger/accounts", json={"code": wallet, "kind": "campaign_fund"})
    assert clash.status_code == 422  # a wallet code is not a campaign fund's shape
    no_key = await client.post("/ledger/entries", json={"memo": "x", "lines": []})
    assert no_key.status_code == 422
    assert await _counts(resources) == before
    assert await balance(client, wallet) == 0


async def test_roles_are_enforced(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ledger/trial-balance", headers={"Authorization": ""})).status_code == 401
    for role in ("auditor", "supervisor"):
        headers = TEST_MINT.headers(role)
        assert (await client.get("/ledger/trial-balance", headers=headers)).status_code == 200
        posted = await client.post("/ledger/entries", json={}, headers={**headers, **key()})
        assert posted.status_code in (403, 422)
        body = {"memo": "x", "lines": [{"account": "a", "side": "debit", "amount": 1}] * 2}
        assert (
            await client.post("/ledger/entries", json=body, headers={**headers, **key()})
        ).status_code == 403
    for role in ("dong_officer", "partner_agency", "hotline_counsellor", "case_manager"):
        assert (await client.get("/ledger/accounts", headers=TEST_MINT.headers(role))).status_code == 403


@pytest.mark.parametrize("table", ["journal_entries", "journal_lines"])
async def test_the_database_refuses_to_edit_the_journal(
    client: httpx.AsyncClient, resources: RunningService, table: str
) -> None:
    t = tag()
    await open_account(client, f"stock:{t}", "in_kind_stock")
    await open_account(client, "ext:donations:goods", "donations_received")
    assert (await transfer(client, f"stock:{t}", "ext:donations:goods", 5_000)).status_code == 201
    before = await _counts(resources)
    column = "memo = 'edited'" if table == "journal_entries" else "amount = amount + 1"
    for statement in (f"UPDATE {table} SET {column}", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):
            async with resources.runtime.engine.begin() as conn:
                await conn.execute(text(statement))
    assert await _counts(resources) == before
    tb = (await client.get("/ledger/trial-balance", params={"verify": "true"})).json()
    assert tb["balanced"]
