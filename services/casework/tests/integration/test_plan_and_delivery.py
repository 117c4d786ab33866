"""Needs assessment, conferences, the service plan with resources' answers (through the real
broker, redelivered: T7), deliveries, monitoring and overdue monitoring in the work list."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from heemang_casework import service
from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import Case, Household, InboxMessage, OutboxMessage, ServiceDelivery
from heemang_casework.settings import Settings
from heemang_common.db import transaction
from heemang_common.events import Event
from heemang_common.events.intake import (
    HouseholdRegistered,
    HouseholdRegisteredData,
    HouseholdUpdated,
    HouseholdUpdatedData,
)
from heemang_common.events.resources import (
    AllocationApproved,
    AllocationApprovedData,
    AllocationRejected,
    AllocationRejectedData,
    DistributionDelivered,
    DistributionDeliveredData,
)
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)

REQUESTED = "heemang.casework.service.requested.v1"
CM = TEST_MINT.headers("case_manager", sub="cm-1", dongs=[])
PARTNER = TEST_MINT.headers("partner_agency", sub="p-1", agency="ag-1", dongs=[])
OTHER_PARTNER = TEST_MINT.headers("partner_agency", sub="p-9", agency="ag-9", dongs=[])


@pytest.fixture(scope="module")
async def casework(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("casework", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap)
    running = await serve("casework", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def http(casework: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=casework.url, timeout=10, headers=CM) as client:
        yield client


@pytest.fixture(scope="module")
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def _case(casework: RunningService, dong: str = "sinsa") -> Case:
    async with transaction(casework.runtime.sessionmaker) as session:
        case = await service.open_case_for_referral(
            session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong=dong
        )
        await service.assign(
            session, case, case_manager_id="cm-1", dong=dong, agencies=["ag-1"], restricted=False, actor="t"
        )
    return case


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _to(http: httpx.AsyncClient, case: Case, *path: tuple[str, dict[str, Any]]) -> None:
    for to, extra in path:
        await _ok(await http.post(f"/cases/{case.id}/transitions", json={"to": to, **extra}))


async def _produce_twice(casework: RunningService, producer: AIOKafkaProducer, event: Event) -> None:
    """Deliver the event twice (a redelivery) and wait until the consumer took it."""
    for _ in range(2):
        await producer.send_and_wait(
            event.topic, event.to_json().encode(), key=event.partition_key().encode()
        )

    async def handled() -> bool:
        async with transaction(casework.runtime.sessionmaker) as session:
            return await session.get(InboxMessage, ("casework", str(event.id))) is not None

    await eventually(handled, timeout_s=30)


async def test_assessment_derives_the_crisis_level(casework: RunningService, http: httpx.AsyncClient) -> None:
    case = await _case(casework)
    body = {
        "needs": [
            {"domain": "health", "urgency": "medium", "importance": "high", "description": "당뇨 관리"},
            {"domain": "housing", "urgency": "high", "importance": "high", "description": "월세 3개월 체납"},
        ],
        "note": "가정방문",
    }
    made = await _ok(await http.post(f"/cases/{case.id}/assessments", json=body), 201)
    assert made["crisis_level"] == "critical"
    assert [n["domain"] for n in made["needs"]] == ["housing", "health"]
    assert [n["priority"] for n in made["needs"]] == [9, 6]
    for bad in (
        {"needs": []},
        {"needs": [body["needs"][0], body["needs"][0]]},  # one domain twice
        {"needs": [{"domain": "space", "urgency": "high", "importance": "high"}]},
        {"needs": body["needs"], "extra": 1},
    ):
        response = await http.post(f"/cases/{case.id}/assessments", json=bad)
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = await _ok(await http.get(f"/cases/{case.id}/assessments"))
    assert len(listed["items"]) == 1
    # Partners may read the assigned case but not assess it; a dong officer elsewhere sees nothing.
    assert (await http.post(f"/cases/{case.id}/assessments", json=body, headers=PARTNER)).status_code == 403
    officer = TEST_MINT.headers("dong_officer", sub="d-9", dongs=["yeoksam"])
    assert (await http.get(f"/cases/{case.id}/assessments", headers=officer)).status_code == 404


async def test_conferences_record_decisions_and_respect_scope(
    casework: RunningService, http: httpx.AsyncClient
) -> None:
    mine, other = await _case(casework), await _case(casework, dong="yeoksam")
    async with transaction(casework.runtime.sessionmaker) as session:
        stored = await session.get(Case, other.id)
        assert stored is not None
        await service.assign(
            session,
            stored,
            case_manager_id="cm-1",
            dong="yeoksam",
            agencies=["ag-2"],
            restricted=False,
            actor="t",
        )
    body: dict[str, Any] = {
        "kind": "integrated",
        "held_on": "2026-11-20",
        "title": "외부통합사례회의",
        "participants": [{"name": "김사례", "affiliation": "희망복지지원팀"}],
        "minutes": "두 가구 논의",
        "cases": [
            {"case_id": str(mine.id), "decision": "select"},
            {"case_id": str(other.id), "decision": "change_plan", "note": "목표수정"},
        ],
    }
    refused = await http.post("/conferences", json=body)  # integrated without an agency's people
    assert refused.status_code == 422
    body["participants"].append({"name": "이복지", "affiliation": "복지관", "agency_id": "ag-1"})
    made = await _ok(await http.post("/conferences", json=body), 201)
    assert made["minutes"] == "두 가구 논의" and len(made["cases"]) == 2
    duplicate = {**body, "cases": [body["cases"][0], body["cases"][0]]}
    assert (await http.post("/conferences", json=duplicate)).status_code == 422
    assert (await http.post("/conferences", json=body, headers=PARTNER)).status_code == 403

    # ag-1 sees the conference through its case only, without the minutes about the other one.
    seen = await _ok(await http.get(f"/conferences/{made['id']}", headers=PARTNER))
    assert [c["case_id"] for c in seen["cases"]] == [str(mine.id)] and seen["minutes"] is None
    assert (await http.get(f"/conferences/{made['id']}", headers=OTHER_PARTNER)).status_code == 404
    listed = await _ok(
        await http.get("/conferences", params={"case_id": str(other.id), "kind": "integrated"})
    )
    assert [c["id"] for c in listed["items"]] == [made["id"]]
    timeline = await _ok(await http.get(f"/cases/{other.id}/timeline"))
    assert timeline["items"][-1]["kind"] == "conference"
    async with transaction(casework.runtime.sessionmaker) as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_type == "heemang.casework.conference.held.v1")
        [held] = [r for r in (await session.execute(stmt)).scalars() if r.key == made["id"]]
    data = json.loads(held.payload)["data"]
    assert held.topic == "heemang.casework.conference" and data["agencies"] == ["ag-1"]
    assert {(d["case_id"], d["decision"]) for d in data["decisions"]} == {
        (str(mine.id), "select"),
        (str(other.id), "change_plan"),
    }
    assert "두 가구" not in held.payload and "김사례" not in held.payload  # minutes and names stay here


async def test_plan_requests_money_and_shows_resources_answers(
    casework: RunningService, http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    case = await _case(casework)
    goal_body = {"term": "short", "title": "월세 체납 해소", "target_date": "2026-12-31"}
    assert (await http.post(f"/cases/{case.id}/plan/goals", json=goal_body)).status_code == 422  # ① intake
    await _to(
        http,
        case,
        ("assessment", {}),
        ("selection", {}),
        ("conference", {"selection": "case_management"}),
        ("planning", {}),
    )
    goal = await _ok(await http.post(f"/cases/{case.id}/plan/goals", json=goal_body), 201)
    cash_body = {
        "goal_id": goal["id"],
        "kind": "cash",
        "domain": "housing",
        "service_code": "emergency.housing",
        "provider": "district",
        "amount": 387200,
    }
    cash = await _ok(await http.post(f"/cases/{case.id}/plan/services", json=cash_body), 201)
    goods = await _ok(
        await http.post(
            f"/cases/{case.id}/plan/services",
            json={**cash_body, "kind": "in_kind", "service_code": "foodbank.box", "amount": 50000},
        ),
        201,
    )
    talk = await _ok(
        await http.post(
            f"/cases/{case.id}/plan/services",
            json={
                "kind": "intangible",
                "domain": "legal",
                "service_code": "legal.advice",
                "provider": "legal-aid",
            },
        ),
        201,
    )
    assert (cash["status"], goods["status"], talk["status"]) == ("requested", "requested", "planned")
    no_amount = {k: v for k, v in cash_body.items() if k != "amount"}
    assert (await http.post(f"/cases/{case.id}/plan/services", json=no_amount)).status_code == 422
    foreign_goal = {**cash_body, "goal_id": str(uuid.uuid4())}
    assert (await http.post(f"/cases/{case.id}/plan/services", json=foreign_goal)).status_code == 422
    talk_request = await http.post(f"/cases/{case.id}/plan/services/{talk['id']}/request")
    assert talk_request.status_code == 422  # intangible services are not asked of resources

    async with transaction(casework.runtime.sessionmaker) as session:
        rows = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.event_type == REQUESTED))
        ).scalars()
        requested = [json.loads(r.payload)["data"] for r in rows]
    mine = {r["request_id"]: r for r in requested if r["case_id"] == str(case.id)}
    assert set(mine) == {cash["id"], goods["id"]}
    assert mine[cash["id"]]["amount"] == 387200 and mine[cash["id"]]["kind"] == "cash"

    now = datetime.now(UTC)
    allocation = uuid.uuid4()
    approved = AllocationApproved.create(
        subject=allocation,
        data=AllocationApprovedData(
            allocation_id=allocation,
            request_id=uuid.UUID(cash["id"]),
            case_id=case.id,
            household_id=case.household_id,
            amount=387200,
            fund="budget.emergency.national",
            approved_at=now,
        ),
    )
    rejected = AllocationRejected.create(
        subject=uuid.UUID(goods["id"]),
        data=AllocationRejectedData(
            request_id=uuid.UUID(goods["id"]),
            case_id=case.id,
            household_id=case.household_id,
            reason="fund_insufficient",
            detail="food bank stock empty",
            rejected_at=now,
        ),
    )
    delivered = DistributionDelivered.create(
        subject=allocation,
        data=DistributionDeliveredData(
            allocation_id=allocation,
            request_id=uuid.UUID(cash["id"]),
            case_id=case.id,
            household_id=case.household_id,
            amount=387200,
            delivered_at=now,
        ),
    )
    for event in (approved, rejected, delivered):
        await _produce_twice(casework, producer, event)

    plan = await _ok(await http.get(f"/cases/{case.id}/plan"))
    services = {s["id"]: s for s in plan["goals"][0]["services"]}
    assert services[cash["id"]]["status"] == "delivered"
    assert services[cash["id"]]["approved_amount"] == 387200
    assert services[goods["id"]]["status"] == "rejected"
    assert services[goods["id"]]["rejection_reason"] == "fund_insufficient"
    assert [s["id"] for s in plan["other_services"]] == [talk["id"]]
    async with transaction(casework.runtime.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(ServiceDelivery).where(ServiceDelivery.case_id == case.id)
        )
    assert count == 1  # the redelivered distribution.delivered had no second effect
    # Plan reads are within scope: an agency not assigned gets 404.
    assert (await http.get(f"/cases/{case.id}/plan", headers=OTHER_PARTNER)).status_code == 404
    assert (await http.get(f"/cases/{case.id}/plan", headers=PARTNER)).status_code == 200


async def test_delivery_monitoring_and_overdue_work_list(
    casework: RunningService, http: httpx.AsyncClient
) -> None:
    case = await _case(casework)
    await _to(
        http,
        case,
        ("assessment", {}),
        ("selection", {}),
        ("conference", {"selection": "case_management"}),
        ("planning", {}),
    )
    goal = await _ok(
        await http.post(
            f"/cases/{case.id}/plan/goals",
            json={"term": "long", "title": "자립", "target_date": "2027-06-30"},
        ),
        201,
    )
    talk = await _ok(
        await http.post(
            f"/cases/{case.id}/plan/services",
            json={
                "kind": "intangible",
                "domain": "legal",
                "service_code": "legal.advice",
                "provider": "legal-aid",
            },
        ),
        201,
    )
    monitoring = {"method": "visit", "note": "점검", "progress": [{"goal_id": goal["id"], "progress": 40}]}
    assert (await http.post(f"/cases/{case.id}/monitoring", json=monitoring)).status_code == 422  # ⑤ not ⑥
    await _to(http, case, ("delivery", {}))

    delivery = {"planned_service_id": talk["id"], "delivered_on": str(date.today()), "note": "법률상담 동행"}
    made = await _ok(await http.post(f"/cases/{case.id}/deliveries", json=delivery, headers=PARTNER), 201)
    assert made["kind"] == "intangible" and made["provider"] == "legal-aid" and made["recorded_by"] == "p-1"
    partner_own = {
        "kind": "in_kind",
        "domain": "health",
        "provider": "ag-1",
        "amount": 30000,
        "delivered_on": "2026-11-01",
    }
    await _ok(await http.post(f"/cases/{case.id}/deliveries", json=partner_own, headers=PARTNER), 201)
    assert (
        await http.post(f"/cases/{case.id}/deliveries", json={"delivered_on": "2026-11-01"})
    ).status_code == 422
    assert (
        await http.post(f"/cases/{case.id}/deliveries", json=partner_own, headers=OTHER_PARTNER)
    ).status_code == 404
    listed = await _ok(await http.get(f"/cases/{case.id}/deliveries"))
    assert [d["amount"] for d in listed["items"]] == [30000, 0]

    # Entered delivery 40 days ago and never monitored: overdue in cm-1's work list.
    async with transaction(casework.runtime.sessionmaker) as session:
        stored = await session.get(Case, case.id)
        assert stored is not None
        stored.stage_entered_at = datetime.now(UTC) - timedelta(days=40)
    work = await _ok(await http.get("/worklist"))
    assert (str(case.id), "monitoring_overdue") in {(i["case_id"], i["kind"]) for i in work["items"]}
    other_cm = TEST_MINT.headers("case_manager", sub="cm-2", dongs=["sinsa"])
    theirs = await _ok(await http.get("/worklist", headers=other_cm))
    assert str(case.id) not in {i["case_id"] for i in theirs["items"]}  # not assigned to cm-2
    everything = await _ok(await http.get("/worklist", headers=other_cm, params={"mine": "false"}))
    assert str(case.id) in {i["case_id"] for i in everything["items"]}

    noted = await _ok(await http.post(f"/cases/{case.id}/monitoring", json=monitoring), 201)
    assert noted["method"] == "visit"
    work = await _ok(await http.get("/worklist"))
    assert str(case.id) not in {i["case_id"] for i in work["items"]}
    plan = await _ok(await http.get(f"/cases/{case.id}/plan"))
    assert plan["goals"][0]["progress"] == 40 and plan["goals"][0]["status"] == "open"
    done = {"method": "phone", "note": "목표 달성", "progress": [{"goal_id": goal["id"], "progress": 100}]}
    await _ok(await http.post(f"/cases/{case.id}/monitoring", json=done, headers=PARTNER), 201)
    plan = await _ok(await http.get(f"/cases/{case.id}/plan"))
    assert plan["goals"][0]["status"] == "achieved"
    notes = await _ok(await http.get(f"/cases/{case.id}/monitoring", headers=PARTNER))
    assert [n["note"] for n in notes["items"]] == [None, "목표 달성"]  # others' notes hidden from partners
    bad_goal = {"method": "visit", "note": "x", "progress": [{"goal_id": str(uuid.uuid4()), "progress": 10}]}
    assert (await http.post(f"/cases/{case.id}/monitoring", json=bad_goal)).status_code == 422


async def test_household_facts_come_from_intake_events(
    casework: RunningService, producer: AIOKafkaProducer
) -> None:
    household_id = uuid.uuid4()
    at = datetime.now(UTC)
    registered = HouseholdRegistered.create(
        subject=household_id,
        data=HouseholdRegisteredData(
            household_id=household_id,
            dong="sinsa",
            household_type="single_parent",
            protection_status="basic_livelihood",
            member_count=3,
            registered_at=at,
        ),
    )
    updated = HouseholdUpdated.create(
        subject=household_id,
        data=HouseholdUpdatedData(
            household_id=household_id,
            dong="sinsa",
            household_type="single_parent",
            protection_status="near_poor",
            member_count=4,
            changed_fields=["members", "protection_status"],
            updated_at=at + timedelta(days=1),
        ),
    )
    stale = HouseholdUpdated.create(
        subject=household_id,
        data=updated.data.model_copy(update={"member_count": 1, "updated_at": at - timedelta(days=1)}),
    )
    for event in (registered, updated, stale):
        await _produce_twice(casework, producer, event)
    async with transaction(casework.runtime.sessionmaker) as session:
        household = await session.get(Household, household_id)
        assert household is not None
        assert (household.member_count, household.protection_status) == (4, "near_poor")
        # A case opened now remembers the household's size at intake (the reports' "new").
        case = await service.open_case_for_referral(
            session, referral_id=uuid.uuid4(), household_id=household_id, dong="sinsa"
        )
        assert case.members_at_open == 4


async def test_unstorable_input_is_422_not_500(casework: RunningService, http: httpx.AsyncClient) -> None:
    case = await _case(casework)
    probes = [
        (
            "POST",
            f"/cases/{case.id}/assessments",
            {"needs": [{"domain": "health", "urgency": "low", "importance": "low", "description": "a\x00b"}]},
        ),
        ("POST", f"/cases/{case.id}/transitions", {"to": "assessment", "note": "\x00"}),
        ("PUT", f"/cases/{case.id}/assignment", {"dong": "sinsa", "case_manager_id": "cm\x00"}),
        (
            "POST",
            f"/cases/{case.id}/monitoring",
            {"method": "visit", "note": "x", "at": "2026-11-20T10:00:00"},
        ),
    ]
    for method, path, body in probes:
        response = await http.request(method, path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for params in ({"opened_from": "2026-01-01T00:00:00"}, {"agency": "a\x00"}, {"case_manager_id": "x y"}):
        assert (await http.get("/cases", params=params)).status_code == 422, params
    read = await _ok(await http.get(f"/cases/{case.id}"))
    assert read["stage"] == "intake" and read["case_manager_id"] == "cm-1"
