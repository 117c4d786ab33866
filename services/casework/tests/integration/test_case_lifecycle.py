"""The case lifecycle over real HTTP against a migrated database: every stage to closure and
follow-up, the timeline, the outbox, follow-up rows, and refusals that change nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from heemang_casework import service
from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import Case, CaseTimelineEntry, FollowUp, OutboxMessage
from heemang_casework.domain.followup import due_dates, local_date
from heemang_casework.domain.stages import Selection
from heemang_casework.settings import Settings
from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve

STAGE_CHANGED = "heemang.casework.case.stage_changed.v1"
CLOSED = "heemang.casework.case.closed.v1"


@pytest.fixture(scope="module")
async def casework(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("casework", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap)
    running = await serve("casework", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def client(casework: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    headers = TEST_MINT.headers("district_admin", sub="u-admin")
    async with httpx.AsyncClient(base_url=casework.url, timeout=10, headers=headers) as http:
        yield http


async def _open_case(casework: RunningService) -> uuid.UUID:
    """A case at ① 접수, opened the way the referral.accepted handler opens one."""
    async with transaction(casework.runtime.sessionmaker) as session:
        case = await service.open_case_for_referral(
            session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong="1168064000"
        )
    return case.id


async def _move(client: httpx.AsyncClient, case_id: uuid.UUID, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/cases/{case_id}/transitions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _outbox(casework: RunningService, case_id: uuid.UUID) -> list[dict[str, Any]]:
    async with transaction(casework.runtime.sessionmaker) as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        events = [json.loads(row.payload) for row in rows]
    return [e for e in events if e["subject"] == str(case_id)]


async def _counts(casework: RunningService, case_id: uuid.UUID) -> tuple[int, int, int, str]:
    async with transaction(casework.runtime.sessionmaker) as session:
        timeline = await session.scalar(
            select(func.count()).select_from(CaseTimelineEntry).where(CaseTimelineEntry.case_id == case_id)
        )
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        follow_ups = await session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.case_id == case_id)
        )
        case = await session.get(Case, case_id)
        assert case is not None
    return int(timeline or 0), int(outbox or 0), int(follow_ups or 0), case.stage


async def test_a_case_goes_through_every_stage_to_follow_up(
    casework: RunningService, client: httpx.AsyncClient
) -> None:
    case_id = await _open_case(casework)
    assert (await client.get(f"/cases/{case_id}")).json()["allowed_next"] == ["assessment"]

    await _move(client, case_id, to="assessment")
    await _move(client, case_id, to="selection", note="욕구조사 완료: 주거, 건강")
    selected = await _move(client, case_id, to="conference", selection="case_management", reason="복합 욕구")
    assert selected["selection"] == "case_management"
    await _move(client, case_id, to="planning")
    await _move(client, case_id, to="delivery")
    await _move(client, case_id, to="planning", note="목표수정")  # re-plan after monitoring
    await _move(client, case_id, to="delivery")
    closed = await _move(client, case_id, to="closed", closure_reason="long_term_goal_met")
    assert closed["stage"] == "closed" and closed["closure_reason"] == "long_term_goal_met"
    assert closed["closure_category"] == "positive" and closed["closed_at"]
    assert closed["allowed_next"] == ["follow_up"]
    final = await _move(client, case_id, to="follow_up")
    assert final["allowed_next"] == [] and final["closed_at"] == closed["closed_at"]

    timeline = (await client.get(f"/cases/{case_id}/timeline")).json()["items"]
    moves = [(e["kind"], e["from_stage"], e["to_stage"]) for e in timeline]
    path = ["intake", "assessment", "selection", "conference", "planning", "delivery", "planning"]
    pairs = list(itertools.pairwise([*path, "delivery", "closed", "follow_up"]))
    assert moves == [("opened", None, "intake"), *(("stage_changed", a, b) for a, b in pairs)]
    assert timeline[2]["note"] == "욕구조사 완료: 주거, 건강"
    assert timeline[-2]["reason"] == "long_term_goal_met" and timeline[-1]["actor"] == "u-admin"

    events = await _outbox(casework, case_id)
    changed = [e for e in events if e["type"] == STAGE_CHANGED]
    assert [(e["data"]["from_stage"], e["data"]["to_stage"]) for e in changed] == pairs
    assert changed[2]["data"]["selection"] == "case_management"
    assert "복합 욕구" not in json.dumps(events)  # free text stays in the timeline, out of events
    [closure] = [e for e in events if e["type"] == CLOSED]
    expected_due = due_dates(
        local_date(datetime.fromisoformat(closed["closed_at"])), Selection.case_management
    )
    assert closure["data"]["follow_up_due"] == [d.isoformat() for d in expected_due]
    assert closure["data"]["reason_category"] == "positive"
    assert [e["type"] for e in events].index(CLOSED) > [e["type"] for e in events].index(STAGE_CHANGED)

    async with transaction(casework.runtime.sessionmaker) as session:
        rows = (await session.execute(select(FollowUp).where(FollowUp.case_id == case_id))).scalars().all()
    assert sorted(r.due_on for r in rows) == expected_due and {r.status for r in rows} == {"scheduled"}


async def test_service_linkage_goes_to_delivery_and_is_followed_up_once(
    casework: RunningService, client: httpx.AsyncClient
) -> None:
    case_id = await _open_case(casework)
    await _move(client, case_id, to="assessment")
    await _move(client, case_id, to="selection")
    linked = await _move(client, case_id, to="delivery", selection="service_linkage")
    assert linked["allowed_next"] == ["closed"]
    await _move(client, case_id, to="closed", closure_reason="no_contact_3_months")
    [closure] = [e for e in await _outbox(casework, case_id) if e["type"] == CLOSED]
    assert closure["data"]["reason_category"] == "circumstantial"
    assert len(closure["data"]["follow_up_due"]) == 1
    assert (await _counts(casework, case_id))[2] == 1


async def test_not_selected_closes_without_closure_event_or_follow_up(
    casework: RunningService, client: httpx.AsyncClient
) -> None:
    case_id = await _open_case(casework)
    await _move(client, case_id, to="assessment")
    await _move(client, case_id, to="selection")
    ended = await _move(client, case_id, to="closed", selection="not_selected", reason="본인 거부")
    assert ended["selection_reason"] == "본인 거부" and ended["closure_reason"] is None
    assert ended["allowed_next"] == []
    types = [e["type"] for e in await _outbox(casework, case_id)]
    assert CLOSED not in types and types.count(STAGE_CHANGED) == 3
    assert (await _counts(casework, case_id))[2] == 0


async def test_refusals_are_problem_json_and_change_nothing(
    casework: RunningService, client: httpx.AsyncClient
) -> None:
    case_id = await _open_case(casework)
    before = await _counts(casework, case_id)

    illegal = await client.post(f"/cases/{case_id}/transitions", json={"to": "delivery"})
    assert illegal.status_code == 409
    assert illegal.headers["content-type"].startswith("application/problem+json")
    problem = illegal.json()
    assert problem["type"].endswith("/illegal-transition")
    assert problem["allowed"] == ["assessment"] and problem["current"] == "intake"

    await _move(client, case_id, to="assessment")
    await _move(client, case_id, to="selection")
    middle = await _counts(casework, case_id)
    bad_bodies: list[dict[str, Any]] = [
        {"to": "nowhere"},
        {"to": "conference", "selection": "maybe"},
        {"to": "conference", "extra": 1},
        {"to": "conference"},  # no selection outcome
        {"to": "delivery", "selection": "case_management"},  # outcome leads elsewhere
        {"to": "closed", "selection": "not_selected"},  # 미선정 without a reason
        {"to": "closed", "selection": "not_selected", "reason": "x", "closure_reason": "death"},
    ]
    for body in bad_bodies:
        response = await client.post(f"/cases/{case_id}/transitions", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"/cases/{case_id}/transitions", json={"to": "follow_up"})).status_code == 409
    assert await _counts(casework, case_id) == middle
    assert middle[1] == before[1] + 2 and middle[0] == before[0] + 2

    unknown = uuid.uuid4()
    assert (await client.post(f"/cases/{unknown}/transitions", json={"to": "assessment"})).status_code == 404
    assert (await client.get(f"/cases/{unknown}/timeline")).status_code == 404


async def test_concurrent_transitions_of_one_case_apply_once(
    casework: RunningService, client: httpx.AsyncClient
) -> None:
    # The case row is locked for the transition: the second request sees the first's stage.
    case_id = await _open_case(casework)
    before = await _counts(casework, case_id)
    responses = await asyncio.gather(
        *(client.post(f"/cases/{case_id}/transitions", json={"to": "assessment"}) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    after = await _counts(casework, case_id)
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1 and after[3] == "assessment"
