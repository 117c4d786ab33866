"""Weekly check-ins through the real API: enrolment, outcomes, escalation events."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from heemang_common.testing import TEST_MINT, RunningService, fast_settings, serve
from heemang_hotline.app import create_app
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.db.models import CheckinSlot, OutboxMessage
from heemang_hotline.settings import Settings

MONDAYS = ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]


@pytest.fixture
async def client(databases: Any, bootstrap: str) -> AsyncIterator[httpx.AsyncClient]:
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
    async with httpx.AsyncClient(base_url=service.url, headers=TEST_MINT.headers("supervisor")) as http:
        http.service = service  # type: ignore[attr-defined]
        yield http
    await service.stop()


async def missed_events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    service: RunningService = client.service  # type: ignore[attr-defined]
    async with service.runtime.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return [
        json.loads(r.payload)["data"] for r in rows if r.event_type == "heemang.hotline.checkin.missed.v1"
    ]


async def enrol(client: httpx.AsyncClient, kind: str = "automated") -> str:
    programme = await client.post(
        "/programmes", json={"code": f"p_{uuid.uuid4().hex[:6]}", "name": "헬로안심", "kind": kind}
    )
    assert programme.status_code == 201, programme.text
    enrolment = await client.post(
        "/enrolments",
        json={
            "programme_id": programme.json()["id"],
            "household_id": str(uuid.uuid4()),
            "dong": "yeoksam1",
            "weekday": 0,
            "window_start": "10:00",
            "window_end": "12:00",
        },
    )
    assert enrolment.status_code == 201, enrolment.text
    return str(enrolment.json()["id"])


async def record(client: httpx.AsyncClient, enrolment: str, day: str, outcome: str) -> httpx.Response:
    return await client.post(
        f"/enrolments/{enrolment}/checkins", json={"slot_at": f"{day}T10:00:00+09:00", "outcome": outcome}
    )


async def test_two_misses_escalate_the_third_is_urgent(client: httpx.AsyncClient) -> None:
    enrolment = await enrol(client)
    assert (await record(client, enrolment, MONDAYS[0], "ok")).status_code == 201
    assert (await record(client, enrolment, MONDAYS[1], "no_answer")).status_code == 201
    assert await missed_events(client) == []
    assert (await record(client, enrolment, MONDAYS[2], "no_answer")).status_code == 201
    [second] = await missed_events(client)
    assert second["reason"] == "missed" and not second["urgent"] and second["consecutive_misses"] == 2
    assert [h["outcome"] for h in second["history"]] == ["ok", "no_answer", "no_answer"]
    assert (await record(client, enrolment, MONDAYS[3], "wrong_number")).status_code == 201
    third = (await missed_events(client))[-1]
    assert third["urgent"] and third["consecutive_misses"] == 3 and third["dong"] == "yeoksam1"
    history = (await client.get(f"/enrolments/{enrolment}/checkins")).json()["items"]
    assert [h["escalated"] for h in history] == [False, False, True, True]


async def test_asking_for_help_escalates_at_once(client: httpx.AsyncClient) -> None:
    enrolment = await enrol(client)
    helped = await record(client, enrolment, MONDAYS[0], "asked_for_help")
    assert helped.status_code == 201, helped.text
    assert helped.json()["escalated"], helped.text
    [event] = await missed_events(client)
    assert event["reason"] == "asked_for_help" and event["urgent"]


async def test_one_way_messages_never_escalate(client: httpx.AsyncClient) -> None:
    enrolment = await enrol(client, kind="message")
    for day in MONDAYS[:3]:
        await record(client, enrolment, day, "no_answer")
    assert await missed_events(client) == []


async def test_bad_checkins_are_refused_and_change_nothing(client: httpx.AsyncClient) -> None:
    enrolment = await enrol(client)
    assert (await record(client, enrolment, MONDAYS[0], "no_answer")).status_code == 201
    again = await record(client, enrolment, MONDAYS[0], "ok")
    assert again.status_code == 409  # a slot is recorded once
    tuesday = await record(client, enrolment, "2026-11-03", "ok")
    assert tuesday.status_code == 422 and tuesday.headers["content-type"].startswith(
        "application/problem+json"
    )
    late = await client.post(
        f"/enrolments/{enrolment}/checkins", json={"slot_at": "2026-11-09T15:00:00+09:00", "outcome": "ok"}
    )
    assert late.status_code == 422
    night = await client.post(
        "/enrolments",
        json={
            "programme_id": str(uuid.uuid4()),
            "household_id": str(uuid.uuid4()),
            "dong": "d1",
            "weekday": 0,
            "window_start": "20:00",
            "window_end": "22:00",
        },
    )
    assert night.status_code == 404  # unknown programme checked first
    service: RunningService = client.service  # type: ignore[attr-defined]
    async with service.runtime.sessionmaker() as session:
        assert len((await session.execute(select(CheckinSlot))).all()) == 1


async def test_quiet_hours_refuse_a_night_window(client: httpx.AsyncClient) -> None:
    programme = (
        await client.post(
            "/programmes", json={"code": "hope_call", "name": "희망콜", "kind": "counsellor_call"}
        )
    ).json()
    night = await client.post(
        "/enrolments",
        json={
            "programme_id": programme["id"],
            "household_id": str(uuid.uuid4()),
            "dong": "d1",
            "weekday": 4,
            "window_start": "20:00",
            "window_end": "22:00",
        },
    )
    assert night.status_code == 422 and "quiet hours" in night.json()["detail"]
    duplicate = await client.post("/programmes", json={"code": "hope_call", "name": "x", "kind": "message"})
    assert duplicate.status_code == 409
