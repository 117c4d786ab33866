"""Missed check-ins become alerts on open cases: casework runs for real (HTTP, migrated
database, its consumer on the broker) and the tests produce hotline's events with aiokafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from heemang_casework import service
from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import Alert, Case, CaseTimelineEntry, InboxMessage, OutboxMessage
from heemang_casework.settings import Settings
from heemang_common.db import transaction
from heemang_common.events import Event, topics
from heemang_common.events.hotline import CheckinMissed, CheckinMissedData, CheckinRecord
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)

RAISED = "heemang.casework.alert.raised.v1"


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


@pytest.fixture(scope="module")
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


def _dong() -> str:
    """A 동 of the test's own, so work-list assertions see only the test's alerts."""
    return f"t{uuid.uuid4().hex[:12]}"


def _checkin(
    household_id: uuid.UUID,
    dong: str,
    *,
    urgent: bool = False,
    reason: str = "missed",
    misses: int = 2,
) -> CheckinMissed:
    enrolment = uuid.uuid4()
    now = datetime.now(UTC)
    history = [
        CheckinRecord(slot_at=now - timedelta(days=misses - i), outcome="no_answer") for i in range(misses)
    ]
    data = CheckinMissedData(
        enrolment_id=enrolment,
        household_id=household_id,
        dong=dong,
        programme="hello_ansim",
        reason=reason,  # type: ignore[arg-type]
        consecutive_misses=misses,
        urgent=urgent,
        history=history,
        at=now,
    )
    return CheckinMissed.create(subject=enrolment, data=data)


async def _produce(producer: AIOKafkaProducer, event: Event) -> None:
    await producer.send_and_wait(event.topic, event.to_json().encode(), key=event.partition_key().encode())


async def _handled(casework: RunningService, event: Event) -> None:
    """Wait until casework's consumer has taken the event (its inbox row is committed)."""

    async def inbox_row() -> bool:
        async with transaction(casework.runtime.sessionmaker) as session:
            row = await session.get(InboxMessage, ("casework", str(event.id)))
        return row is not None

    await eventually(inbox_row, timeout_s=30)


async def _open_case(casework: RunningService, dong: str) -> Case:
    async with transaction(casework.runtime.sessionmaker) as session:
        return await service.open_case_for_referral(
            session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong=dong
        )


async def _move(client: httpx.AsyncClient, case_id: uuid.UUID, **body: Any) -> None:
    response = await client.post(f"/cases/{case_id}/transitions", json=body)
    assert response.status_code == 200, response.text


async def _alerts_for(casework: RunningService, household_id: uuid.UUID) -> list[Alert]:
    async with transaction(casework.runtime.sessionmaker) as session:
        rows = await session.execute(select(Alert).where(Alert.household_id == household_id))
        return list(rows.scalars())


async def _raised(casework: RunningService) -> list[dict[str, Any]]:
    async with transaction(casework.runtime.sessionmaker) as session:
        rows = await session.execute(
            select(OutboxMessage).where(OutboxMessage.event_type == RAISED).order_by(OutboxMessage.id)
        )
        return [{"key": r.key, "topic": r.topic, **json.loads(r.payload)} for r in rows.scalars()]


async def _counts(casework: RunningService) -> tuple[int, int, int, int]:
    """(alerts, acknowledged alerts, timeline entries, outbox rows)."""
    async with transaction(casework.runtime.sessionmaker) as session:
        alerts = await session.scalar(select(func.count()).select_from(Alert))
        acked = await session.scalar(
            select(func.count()).select_from(Alert).where(Alert.acknowledged_at.is_not(None))
        )
        timeline = await session.scalar(select(func.count()).select_from(CaseTimelineEntry))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(alerts or 0), int(acked or 0), int(timeline or 0), int(outbox or 0)


async def test_a_missed_check_in_raises_an_alert_on_the_open_case(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    # The case is opened the real way: referral.accepted through the broker.
    dong, household, referral = _dong(), uuid.uuid4(), uuid.uuid4()
    accepted = ReferralAccepted.create(
        subject=referral,
        data=ReferralAcceptedData(
            referral_id=referral,
            household_id=household,
            dong=dong,
            channel="police_112",
            priority=2,
            restricted=False,
            accepted_at=datetime.now(UTC),
        ),
    )
    await _produce(producer, accepted)
    await _handled(casework, accepted)
    [case] = (await client.get("/cases", params={"household_id": str(household)})).json()["items"]

    missed = _checkin(household, dong, misses=3)
    await _produce(producer, missed)
    await _handled(casework, missed)

    [alert] = (await client.get(f"/cases/{case['id']}/alerts")).json()["items"]
    assert alert["kind"] == "checkin_missed" and alert["urgent"] is False
    assert alert["household_id"] == str(household) and alert["dong"] == dong
    assert alert["acknowledged_at"] is None and alert["note"] is None
    assert alert["details"]["programme"] == "hello_ansim"
    assert alert["details"]["consecutive_misses"] == 3
    assert [h["outcome"] for h in alert["details"]["history"]] == ["no_answer"] * 3

    timeline = (await client.get(f"/cases/{case['id']}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline] == ["opened", "alert"]
    assert timeline[-1]["reason"] == "checkin_missed"
    assert timeline[-1]["note"] == "hello_ansim: 3 consecutive missed check-ins"

    [raised] = [e for e in await _raised(casework) if e["data"]["alert_id"] == alert["id"]]
    assert raised["topic"] == topics.CASEWORK_CASE and raised["key"] == str(household)
    assert raised["subject"] == case["id"]
    assert raised["data"] == {
        "alert_id": alert["id"],
        "case_id": case["id"],
        "household_id": str(household),
        "dong": dong,
        "kind": "checkin_missed",
        "urgent": False,
        "raised_at": raised["data"]["raised_at"],
    }
    assert "history" not in json.dumps(raised) and "hello_ansim" not in json.dumps(raised)

    work_list = (await client.get("/alerts", params={"dong": dong})).json()["items"]
    assert [a["id"] for a in work_list] == [alert["id"]]


async def test_the_same_event_delivered_twice_raises_one_alert(
    casework: RunningService, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    case = await _open_case(casework, dong)
    missed = _checkin(case.household_id, dong)
    consumer = casework.runtime.consumers[0]
    await _produce(producer, missed)
    await _handled(casework, missed)
    duplicates = consumer.stats.duplicates
    await _produce(producer, missed)

    async def redelivery_absorbed() -> bool:
        return consumer.stats.duplicates > duplicates

    await eventually(redelivery_absorbed, timeout_s=30)
    assert len(await _alerts_for(casework, case.household_id)) == 1

    # Past the inbox too (e.g. an inbox row pruned): the alert's source event id holds.
    before = await _counts(casework)
    async with transaction(casework.runtime.sessionmaker) as session:
        again = await service.raise_checkin_alert(session, event_id=missed.id, checkin=missed.data)
    assert again is None and await _counts(casework) == before


async def test_urgent_alerts_come_first_in_the_work_list(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    cases = [await _open_case(casework, dong) for _ in range(3)]
    events = [
        _checkin(cases[0].household_id, dong),
        _checkin(cases[1].household_id, dong),
        _checkin(cases[2].household_id, dong, urgent=True, reason="asked_for_help", misses=0),
    ]
    for event in events:  # one after the other, so raised_at follows this order
        await _produce(producer, event)
        await _handled(casework, event)

    items = (await client.get("/alerts", params={"dong": dong, "open": "true"})).json()["items"]
    assert [a["case_id"] for a in items] == [str(cases[i].id) for i in (2, 0, 1)]
    assert items[0]["urgent"] is True and items[0]["kind"] == "checkin_help"
    assert [a["raised_at"] for a in items[1:]] == sorted(a["raised_at"] for a in items[1:])
    assert (await client.get("/alerts", params={"dong": dong, "open": "false"})).json()["items"] == []


async def test_no_alert_without_an_open_case(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    stranger = _checkin(uuid.uuid4(), dong)  # a household casework has never seen

    not_selected = await _open_case(casework, dong)
    await _move(client, not_selected.id, to="assessment")
    await _move(client, not_selected.id, to="selection")
    await _move(client, not_selected.id, to="closed", selection="not_selected", reason="본인 거부")

    closed = await _open_case(casework, dong)
    await _move(client, closed.id, to="assessment")
    await _move(client, closed.id, to="selection")
    await _move(client, closed.id, to="delivery", selection="service_linkage")
    await _move(client, closed.id, to="closed", closure_reason="situation_improved")

    before = await _counts(casework)
    for event in (
        stranger,
        _checkin(not_selected.household_id, dong),
        _checkin(closed.household_id, dong, urgent=True),
    ):
        await _produce(producer, event)
        await _handled(casework, event)
    assert await _counts(casework) == before
    assert (await client.get("/alerts", params={"dong": dong})).json()["items"] == []


async def test_a_case_in_follow_up_still_receives_alerts(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    case = await _open_case(casework, dong)
    await _move(client, case.id, to="assessment")
    await _move(client, case.id, to="selection")
    await _move(client, case.id, to="delivery", selection="service_linkage")
    await _move(client, case.id, to="closed", closure_reason="situation_improved")
    await _move(client, case.id, to="follow_up")

    missed = _checkin(case.household_id, dong)
    await _produce(producer, missed)
    await _handled(casework, missed)
    [alert] = await _alerts_for(casework, case.household_id)
    assert alert.case_id == case.id


async def test_acknowledge_once_then_409(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    case = await _open_case(casework, dong)
    missed = _checkin(case.household_id, dong, urgent=True)
    await _produce(producer, missed)
    await _handled(casework, missed)
    [alert] = (await client.get("/alerts", params={"dong": dong})).json()["items"]

    done = await client.post(
        f"/alerts/{alert['id']}/acknowledge", json={"note": "  방문 확인, 병원 입원 중  "}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["acknowledged_at"] and body["note"] == "방문 확인, 병원 입원 중"
    assert body["acknowledged_by"] == "u-admin" and body["dong"] == dong

    before = await _counts(casework)
    again = await client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": "again"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["type"].endswith("/alert-already-acknowledged")
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]
    assert await _counts(casework) == before

    assert (await client.get("/alerts", params={"dong": dong})).json()["items"] == []
    [acked] = (await client.get("/alerts", params={"dong": dong, "open": "false"})).json()["items"]
    assert acked["id"] == alert["id"] and acked["note"] == "방문 확인, 병원 입원 중"
    timeline = (await client.get(f"/cases/{case.id}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline] == ["opened", "alert", "alert_acknowledged"]
    assert timeline[-1]["note"] == "방문 확인, 병원 입원 중"


async def test_bad_input_is_problem_json_and_changes_nothing(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    case = await _open_case(casework, dong)
    missed = _checkin(case.household_id, dong)
    await _produce(producer, missed)
    await _handled(casework, missed)
    [alert] = (await client.get(f"/cases/{case.id}/alerts")).json()["items"]
    before = await _counts(casework)

    unknown = uuid.uuid4()
    not_found = [
        await client.get(f"/cases/{unknown}/alerts"),
        await client.post(f"/alerts/{unknown}/acknowledge", json={"note": "x"}),
    ]
    invalid = [
        await client.get("/cases/not-a-uuid/alerts"),
        await client.post("/alerts/not-a-uuid/acknowledge", json={}),
        await client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": "x", "by": "someone"}),
        await client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": "x" * 4001}),
        await client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": 5}),
        await client.post(f"/alerts/{alert['id']}/acknowledge", content=b"not json"),
        await client.get("/alerts", params={"open": "maybe"}),
        await client.get("/alerts", params={"dong": "역삼 1동; drop"}),
        await client.get("/alerts", params={"limit": 0}),
    ]
    for response in not_found:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    for response in invalid:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await _counts(casework) == before
    [still] = (await client.get("/alerts", params={"dong": dong})).json()["items"]
    assert still["acknowledged_at"] is None


async def test_concurrent_acknowledgements_apply_once(
    casework: RunningService, client: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    dong = _dong()
    case = await _open_case(casework, dong)
    missed = _checkin(case.household_id, dong)
    await _produce(producer, missed)
    await _handled(casework, missed)
    [alert] = (await client.get(f"/cases/{case.id}/alerts")).json()["items"]
    responses = await asyncio.gather(
        *(client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": f"call {i}"}) for i in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    timeline = (await client.get(f"/cases/{case.id}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline].count("alert_acknowledged") == 1


async def test_the_alert_routes_refuse_callers_without_a_token_even_through_the_gateway(
    casework: RunningService, databases: DatabaseFactory, bootstrap: str, producer: AIOKafkaProducer
) -> None:
    """Defence in depth: casework checks the token itself. This gateway build forwards no
    token yet (issue 7), so its pass-through must be refused by casework, not served."""
    from heemang_gateway.app import create_app as create_gateway
    from heemang_gateway.cli import SERVICE_ROOT as GATEWAY_ROOT
    from heemang_gateway.settings import Settings as GatewaySettings

    dong = _dong()
    case = await _open_case(casework, dong)
    missed = _checkin(case.household_id, dong, urgent=True)
    await _produce(producer, missed)
    await _handled(casework, missed)

    url = await databases.fresh_database("gateway", GATEWAY_ROOT)
    settings = fast_settings(
        GatewaySettings, database_url=url, bootstrap=bootstrap, casework_url=casework.url
    )
    gateway = await serve("gateway", create_gateway(settings), settings.port)
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            listed = await http.get("/api/v1/alerts", params={"dong": dong})
            on_case = await http.get(f"/api/v1/cases/{case.id}/alerts")
            acknowledged = await http.post("/api/v1/alerts/" + str(uuid.uuid4()) + "/acknowledge", json={})
        for response in (listed, on_case, acknowledged):
            assert response.status_code == 401
            assert response.headers["content-type"].startswith("application/problem+json")
    finally:
        await gateway.stop()
