"""Consultations through the real API, database and outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from heemang_common.testing import TEST_MINT, RunningService, eventually, fast_settings, serve
from heemang_hotline.app import create_app
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.db.models import Consultation, OutboxMessage
from heemang_hotline.settings import Settings


@pytest.fixture
async def hotline(databases: Any, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("hotline", SERVICE_ROOT)
    settings = fast_settings(
        Settings,
        database_url=url,
        bootstrap=bootstrap,
        scheduler_enabled=False,
        campaigns_enabled=False,
        consume_events=False,
    )
    service = await serve("hotline", create_app(settings), settings.port)
    yield service
    await service.stop()


async def outbox(service: RunningService) -> list[Any]:
    async with service.runtime.sessionmaker() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_logging_consultations_and_referring_to_intake(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        answered = await client.post(
            "/consultations",
            json={"at": "2021-03-02T10:00:00+09:00", "category": "housing", "outcome": "information_given"},
        )
        assert answered.status_code == 201, answered.text
        referred = await client.post(
            "/consultations",
            json={
                "at": "2021-03-02T23:30:00+09:00",
                "category": "low_income",
                "outcome": "referred_to_intake",
                "dong": "yeoksam1",
                "urgent": True,
                "notes": "rent arrears, lives alone",
            },
        )
        assert referred.status_code == 201, referred.text
        await client.post(
            "/consultations",
            json={"at": "2021-04-01T09:00:00+09:00", "category": "check_in", "outcome": "answered"},
        )

        daily = (
            await client.get("/consultations/stats", params={"start": "2021-03-01", "end": "2021-04-30"})
        ).json()
        assert "overall" in daily, daily
        assert daily["overall"]["total"] == 3 and daily["overall"]["linkages"] == 1
        assert [(p["period"], p["total"]) for p in daily["periods"]] == [("2021-03-02", 2), ("2021-04-01", 1)]
        monthly = (
            await client.get(
                "/consultations/stats", params={"start": "2021-03-01", "end": "2021-04-30", "by": "month"}
            )
        ).json()
        assert [(p["period"], p["per_day_average"]) for p in monthly["periods"]] == [
            ("2021-03", 2.0),
            ("2021-04", 1.0),
        ]

    rows = await outbox(hotline)
    types = [r.event_type for r in rows]
    assert types.count("heemang.hotline.consultation.logged.v1") == 3
    [request] = [
        json.loads(r.payload) for r in rows if r.event_type == "heemang.hotline.referral.requested.v1"
    ]
    assert request["data"]["dong"] == "yeoksam1" and request["data"]["urgent"] is True
    assert "rent arrears" not in json.dumps(request)  # notes stay in hotline

    async def published() -> bool:
        return all(r.published_at is not None for r in await outbox(hotline))

    await eventually(published, timeout_s=30)


async def test_bad_consultations_are_refused_and_change_nothing(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        unknown = await client.post("/consultations", json={"category": "astrology", "outcome": "answered"})
        assert unknown.status_code == 422
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert "housing" in unknown.json()["allowed"]
        no_dong = await client.post(
            "/consultations", json={"category": "housing", "outcome": "referred_to_intake"}
        )
        assert no_dong.status_code == 422
        naive = await client.post(
            "/consultations", json={"at": "2021-03-02T10:00:00", "category": "housing", "outcome": "answered"}
        )
        assert naive.status_code == 422
        backwards = await client.get(
            "/consultations/stats", params={"start": "2021-03-02", "end": "2021-03-01"}
        )
        assert backwards.status_code == 422
    async with hotline.runtime.sessionmaker() as session:
        assert (await session.execute(select(Consultation))).first() is None
    assert await outbox(hotline) == []
