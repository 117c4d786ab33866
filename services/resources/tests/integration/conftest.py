"""The resources service for real: uvicorn on a loopback port, a migrated database, the broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_resources.app import create_app
from heemang_resources.cli import SERVICE_ROOT
from heemang_resources.settings import Settings

OFFICER = TEST_MINT.headers("resource_officer", sub="officer-1")


@pytest.fixture(scope="module")
async def resources(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("resources", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap)
    running = await serve("resources", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def client(resources: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=resources.url, timeout=30, headers=OFFICER, limits=limits) as http:
        yield http


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def tag() -> str:
    """A code segment of the test's own, so tests share a database without sharing accounts."""
    return uuid.uuid4().hex[:10]


async def open_account(client: httpx.AsyncClient, code: str, kind: str) -> dict[str, Any]:
    response = await client.post("/ledger/accounts", json={"code": code, "kind": kind})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def transfer(
    client: httpx.AsyncClient, debit: str, credit: str, amount: int, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "memo": "test",
        "lines": [
            {"account": debit, "side": "debit", "amount": amount},
            {"account": credit, "side": "credit", "amount": amount},
        ],
    }
    return await client.post("/ledger/entries", json=body, headers=headers or key())


async def balance(client: httpx.AsyncClient, code: str) -> int:
    response = await client.get(f"/ledger/accounts/{code}")
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])
