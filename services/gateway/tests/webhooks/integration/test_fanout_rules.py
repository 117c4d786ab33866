"""The fan-out rules on a migrated database: who gets a delivery for which event."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.db import transaction
from heemang_common.events.casework import CaseAssigned, CaseAssignedData
from heemang_common.events.resources import AllocationApproved, DistributionDelivered
from heemang_gateway.webhooks import repository as repo
from heemang_gateway.webhooks.handlers import consumer_spec
from heemang_gateway.webhooks.models import CaseAgencies, WebhookDelivery

Sessions = async_sessionmaker[AsyncSession]


def _assigned(case_id: uuid.UUID, agencies: list[str], minutes: int = 0) -> CaseAssigned:
    example = CaseAssigned.example()
    data = CaseAssignedData(
        **{
            **example.data.model_dump(),
            "case_id": case_id,
            "agencies": agencies,
            "assigned_at": example.data.assigned_at + timedelta(minutes=minutes),
        }
    )
    return CaseAssigned.create(subject=case_id, data=data)


async def _endpoint(session: AsyncSession, agency: str, types: list[str], clock: Any) -> uuid.UUID:
    endpoint, _ = await repo.create_endpoint(
        session,
        agency_id=agency,
        url="https://partner.example/h",
        event_types=types,
        description="",
        created_by="t",
        now=clock.now(),
    )
    return endpoint.id


async def _bodies(sessions: Sessions, endpoint_id: uuid.UUID) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery.body)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.seq)
            )
        ).scalars()
        return [json.loads(b) for b in rows]


async def test_resources_events_reach_assigned_agencies_thin(sessionmaker: Sessions, clock: Any) -> None:
    agency = f"ag-{uuid.uuid4().hex[:8]}"
    approved = AllocationApproved.example()
    case_id = approved.data.case_id
    async with transaction(sessionmaker) as session:
        subscribed = await _endpoint(session, agency, ["service.approved.v1", "service.delivered.v1"], clock)
        not_subscribed = await _endpoint(session, agency, ["case.closed.v1"], clock)
        await repo.record_assignment(session, _assigned(case_id, [agency]))
    async with transaction(sessionmaker) as session:
        assert await repo.fan_out(session, approved, clock.now()) == 1
        assert await repo.fan_out(session, approved, clock.now()) == 0  # once per endpoint × event
        delivered = DistributionDelivered.example()
        unlinked = DistributionDelivered.create(
            subject="x", data=delivered.data.model_copy(update={"case_id": None})
        )
        assert await repo.fan_out(session, unlinked, clock.now()) == 0  # no case, no partner
    (body,) = await _bodies(sessionmaker, subscribed)
    assert body["type"] == "service.approved.v1"
    assert set(body["data"]) == {"allocation_id", "request_id", "case_id", "approved_at"}
    assert await _bodies(sessionmaker, not_subscribed) == []


async def test_latest_assignment_wins_and_late_old_ones_are_ignored(
    sessionmaker: Sessions, clock: Any
) -> None:
    first, second = f"ag-{uuid.uuid4().hex[:8]}", f"ag-{uuid.uuid4().hex[:8]}"
    case_id = uuid.uuid4()
    async with transaction(sessionmaker) as session:
        endpoints = {a: await _endpoint(session, a, ["case.assigned.v1"], clock) for a in (first, second)}
    handler = consumer_spec().handlers[CaseAssigned.type_name()]
    for event in (
        _assigned(case_id, [first], 0),
        _assigned(case_id, [second], 10),
        _assigned(case_id, [first], 5),
    ):
        async with transaction(sessionmaker) as session:
            await handler(event, session)
    # The late, older assignment neither undoes the newer one nor is announced to anyone.
    async with sessionmaker() as session:
        row = await session.get(CaseAgencies, case_id)
        assert row is not None and row.agencies == [second]
    assert len(await _bodies(sessionmaker, endpoints[first])) == 1
    assert len(await _bodies(sessionmaker, endpoints[second])) == 1


def test_the_consumer_reads_every_source_topic() -> None:
    spec = consumer_spec()
    assert set(spec.topics) == {"heemang.casework.case", "heemang.resources.allocation"}
    assert "heemang.resources.allocation.approved.v1" in spec.handlers
