"""RELIABILITY.md T10: Idempotency-Key on money endpoints, and 50 concurrent charges on one
voucher wallet that never overdraw it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from heemang_common.db import transaction
from heemang_common.events.envelope import utcnow
from heemang_common.testing import RunningService
from heemang_resources.db.models import IdempotencyKey, JournalLine
from heemang_resources.service import idempotency

from .conftest import balance, key, open_account, tag, transfer


async def _postings(resources: RunningService, account: str) -> int:
    async with transaction(resources.runtime.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(JournalLine).where(JournalLine.account_code == account)
        )
    return int(count or 0)


async def _funded_wallet(client: httpx.AsyncClient, amount: int) -> tuple[str, str]:
    t = tag()
    wallet, shop, budget = f"wallet:chanchan:{t}", f"ext:redeemed:{t}", f"budget:{t}:district"
    await open_account(client, wallet, "voucher_wallet")
    await open_account(client, shop, "voucher_redeemed")
    await open_account(client, budget, "budget_line")
    await open_account(client, "ext:appropriation:district", "appropriation")
    assert (await transfer(client, budget, "ext:appropriation:district", amount)).status_code == 201
    assert (await transfer(client, wallet, budget, amount)).status_code == 201
    return wallet, shop


async def test_fifty_parallel_identical_posts_make_one_posting(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    wallet, shop = await _funded_wallet(client, 40_000)
    headers = key()
    responses = await asyncio.gather(
        *[transfer(client, shop, wallet, 7_000, headers=headers) for _ in range(50)]
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    completed = [r for r in responses if r.status_code == 201]
    in_flight = [r for r in responses if r.status_code == 409]
    assert completed, statuses
    assert all(r.json()["type"].endswith("idempotency-key-in-flight") for r in in_flight)
    assert all(r.headers["retry-after"] == "1" and r.json()["retryable"] for r in in_flight)
    # Retrying the in-flight ones once the first finished gives the same bytes.
    retried = await asyncio.gather(
        *[transfer(client, shop, wallet, 7_000, headers=headers) for _ in in_flight]
    )
    bodies = {r.content for r in [*completed, *retried]}
    assert len(bodies) == 1 and all(r.status_code == 201 for r in retried)
    assert all(r.headers.get("idempotent-replayed") == "true" for r in retried)
    assert await _postings(resources, shop) == 1
    assert await balance(client, wallet) == 33_000


async def test_same_key_with_another_body_is_refused_and_posts_nothing(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    wallet, shop = await _funded_wallet(client, 40_000)
    headers = key()
    first = await transfer(client, shop, wallet, 1_000, headers=headers)
    assert first.status_code == 201
    other = await transfer(client, shop, wallet, 2_000, headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    # The same key on another endpoint is another request too.
    reversal = await client.post(f"/ledger/entries/{first.json()['id']}/reversal", json={}, headers=headers)
    assert reversal.status_code == 422
    assert await _postings(resources, shop) == 1 and await balance(client, wallet) == 39_000


async def test_refused_requests_are_not_remembered(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    wallet, shop = await _funded_wallet(client, 1_000)
    headers = key()
    invalid = await client.post(
        "/ledger/entries", json={"memo": "x", "lines": [{"account": wallet}]}, headers=headers
    )
    assert invalid.status_code == 422
    overdraft = await transfer(client, shop, wallet, 5_000, headers=headers)
    assert overdraft.status_code == 409 and overdraft.json()["type"].endswith("overdraft")
    again = await transfer(client, shop, wallet, 5_000, headers=headers)  # still refused, not replayed
    assert again.status_code == 409 and "idempotent-replayed" not in again.headers
    ok = await transfer(client, shop, wallet, 1_000, headers=headers)  # the key is free for the fix
    assert ok.status_code == 201
    assert await _postings(resources, shop) == 1


async def test_keys_live_at_least_a_day_then_expire(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    wallet, shop = await _funded_wallet(client, 10_000)
    young, old = key(), key()
    assert (await transfer(client, shop, wallet, 1_000, headers=young)).status_code == 201
    first = await transfer(client, shop, wallet, 1_000, headers=old)
    assert first.status_code == 201
    sm = resources.runtime.sessionmaker
    async with transaction(sm) as session:
        for headers, age in ((young, timedelta(hours=47)), (old, timedelta(hours=49))):
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == headers["Idempotency-Key"])
                .values(claimed_at=utcnow() - age)
            )
    async with transaction(sm) as session:
        assert await idempotency.purge(session, timedelta(hours=48)) >= 1
    replay = await transfer(client, shop, wallet, 1_000, headers=young)
    assert replay.headers.get("idempotent-replayed") == "true"
    after_expiry = await transfer(client, shop, wallet, 1_000, headers=old)
    assert after_expiry.status_code == 201 and after_expiry.json()["id"] != first.json()["id"]
    assert await _postings(resources, shop) == 3


async def test_a_stale_in_flight_claim_is_taken_over(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    """A request that died before committing leaves its claim; after the lease the key works."""
    wallet, shop = await _funded_wallet(client, 10_000)
    headers = key()
    probe = await transfer(client, shop, wallet, 1_000, headers=headers)  # learn the fingerprint
    async with transaction(resources.runtime.sessionmaker) as session:
        row = await session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.key == headers["Idempotency-Key"])
        )
        assert row is not None
        stale = {c: getattr(row, c) for c in ("owner", "fingerprint")}
    crashed = {"Idempotency-Key": str(uuid.uuid4())}
    async with transaction(resources.runtime.sessionmaker) as session:
        session.add(
            IdempotencyKey(
                **stale,
                key=crashed["Idempotency-Key"],
                state="in_flight",
                token=uuid.uuid4(),
                claimed_at=utcnow() - timedelta(minutes=5),
            )
        )
    assert probe.status_code == 201
    async with transaction(resources.runtime.sessionmaker) as session:  # a fresh claim: still running
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == crashed["Idempotency-Key"])
            .values(claimed_at=utcnow())
        )
    busy = await transfer(client, shop, wallet, 1_000, headers=crashed)
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1" and busy.json()["retryable"]
    async with transaction(resources.runtime.sessionmaker) as session:  # its process died
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == crashed["Idempotency-Key"])
            .values(claimed_at=utcnow() - timedelta(minutes=5))
        )
    taken_over = await transfer(client, shop, wallet, 1_000, headers=crashed)
    assert taken_over.status_code == 201
    assert await balance(client, wallet) == 8_000


async def test_fifty_concurrent_charges_never_overdraw_a_wallet(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    wallet, shop = await _funded_wallet(client, 40_000)
    charges = await asyncio.gather(*[transfer(client, shop, wallet, 3_000) for _ in range(50)])
    statuses = sorted(r.status_code for r in charges)
    assert statuses.count(201) == 13 and statuses.count(409) == 37, statuses
    assert all(r.json()["type"].endswith("overdraft") for r in charges if r.status_code == 409)
    assert await balance(client, wallet) == 1_000
    tb = (await client.get("/ledger/trial-balance", params={"verify": "true"})).json()
    assert tb["balanced"] and tb["negative_accounts"] == []
