"""The follow-up scheduler: a controllable clock, a restart in the middle, a crashed round,
concurrent replicas — and never a duplicate followup.due. Then outcomes and reopening."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from heemang_casework import service
from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import Case, FollowUp, OutboxMessage
from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.stages import Selection, Stage, TransitionCommand
from heemang_casework.scheduler import FollowUpScheduler, claim_due
from heemang_casework.settings import Settings
from heemang_common.db import create_engine, transaction
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)

DUE = "heemang.casework.followup.due.v1"
FIRST_DUE, SECOND_DUE = date(2026, 7, 15), date(2027, 1, 15)  # of a case closed on 15 January


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def database(databases: DatabaseFactory) -> str:
    return await databases.fresh_database("casework", SERVICE_ROOT)


@pytest.fixture
async def engine(database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database)
    yield engine
    await engine.dispose()


def _sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def _closed_cases(
    sessions: async_sessionmaker[AsyncSession], count: int, selection: Selection
) -> list[Case]:
    """Closed (종결) cases with their follow-up rows."""
    cases = []
    target = Stage.conference if selection is Selection.case_management else Stage.delivery
    for _ in range(count):
        async with transaction(sessions) as session:
            case = await service.open_case_for_referral(
                session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong="sinsa"
            )
            for command in (
                TransitionCommand(Stage.assessment),
                TransitionCommand(Stage.selection),
                TransitionCommand(target, selection=selection),
                TransitionCommand(Stage.closed, closure_reason=ClosureReason.situation_improved),
            ):
                await service.change_stage(session, case.id, command)
            # Pin the dates to the calendar the test's clock walks (closure used the real clock).
            for sequence, due_on in ((1, FIRST_DUE), (2, SECOND_DUE)):
                await session.execute(
                    update(FollowUp)
                    .where(FollowUp.case_id == case.id, FollowUp.sequence == sequence)
                    .values(due_on=due_on)
                )
        cases.append(case)
    return cases


async def _due_events(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, object]]:
    async with transaction(sessions) as session:
        stmt = select(OutboxMessage.payload).where(OutboxMessage.event_type == DUE).order_by(OutboxMessage.id)
        return [json.loads(p)["data"] for p in (await session.execute(stmt)).scalars()]


async def test_followup_due_once_across_a_restart_a_crash_and_concurrent_replicas(
    database: str, engine: AsyncEngine
) -> None:
    sessions = _sessions(engine)
    cases = await _closed_cases(sessions, 6, Selection.case_management)
    linked = await _closed_cases(sessions, 2, Selection.service_linkage)
    clock = FakeClock(datetime(2026, 7, 14, 14, 59, tzinfo=UTC))  # 23:59 on 14 July in Seoul
    first = FollowUpScheduler(sessions, clock=clock, batch_size=3)
    assert await first.run_once() == 0 and await _due_events(sessions) == []

    clock.now = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)  # 00:00 on 15 July in Seoul: due
    assert await first.run_once() == 3  # one batch, then the process "dies"
    await engine.dispose()

    # A crashed round: claimed, then the transaction fails before commit — nothing sticks.
    restarted = create_engine(database)
    try:
        sessions = _sessions(restarted)
        with pytest.raises(RuntimeError):
            async with transaction(sessions) as session:
                assert await claim_due(session, clock.now, 100) == 5
                raise RuntimeError("crash before commit")
        assert len(await _due_events(sessions)) == 3

        # Restarted, and a second replica beside it: concurrent rounds claim disjoint rows.
        second = FollowUpScheduler(sessions, clock=clock, batch_size=2)
        replica_engine = create_engine(database)
        try:
            replica = FollowUpScheduler(_sessions(replica_engine), clock=clock, batch_size=2)
            while sum(await asyncio.gather(second.run_once(), replica.run_once(), second.run_once())):
                pass
        finally:
            await replica_engine.dispose()
        events = await _due_events(sessions)
        assert len(events) == 8 and len({e["follow_up_id"] for e in events}) == 8
        assert {e["sequence"] for e in events} == {1}
        assert {e["case_id"] for e in events} == {str(c.id) for c in cases + linked}

        # Six months on: only the case-management households have a second follow-up.
        clock.now = datetime(2027, 1, 15, 0, 0, tzinfo=UTC)
        while await second.run_once():
            pass
        assert await second.run_once() == 0
        events = await _due_events(sessions)
        assert len(events) == 14 and len({e["follow_up_id"] for e in events}) == 14
        seconds = [e for e in events if e["sequence"] == 2]
        assert {e["case_id"] for e in seconds} == {str(c.id) for c in cases}
        assert all(e["due_on"] == "2027-01-15" and e["dong"] == "sinsa" for e in seconds)
        async with transaction(sessions) as session:
            statuses = set((await session.execute(select(FollowUp.status))).scalars())
        assert statuses == {"due"}
    finally:
        await restarted.dispose()


async def test_the_scheduler_runs_with_the_app_and_survives_its_restart(
    database: str, engine: AsyncEngine, bootstrap: str
) -> None:
    sessions = _sessions(engine)
    cases = await _closed_cases(sessions, 3, Selection.case_management)
    clock = FakeClock(datetime(2026, 7, 1, tzinfo=UTC))
    settings = fast_settings(Settings, database_url=database, bootstrap=bootstrap, followup_interval_s=0.05)

    app = await serve("casework", create_app(settings, clock=clock), settings.port)
    try:
        await asyncio.sleep(0.3)
        assert await _due_events(sessions) == []
        clock.now = datetime(2026, 7, 16, tzinfo=UTC)
        await eventually(lambda: _count(sessions, 3), timeout_s=10)
    finally:
        await app.stop()

    settings = fast_settings(Settings, database_url=database, bootstrap=bootstrap, followup_interval_s=0.05)
    again = await serve("casework", create_app(settings, clock=clock), settings.port)
    try:
        await asyncio.sleep(0.3)  # several rounds after the restart: nothing fires again
        assert len(await _due_events(sessions)) == 3
        clock.now = datetime(2027, 2, 1, tzinfo=UTC)
        await eventually(lambda: _count(sessions, 6), timeout_s=10)
        await asyncio.sleep(0.2)
        events = await _due_events(sessions)
        assert len({e["follow_up_id"] for e in events}) == len(events) == 6
        assert {e["case_id"] for e in events} == {str(c.id) for c in cases}
    finally:
        await again.stop()


async def _count(sessions: async_sessionmaker[AsyncSession], expected: int) -> bool:
    return len(await _due_events(sessions)) >= expected


@pytest.fixture
async def running(database: str, bootstrap: str) -> AsyncIterator[RunningService]:
    settings = fast_settings(Settings, database_url=database, bootstrap=bootstrap)
    app = await serve("casework", create_app(settings), settings.port)
    yield app
    await app.stop()


async def test_an_outcome_with_a_new_crisis_reopens_the_case_in_one_call(running: RunningService) -> None:
    sessions = running.runtime.sessionmaker
    [case] = await _closed_cases(sessions, 1, Selection.case_management)
    officer = TEST_MINT.headers("dong_officer", sub="d-1", dongs=["sinsa"])
    async with httpx.AsyncClient(base_url=running.url, timeout=10, headers=officer) as http:
        items = (await http.get(f"/cases/{case.id}/follow-ups")).json()["items"]
        assert [i["sequence"] for i in items] == [1, 2] and {i["status"] for i in items} == {"scheduled"}
        first, second = items
        # The 6-month follow-up falls due: it is in the 동 officer's work list until its outcome.
        async with transaction(sessions) as session:
            assert await claim_due(session, datetime(2026, 7, 15, tzinfo=UTC), 10) == 1
        work = (await http.get("/worklist")).json()["items"]
        [due] = [w for w in work if w["kind"] == "follow_up_due" and w["case_id"] == str(case.id)]
        assert due["follow_up_id"] == first["id"]
        bad = await http.post(
            f"/cases/{case.id}/follow-ups/{first['id']}/outcome", json={"outcome": "stable", "reopen": True}
        )
        assert bad.status_code == 422
        done = await http.post(
            f"/cases/{case.id}/follow-ups/{first['id']}/outcome",
            json={"outcome": "new_crisis", "note": "실직", "reopen": True},
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "done" and done.json()["outcome_by"] == "d-1"
        read = (await http.get(f"/cases/{case.id}")).json()
        assert read["stage"] == "assessment" and read["selection"] is None and read["closed_at"] is None
        items = (await http.get(f"/cases/{case.id}/follow-ups")).json()["items"]
        assert items[1]["id"] == second["id"] and items[1]["status"] == "cancelled"
        work = (await http.get("/worklist")).json()["items"]
        assert str(case.id) not in {w["case_id"] for w in work if w["kind"] == "follow_up_due"}
        again = await http.post(
            f"/cases/{case.id}/follow-ups/{first['id']}/outcome", json={"outcome": "stable"}
        )
        assert again.status_code == 422  # the case is being worked on again, not followed up
        timeline = (await http.get(f"/cases/{case.id}/timeline")).json()["items"]
        assert [e["kind"] for e in timeline][-2:] == ["follow_up", "reopened"]
        # Reopening an open case is illegal and names what is allowed.
        cm = TEST_MINT.headers("case_manager", sub="cm-1", dongs=["sinsa"])
        refused = await http.post(f"/cases/{case.id}/reopen", json={}, headers=cm)
        assert refused.status_code == 409 and refused.json()["allowed"] == ["selection"]
    async with transaction(sessions) as session:
        stages = (
            await session.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.event_type == "heemang.casework.case.stage_changed.v1")
                .order_by(OutboxMessage.id)
            )
        ).scalars()
        moves = [json.loads(p)["data"] for p in stages]
    reopened = [m for m in moves if m["case_id"] == str(case.id)][-1]
    assert (reopened["from_stage"], reopened["to_stage"]) == ("closed", "assessment")
    # Closing again schedules fresh dates (the cancelled one is replaced, not duplicated).
    async with transaction(sessions) as session:
        for command in (
            TransitionCommand(Stage.selection),
            TransitionCommand(Stage.conference, selection=Selection.case_management),
            TransitionCommand(Stage.closed, closure_reason=ClosureReason.short_term_goal_met),
        ):
            await service.change_stage(session, case.id, command)
        rows = (await session.execute(select(FollowUp).where(FollowUp.case_id == case.id))).scalars().all()
    assert sorted(r.status for r in rows) == ["done", "scheduled", "scheduled"]
