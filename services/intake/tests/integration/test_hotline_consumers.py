"""Intake's consumers against a real broker: envelopes built with the event classes are
produced to their topics (key = the event's partition key, as the relay sends them) and
intake turns them into referrals, or into its projection of casework's open cases.

Each test waits for the inbox row of the last event it sent before asserting an absence:
an event in the inbox was handled, in the same transaction as its effect."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from heemang_common.broker import EmbeddedBroker
from heemang_common.events.casework import (
    CaseClosed,
    CaseClosedData,
    CaseOpened,
    CaseOpenedData,
    CaseStageChanged,
    CaseStageChangedData,
)
from heemang_common.events.envelope import Event, utcnow
from heemang_common.events.hotline import (
    CheckinMissed,
    CheckinMissedData,
    CheckinRecord,
    ReferralRequested,
    ReferralRequestedData,
)
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT
from heemang_intake.db.models import Household, InboxMessage, OpenCase, OutboxMessage, Referral
from heemang_intake.settings import Settings


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=intake_broker.bootstrap_servers)
    running = await serve("intake", create_app(settings), settings.port)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
async def producer(intake_broker: EmbeddedBroker) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=intake_broker.bootstrap_servers, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def send(producer: AIOKafkaProducer, *events: Event) -> None:
    """As the relay publishes: the event's topic, key = its partition key (household id)."""
    for event in events:
        headers = [("ce_type", event.type.encode()), ("ce_id", str(event.id).encode())]
        await producer.send_and_wait(
            event.topic, event.to_json().encode(), key=event.partition_key().encode(), headers=headers
        )


async def handled(intake: RunningService, *events: Event, timeout_s: float = 20) -> None:
    """Wait until intake's consumer has handled every one of ``events`` (inbox rows)."""
    wanted = {str(e.id) for e in events}

    async def probe() -> bool:
        async with intake.runtime.sessionmaker() as session:
            query = select(InboxMessage.event_id).where(
                InboxMessage.consumer == "intake", InboxMessage.event_id.in_(wanted)
            )
            rows = set((await session.execute(query)).scalars())
        return rows == wanted

    await eventually(probe, timeout_s=timeout_s)


async def referrals_of(intake: RunningService, household_id: uuid.UUID) -> Sequence[Referral]:
    async with intake.runtime.sessionmaker() as session:
        query = select(Referral).where(Referral.household_id == household_id).order_by(Referral.received_at)
        return (await session.execute(query)).scalars().all()


async def referral_by_ref(intake: RunningService, source_ref: uuid.UUID) -> Sequence[Referral]:
    async with intake.runtime.sessionmaker() as session:
        query = select(Referral).where(Referral.source_ref == str(source_ref))
        return (await session.execute(query)).scalars().all()


async def outbox_types(intake: RunningService, referral_id: uuid.UUID) -> list[str]:
    async with intake.runtime.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    return sorted(
        r.event_type for r in rows if json.loads(r.payload)["data"].get("referral_id") == str(referral_id)
    )


def referral_requested(
    household_id: uuid.UUID | None, dong: str = "yeoksam1", urgent: bool = False, request_id: Any = None
) -> ReferralRequested:
    request_id = request_id or uuid.uuid4()
    return ReferralRequested.create(
        subject=request_id,
        data=ReferralRequestedData(
            request_id=request_id,
            household_id=household_id,
            dong=dong,
            category="low_income",
            urgent=urgent,
            requested_at=utcnow(),
        ),
    )


def checkin_missed(household_id: uuid.UUID, urgent: bool = False, dong: str = "gaepo1") -> CheckinMissed:
    enrolment_id = uuid.uuid4()
    return CheckinMissed.create(
        subject=enrolment_id,
        data=CheckinMissedData(
            enrolment_id=enrolment_id,
            household_id=household_id,
            dong=dong,
            programme="hello_ansim",
            reason="missed",
            consecutive_misses=3 if urgent else 2,
            urgent=urgent,
            history=[CheckinRecord(slot_at=utcnow(), outcome="no_answer")],
            at=utcnow(),
        ),
    )


def case_opened(household_id: uuid.UUID, case_id: uuid.UUID) -> CaseOpened:
    return CaseOpened.create(
        subject=case_id,
        data=CaseOpenedData(
            case_id=case_id,
            household_id=household_id,
            referral_id=uuid.uuid4(),
            dong="gaepo1",
            stage="intake",
            opened_at=utcnow(),
        ),
    )


def case_closed(household_id: uuid.UUID, case_id: uuid.UUID) -> CaseClosed:
    return CaseClosed.create(
        subject=case_id,
        data=CaseClosedData(
            case_id=case_id,
            household_id=household_id,
            dong="gaepo1",
            closure_reason="situation_improved",
            reason_category="positive",
            closed_at=utcnow(),
            follow_up_due=[date(2027, 5, 23)],
        ),
    )


def stage_changed(household_id: uuid.UUID, case_id: uuid.UUID, from_stage: Any, to_stage: Any) -> Event:
    return CaseStageChanged.create(
        subject=case_id,
        data=CaseStageChangedData(
            case_id=case_id,
            household_id=household_id,
            from_stage=from_stage,
            to_stage=to_stage,
            at=utcnow(),
            selection="not_selected" if to_stage == "closed" and from_stage == "selection" else None,
        ),
    )


async def has_open_case(intake: RunningService, household_id: uuid.UUID) -> bool:
    async with intake.runtime.sessionmaker() as session:
        query = select(OpenCase).where(OpenCase.household_id == household_id)
        return (await session.execute(query)).first() is not None


# ------------------------------------------------------------------ hotline transfers


async def test_referral_requested_for_a_registered_household(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    async with httpx.AsyncClient(
        base_url=intake.url, timeout=10, headers=TEST_MINT.headers("district_admin")
    ) as client:
        created = await client.post(
            "/households",
            json={
                "dong": "dogok1",
                "household_type": "elderly_alone",
                "protection_status": "low_income",
                "members": [{"name": "홍길동", "relationship": "head", "is_head": True}],
            },
        )
    assert created.status_code == 201, created.text
    household_id = uuid.UUID(created.json()["id"])

    # The event's 동 is what the caller said; the register's 동 wins for a known household.
    event = referral_requested(household_id, dong="yeoksam1", urgent=True)
    await send(producer, event)
    await handled(intake, event)

    [referral] = await referrals_of(intake, household_id)
    assert referral.channel == "hotline" and referral.dong == "dogok1"
    assert (referral.urgency, referral.importance, referral.priority) == ("high", "medium", 2)
    assert referral.status == "accepted" and referral.source_ref == str(event.data.request_id)
    assert "low_income" in referral.summary
    # It flows like any referral: received + accepted, for casework to open a case.
    assert await outbox_types(intake, referral.id) == [
        "heemang.intake.referral.accepted.v1",
        "heemang.intake.referral.received.v1",
    ]


async def test_referral_requested_without_household_registers_a_minimal_one(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    event = referral_requested(None, dong="gaepo1", urgent=False)
    await send(producer, event)
    await handled(intake, event)

    [referral] = await referral_by_ref(intake, event.data.request_id)
    assert referral.channel == "hotline" and referral.dong == "gaepo1"
    assert (referral.urgency, referral.importance, referral.priority) == ("medium", "medium", 5)
    async with intake.runtime.sessionmaker() as session:
        household = await session.get(Household, referral.household_id)
    assert household is not None and household.dong == "gaepo1" and household.household_type is None


async def test_referral_requested_for_an_unknown_household_keeps_its_id(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id = uuid.uuid4()
    event = referral_requested(household_id, dong="suseo")
    await send(producer, event)
    await handled(intake, event)

    [referral] = await referrals_of(intake, household_id)
    assert referral.channel == "hotline" and referral.dong == "suseo"
    async with intake.runtime.sessionmaker() as session:
        household = await session.get(Household, household_id)
    assert household is not None and household.dong == "suseo"


async def test_replayed_referral_request_makes_one_referral(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id = uuid.uuid4()
    event = referral_requested(household_id)
    # The same envelope twice (a relay republishing after a crash), then the same request
    # in a new envelope (a new event id: the inbox cannot tell, source_ref can).
    again = event.model_copy(update={"id": uuid.uuid4()})
    await send(producer, event, event, again)
    await handled(intake, event, again)

    [referral] = await referrals_of(intake, household_id)
    assert referral.source_ref == str(event.data.request_id)
    assert len(await referral_by_ref(intake, event.data.request_id)) == 1


# ------------------------------------------------------------------ missed check-ins


async def test_missed_checkin_with_an_open_case_makes_no_referral(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id, case_id = uuid.uuid4(), uuid.uuid4()
    opened = case_opened(household_id, case_id)
    await send(producer, opened)
    await handled(intake, opened)
    assert await has_open_case(intake, household_id)

    missed = checkin_missed(household_id, urgent=True)
    await send(producer, missed)
    await handled(intake, missed)
    assert await referrals_of(intake, household_id) == []


async def test_missed_checkin_after_the_case_closed_makes_one_referral(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id, case_id = uuid.uuid4(), uuid.uuid4()
    events = [
        case_opened(household_id, case_id),
        stage_changed(household_id, case_id, "intake", "assessment"),
        case_closed(household_id, case_id),
    ]
    await send(producer, *events)
    await handled(intake, *events)
    assert not await has_open_case(intake, household_id)

    missed = checkin_missed(household_id, urgent=False, dong="gaepo1")
    await send(producer, missed)
    await handled(intake, missed)

    [referral] = await referrals_of(intake, household_id)
    assert referral.channel == "checkin_missed" and referral.dong == "gaepo1"
    assert (referral.urgency, referral.importance, referral.priority) == ("medium", "high", 4)
    assert referral.source_ref == str(missed.id)
    assert "hello_ansim" in referral.summary
    assert await outbox_types(intake, referral.id) == [
        "heemang.intake.referral.accepted.v1",
        "heemang.intake.referral.received.v1",
    ]


async def test_not_selected_case_closes_through_its_stage_change(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    """미선정 reaches ⑦ without case.closed: the stage change is the closing signal."""
    household_id, case_id = uuid.uuid4(), uuid.uuid4()
    opened = case_opened(household_id, case_id)
    moved = stage_changed(household_id, case_id, "assessment", "selection")
    await send(producer, opened, moved)
    await handled(intake, opened, moved)
    assert await has_open_case(intake, household_id)  # other stage changes keep it open

    not_selected = stage_changed(household_id, case_id, "selection", "closed")
    await send(producer, not_selected)
    await handled(intake, not_selected)
    assert not await has_open_case(intake, household_id)

    missed = checkin_missed(household_id, urgent=True)
    await send(producer, missed)
    await handled(intake, missed)
    [referral] = await referrals_of(intake, household_id)
    assert referral.channel == "checkin_missed" and (referral.urgency, referral.priority) == ("high", 1)


async def test_a_case_in_follow_up_is_open_again(intake: RunningService, producer: AIOKafkaProducer) -> None:
    """⑧ 사후관리 after ⑦: the case manager follows the household, so a missed check-in is
    casework's alert (as casework counts open cases), not a new referral."""
    household_id, case_id = uuid.uuid4(), uuid.uuid4()
    events = [
        case_opened(household_id, case_id),
        stage_changed(household_id, case_id, "delivery", "closed"),
        case_closed(household_id, case_id),
    ]
    await send(producer, *events)
    await handled(intake, *events)
    assert not await has_open_case(intake, household_id)

    follow_up = stage_changed(household_id, case_id, "closed", "follow_up")
    await send(producer, follow_up)
    await handled(intake, follow_up)
    assert await has_open_case(intake, household_id)

    missed = checkin_missed(household_id)
    await send(producer, missed)
    await handled(intake, missed)
    assert await referrals_of(intake, household_id) == []


async def test_the_same_missed_checkin_twice_makes_one_referral(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id = uuid.uuid4()  # never had a case, and not in the register: kept as is
    missed = checkin_missed(household_id, urgent=True)
    await send(producer, missed, missed)
    # A second escalation (a new event) is a referral of its own.
    later = checkin_missed(household_id, urgent=True)
    await send(producer, later)
    await handled(intake, missed, later)

    referrals = await referrals_of(intake, household_id)
    assert sorted(r.source_ref or "" for r in referrals) == sorted([str(missed.id), str(later.id)])
    assert all(r.channel == "checkin_missed" for r in referrals)
    assert len(await referral_by_ref(intake, missed.id)) == 1


async def test_hotline_transfer_for_a_followed_household_joins_its_open_case(
    intake: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id, case_id = uuid.uuid4(), uuid.uuid4()
    opened = case_opened(household_id, case_id)
    await send(producer, opened)
    await handled(intake, opened)
    event = referral_requested(household_id, dong="yeoksam1", urgent=False)
    await send(producer, event)
    await handled(intake, event)
    [referral] = await referrals_of(intake, household_id)
    assert referral.status == "linked" and referral.linked_case_id == case_id
    assert referral.matched_by == "household_id" and referral.accepted_at is None
    async with intake.runtime.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.event_type.like("%referral%")))
        types = {r.event_type for r in rows.scalars() if json.loads(r.payload)["subject"] == str(referral.id)}
    assert types == {"heemang.intake.referral.received.v1", "heemang.intake.referral.linked.v1"}
