"""Who may see what (RELIABILITY T12 rows for intake, T13) and referrals from every channel:
real HTTP against a migrated database. Tokens come from TEST_MINT, as the gateway issues
them; every read must leave an AccessRecorded row in the outbox (the access log)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from heemang_common.broker import EmbeddedBroker
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT
from heemang_intake.db.models import OpenCase, OutboxMessage, Referral
from heemang_intake.domain import rrn
from heemang_intake.settings import Settings

ACCESS = "heemang.audit.access.recorded.v1"
ADMIN = TEST_MINT.headers("district_admin", sub="admin-1")
SINSA = TEST_MINT.headers("dong_officer", sub="officer-sinsa", dongs=["sinsa"])
YEOKSAM = TEST_MINT.headers("dong_officer", sub="officer-yeoksam", dongs=["yeoksam1"])
CLEARED = TEST_MINT.headers("case_manager", sub="cm-dv", clearances=["restricted"])
MANAGER = TEST_MINT.headers("case_manager", sub="cm-1")


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    settings = fast_settings(
        Settings,
        database_url=url,
        bootstrap=intake_broker.bootstrap_servers,
        red_postbox_burst=3,
        red_postbox_per_minute=0.01,
    )
    running = await serve("intake", create_app(settings), settings.port)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http(intake: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=intake.url, timeout=10) as client:
        yield client


def household_body(
    dong: str, name: str = "홍길동", number: str | None = None, **extra: Any
) -> dict[str, Any]:
    member: dict[str, Any] = {"name": name, "relationship": "head", "is_head": True}
    if number:
        member["rrn"] = number
    return {
        "dong": dong,
        "household_type": "elderly_alone",
        "protection_status": "low_income",
        "address": "서울특별시 강남구 테헤란로 152 3층",
        "phone": "010-2222-3333",
        "members": [member],
        **extra,
    }


async def register(http: httpx.AsyncClient, dong: str, **kw: Any) -> dict[str, Any]:
    response = await http.post("/households", json=household_body(dong, **kw), headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def outbox(intake: RunningService, event_type: str | None = None) -> list[dict[str, Any]]:
    async with intake.runtime.sessionmaker() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if event_type:
            query = query.where(OutboxMessage.event_type == event_type)
        return [json.loads(r.payload) for r in (await session.execute(query)).scalars()]


async def accesses_since(intake: RunningService, mark: int) -> list[dict[str, Any]]:
    async with intake.runtime.sessionmaker() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.event_type == ACCESS, OutboxMessage.id > mark)
            .order_by(OutboxMessage.id)
        )
        return [json.loads(r.payload)["data"] for r in (await session.execute(query)).scalars()]


async def outbox_mark(intake: RunningService) -> int:
    async with intake.runtime.sessionmaker() as session:
        ids = (await session.execute(select(OutboxMessage.id))).scalars().all()
    return max(ids, default=0)


# ----------------------------------------------------------------- authentication and roles


async def test_every_route_but_public_and_probes_needs_a_token(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    probes = 0
    for path, operations in document["paths"].items():
        if (
            path.startswith("/public/")
            or path.startswith("/health")
            or path in ("/livez", "/readyz", "/metrics")
        ):
            probes += 1
            continue
        concrete = path.replace("{household_id}", str(uuid.uuid4())).replace(
            "{referral_id}", str(uuid.uuid4())
        )
        concrete = concrete.replace("{person_id}", str(uuid.uuid4()))
        for method in operations:
            response = await http.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert probes >= 1


@pytest.mark.parametrize("role", ["hotline_counsellor", "resource_officer", "auditor", "partner_agency"])
async def test_roles_outside_intake_cannot_touch_the_register(http: httpx.AsyncClient, role: str) -> None:
    household = await register(http, "sinsa")
    headers = TEST_MINT.headers(role, agency="ag-1")
    assert (await http.get(f"/households/{household['id']}", headers=headers)).status_code == 403
    assert (await http.get("/households", headers=headers)).status_code == 403
    created = await http.post("/households", json=household_body("sinsa"), headers=headers)
    assert created.status_code == 403


async def test_dong_officer_sees_only_her_dongs(http: httpx.AsyncClient, intake: RunningService) -> None:
    mine = await register(http, "sinsa", name="김신사")
    theirs = await register(http, "yeoksam1", name="이역삼")
    mark = await outbox_mark(intake)

    assert (await http.get(f"/households/{mine['id']}", headers=SINSA)).status_code == 200
    other = await http.get(f"/households/{theirs['id']}", headers=SINSA)
    assert other.status_code == 403 and "이역삼" not in other.text
    assert (await http.get(f"/households/{theirs['id']}/history", headers=SINSA)).status_code == 403
    moved = await http.patch(f"/households/{mine['id']}", json={"dong": "yeoksam1"}, headers=SINSA)
    assert moved.status_code == 403
    foreign = await http.post("/households", json=household_body("yeoksam1"), headers=SINSA)
    assert foreign.status_code == 403

    listed = await http.get("/households", headers=SINSA, params={"limit": 200})
    assert listed.status_code == 200
    assert {h["dong"] for h in listed.json()["items"]} == {"sinsa"}
    asked_other = await http.get("/households", headers=SINSA, params={"dong": "yeoksam1"})
    assert asked_other.json()["items"] == []

    # A case manager works district-wide.
    assert (await http.get(f"/households/{theirs['id']}", headers=MANAGER)).status_code == 200

    # Every read was logged; the refused ones were not (nothing was served).
    logged = await accesses_since(intake, mark)
    reads = [a for a in logged if a["action"] == "read"]
    assert [(a["actor_id"], a["record_id"]) for a in reads] == [
        ("officer-sinsa", mine["id"]),
        ("cm-1", theirs["id"]),
    ]
    listed_ids = {a["record_id"] for a in logged if a["action"] == "list"}
    assert listed_ids == {h["id"] for h in listed.json()["items"]}
    assert all(a["client_address"] and a["purpose"] and a["service"] == "intake" for a in logged)


async def test_household_list_paginates_with_a_cursor(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        await register(http, "gaepo1")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"dong": "gaepo1", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/households", headers=ADMIN, params=params)).json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = await http.get("/households", headers=ADMIN, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


# ----------------------------------------------------------------- restricted (DV) records


async def test_police_112_referrals_are_hidden_without_clearance(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    body = {
        "dong": "dogok1",
        "channel": "police_112",
        "summary": "가정폭력 신고 (112)",
        "urgency": "high",
        "importance": "high",
        "subject": {"name": "박보호", "birth_date": "1985-02-03", "address": "서울 강남구 도곡로 1"},
    }
    refused = await http.post("/referrals", json=body, headers=MANAGER)
    assert refused.status_code == 403
    created = await http.post("/referrals", json=body, headers=CLEARED)
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["restricted"] is True and referral["subject_name"] == "박*호"

    for headers in (ADMIN, MANAGER, TEST_MINT.headers("dong_officer", dongs=["dogok1"])):
        assert (await http.get(f"/referrals/{referral['id']}", headers=headers)).status_code == 404
        assert (await http.get(f"/households/{referral['household_id']}", headers=headers)).status_code == 404
        queue = (await http.get("/referrals", headers=headers, params={"dong": "dogok1"})).json()
        assert referral["id"] not in {r["id"] for r in queue["items"]}
        homes = (await http.get("/households", headers=headers, params={"dong": "dogok1"})).json()
        assert referral["household_id"] not in {h["id"] for h in homes["items"]}

    assert (await http.get(f"/referrals/{referral['id']}", headers=CLEARED)).status_code == 200
    assert (await http.get(f"/households/{referral['household_id']}", headers=CLEARED)).status_code == 200
    queue = (await http.get("/referrals", headers=CLEARED, params={"dong": "dogok1"})).json()
    assert referral["id"] in {r["id"] for r in queue["items"]}

    # A later walk-in about the same person is linked, restricted too, and an uncleared
    # officer learns only that a restricted record exists.
    again = {**body, "channel": "walk_in", "summary": "상담"}
    linked = await http.post("/referrals", json=again, headers=MANAGER)
    assert linked.status_code == 201, linked.text
    assert linked.json()["status"] == "linked" and linked.json()["restricted"] is True
    assert linked.json()["link"]["referral_id"] is None and "restricted" in linked.json()["link"]["reason"]
    [accepted_events] = [e for e in await outbox(intake) if e["subject"] == referral["id"]][:1]
    assert accepted_events["type"] == "heemang.intake.referral.received.v1"


# ----------------------------------------------------------------- reveal


async def test_full_rrn_only_through_reveal_with_clearance_and_mfa(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    number = rrn.make(date(1952, 6, 7), "2", "86420")
    household = await register(http, "segok", number=number)
    person_id = household["members"][0]["id"]
    assert number not in json.dumps(household)
    path = f"/households/{household['id']}/members/{person_id}/rrn-reveal"
    assert (await http.post(path, headers=ADMIN)).status_code == 403  # no clearance
    no_mfa = TEST_MINT.headers("supervisor", sub="sup-1", clearances=["rrn_reveal"], mfa=False)
    assert (await http.post(path, headers=no_mfa)).status_code == 403
    other_dong = TEST_MINT.headers("dong_officer", dongs=["sinsa"], clearances=["rrn_reveal"])
    assert (await http.post(path, headers=other_dong)).status_code == 403
    mark = await outbox_mark(intake)
    cleared = TEST_MINT.headers("supervisor", sub="sup-1", clearances=["rrn_reveal"], mfa=True)
    revealed = await http.post(path, headers=cleared)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json() == {"person_id": person_id, "rrn": number}
    assert revealed.headers["cache-control"] == "no-store"
    [entry] = await accesses_since(intake, mark)
    assert entry["action"] == "reveal" and entry["record_type"] == "person"
    assert entry["record_id"] == person_id and entry["household_id"] == household["id"]
    assert entry["actor_id"] == "sup-1"
    assert number not in json.dumps(entry)
    wrong = f"/households/{household['id']}/members/{uuid.uuid4()}/rrn-reveal"
    assert (await http.post(wrong, headers=cleared)).status_code == 404


# ----------------------------------------------------------------- channels


async def test_walk_in_consultation_with_notes_is_queued_and_notes_redact_rrns(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    typed = rrn.make(date(1961, 1, 2), "1", "22222")
    created = await http.post(
        "/referrals",
        json={
            "dong": "sinsa",
            "channel": "walk_in",
            "summary": "월세 체납",
            "notes": f"초기상담: 실직 3개월, 주민번호 {typed} 확인, 연락처 010-1111-2222",
            "subject": {"name": "최상담", "birth_date": "1961-01-02"},
        },
        headers=SINSA,
    )
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["status"] == "received" and referral["channel"] == "walk_in"
    assert typed not in created.text and "610102-1******" in referral["notes"]
    assert "010-1111-2222" in referral["notes"]  # not an RRN: kept for the officer
    async with intake.runtime.sessionmaker() as session:
        stored = await session.get(Referral, uuid.UUID(referral["id"]))
    assert stored is not None and typed not in (stored.notes or "")
    types = [e["type"] for e in await outbox(intake) if e["subject"] == referral["id"]]
    assert "heemang.intake.referral.received.v1" in types
    assert "heemang.intake.referral.accepted.v1" not in types


async def test_volunteer_needs_its_kind_and_hotline_channel_is_refused(http: httpx.AsyncClient) -> None:
    missing = await http.post("/referrals", json={"dong": "sinsa", "channel": "volunteer"}, headers=SINSA)
    assert missing.status_code == 422
    ok = await http.post(
        "/referrals",
        json={
            "dong": "sinsa",
            "channel": "volunteer",
            "reporter_kind": "neighbour_watcher",
            "summary": "고독사 우려",
        },
        headers=SINSA,
    )
    assert ok.status_code == 201 and ok.json()["reporter_kind"] == "neighbour_watcher"
    hotline = await http.post("/referrals", json={"dong": "sinsa", "channel": "hotline"}, headers=SINSA)
    assert hotline.status_code == 422
    unknown = await http.post("/referrals", json={"dong": "atlantis", "channel": "phone"}, headers=ADMIN)
    assert unknown.status_code == 422


async def test_partner_agency_sees_only_its_own_referrals(http: httpx.AsyncClient) -> None:
    partner = TEST_MINT.headers("partner_agency", sub="p-1", agency="ag-1", dongs=[])
    other = TEST_MINT.headers("partner_agency", sub="p-2", agency="ag-2", dongs=[])
    body = {"dong": "irwon1", "channel": "partner_agency", "summary": "복지관 의뢰"}
    created = await http.post("/referrals", json=body, headers=partner)
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["submitted_by_agency"] == "ag-1"
    assert (
        await http.post("/referrals", json={**body, "channel": "walk_in"}, headers=partner)
    ).status_code == 422
    assert (await http.post("/referrals", json={**body, "accept": True}, headers=partner)).status_code == 403
    assert (await http.get(f"/referrals/{referral['id']}", headers=partner)).status_code == 200
    assert (await http.get(f"/referrals/{referral['id']}", headers=other)).status_code == 404
    assert (await http.get(f"/households/{referral['household_id']}", headers=partner)).status_code == 403
    own = (await http.get("/referrals", headers=partner)).json()["items"]
    assert [r["id"] for r in own] == [referral["id"]]
    assert (await http.get("/referrals", headers=other)).json()["items"] == []
    decided = await http.post(
        f"/referrals/{referral['id']}/decision", json={"decision": "accept"}, headers=partner
    )
    assert decided.status_code == 403


async def test_red_postbox_is_public_anonymous_echoes_nothing_and_is_rate_limited(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    report = {
        "dong": "suseo",
        "report": "옆집 김영감님이 일주일째 안 보여요 010-5555-6666",
        "place": "수서로 7",
    }
    headers = {"x-forwarded-for": "203.0.113.7"}
    receipts = []
    for _ in range(3):
        response = await http.post("/public/red-postbox", json=report, headers=headers)
        assert response.status_code == 202, response.text
        assert set(response.json()) == {"receipt_no", "received_at"}
        assert "김영감" not in response.text and "5555" not in response.text and "수서로" not in response.text
        receipts.append(response.json()["receipt_no"])
    assert len(set(receipts)) == 3 and all(r.startswith("RP-") for r in receipts)
    limited = await http.post("/public/red-postbox", json=report, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["retry_after"] >= 1
    elsewhere = await http.post(
        "/public/red-postbox", json=report, headers={"x-forwarded-for": "203.0.113.8"}
    )
    assert elsewhere.status_code == 202
    bad = await http.post("/public/red-postbox", json={**report, "dong": "atlantis"}, headers=headers)
    assert bad.status_code in (422, 429)

    async with intake.runtime.sessionmaker() as session:
        rows = (
            (await session.execute(select(Referral).where(Referral.channel == "red_postbox"))).scalars().all()
        )
    assert {r.receipt_no for r in rows} >= set(receipts)
    assert all(r.status == "received" and r.urgency == "high" and r.submitted_by is None for r in rows)
    queue = (await http.get("/referrals", headers=ADMIN, params={"channel": "red_postbox"})).json()["items"]
    assert {r["dong"] for r in queue} == {"suseo"}


# ----------------------------------------------------------------- duplicates


async def test_duplicates_are_linked_by_rrn_then_name_birth_address(http: httpx.AsyncClient) -> None:
    number = rrn.make(date(1947, 9, 9), "1", "97531")
    subject = {"name": "정중복", "rrn": number, "address": "서울특별시 강남구 개포로 12"}
    first = await http.post(
        "/referrals", json={"dong": "gaepo2", "channel": "phone", "subject": subject}, headers=ADMIN
    )
    assert first.status_code == 201 and first.json()["status"] == "received" and first.json()["link"] is None
    by_rrn = await http.post(
        "/referrals",
        json={
            "dong": "gaepo2",
            "channel": "volunteer",
            "reporter_kind": "honorary_officer",
            "subject": subject,
        },
        headers=ADMIN,
    )
    body = by_rrn.json()
    assert body["status"] == "linked" and body["household_id"] == first.json()["household_id"]
    assert body["link"]["referral_id"] == first.json()["id"] and body["link"]["matched_by"] == "rrn"
    assert "same resident registration number" in body["link"]["reason"]
    assert number not in by_rrn.text

    by_name = await http.post(
        "/referrals",
        json={
            "dong": "gaepo2",
            "channel": "walk_in",
            "subject": {
                "name": "정중복",
                "birth_date": "1947-09-09",
                "address": "서울특별시  강남구 개포로 12",
            },
        },
        headers=ADMIN,
    )
    assert by_name.json()["status"] == "linked"
    assert by_name.json()["link"]["matched_by"] == "name_birth_address"
    different = await http.post(
        "/referrals",
        json={
            "dong": "gaepo2",
            "channel": "walk_in",
            "subject": {
                "name": "정중복",
                "birth_date": "1947-09-09",
                "address": "서울특별시 강남구 개포로 99",
            },
        },
        headers=ADMIN,
    )
    assert different.json()["status"] == "received"  # same name and birthday, another address

    mismatch = await http.post(
        "/referrals",
        json={"dong": "gaepo2", "channel": "phone", "subject": {**subject, "birth_date": "1950-01-01"}},
        headers=ADMIN,
    )
    assert mismatch.status_code == 422 and number not in mismatch.text


async def test_open_case_wins_and_the_referral_says_why(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    household = await register(http, "daechi1")
    case_id = uuid.uuid4()
    async with intake.runtime.sessionmaker() as session, session.begin():
        session.add(
            OpenCase(
                case_id=case_id,
                household_id=uuid.UUID(household["id"]),
                stage="delivery",
                since=datetime.now(UTC),
            )
        )
    response = await http.post(
        "/referrals",
        json={"household_id": household["id"], "dong": "daechi1", "channel": "phone"},
        headers=ADMIN,
    )
    body = response.json()
    assert body["status"] == "linked" and body["link"]["case_id"] == str(case_id)
    assert body["link"]["kind"] == "case" and "case manager" in body["link"]["reason"]
    linked = [
        e for e in await outbox(intake, "heemang.intake.referral.linked.v1") if e["subject"] == body["id"]
    ]
    assert linked[0]["data"]["linked_case_id"] == str(case_id)
    assert (await http.get(f"/referrals/{body['id']}", headers=ADMIN)).json()["link"] == body["link"]


# ----------------------------------------------------------------- triage and decisions


async def test_queue_by_priority_then_age_with_cursor(http: httpx.AsyncClient) -> None:
    made = []
    for urgency, importance in (("low", "low"), ("high", "medium"), ("medium", "high"), ("high", "high")):
        response = await http.post(
            "/referrals",
            json={"dong": "daechi4", "channel": "phone", "urgency": urgency, "importance": importance},
            headers=ADMIN,
        )
        made.append(response.json())
    officer = TEST_MINT.headers("dong_officer", sub="o-d4", dongs=["daechi4"])
    ids: list[str] = []
    priorities: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, "status": "received"}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/referrals", headers=officer, params=params)).json()
        ids += [r["id"] for r in page["items"]]
        priorities += [r["priority"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert priorities == [1, 2, 4, 9]
    assert ids == [made[3]["id"], made[1]["id"], made[2]["id"], made[0]["id"]]

    low = made[0]["id"]
    retriaged = await http.put(
        f"/referrals/{low}/triage", json={"urgency": "high", "importance": "high"}, headers=officer
    )
    assert retriaged.json()["priority"] == 1
    assigned = await http.put(f"/referrals/{low}/assignment", json={"officer_id": "o-d4"}, headers=officer)
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == "o-d4"
    for_other = await http.put(f"/referrals/{low}/assignment", json={"officer_id": "o-x"}, headers=officer)
    assert for_other.status_code == 403
    by_supervisor = await http.put(
        f"/referrals/{low}/assignment", json={"officer_id": "o-x"}, headers=TEST_MINT.headers("supervisor")
    )
    assert by_supervisor.json()["assigned_to"] == "o-x"
    mine = (await http.get("/referrals", headers=officer, params={"assigned_to": "o-x"})).json()["items"]
    assert [r["id"] for r in mine] == [low]


async def test_decisions_are_events(http: httpx.AsyncClient, intake: RunningService) -> None:
    async def new() -> str:
        response = await http.post("/referrals", json={"dong": "irwon2", "channel": "walk_in"}, headers=ADMIN)
        return str(response.json()["id"])

    officer = TEST_MINT.headers("dong_officer", sub="o-iw", dongs=["irwon2"])
    accept_id, reject_id, link_id, target_id = await new(), await new(), await new(), await new()

    accepted = await http.post(
        f"/referrals/{accept_id}/decision", json={"decision": "accept"}, headers=officer
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_by"] == "o-iw" and accepted.json()["accepted_at"]
    again = await http.post(
        f"/referrals/{accept_id}/decision", json={"decision": "reject", "reason": "x"}, headers=officer
    )
    assert again.status_code == 409

    no_reason = await http.post(
        f"/referrals/{reject_id}/decision", json={"decision": "reject"}, headers=officer
    )
    assert no_reason.status_code == 422
    rejected = await http.post(
        f"/referrals/{reject_id}/decision",
        json={"decision": "reject", "reason": "관외 전출"},
        headers=officer,
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_reason"] == "관외 전출"

    bad_link = await http.post(
        f"/referrals/{link_id}/decision",
        json={"decision": "link", "case_id": str(uuid.uuid4())},
        headers=officer,
    )
    assert bad_link.status_code == 422
    linked = await http.post(
        f"/referrals/{link_id}/decision", json={"decision": "link", "referral_id": target_id}, headers=officer
    )
    assert linked.json()["status"] == "linked" and linked.json()["link"]["referral_id"] == target_id
    assert linked.json()["link"]["matched_by"] == "decision"

    outsider = TEST_MINT.headers("dong_officer", dongs=["sinsa"])
    assert (
        await http.post(f"/referrals/{target_id}/decision", json={"decision": "accept"}, headers=outsider)
    ).status_code == 403

    events = {(e["subject"], e["type"].split(".")[3]) for e in await outbox(intake)}
    assert (accept_id, "accepted") in events and (reject_id, "rejected") in events
    assert (link_id, "linked") in events
    [event] = [
        e for e in await outbox(intake, "heemang.intake.referral.accepted.v1") if e["subject"] == accept_id
    ]
    assert event["data"]["dong"] == "irwon2" and event["data"]["channel"] == "walk_in"

    immediate = await http.post(
        "/referrals", json={"dong": "irwon2", "channel": "walk_in", "accept": True}, headers=officer
    )
    assert immediate.json()["status"] == "accepted"


# ----------------------------------------------------------------- screening


async def test_screening_a_referral_uses_the_register_and_names_what_is_missing(
    http: httpx.AsyncClient, intake: RunningService
) -> None:
    household = await register(
        http,
        "cheongdam",
        number=rrn.make(date(1960, 5, 5), "1", "55555"),
        income_monthly=1_300_000,
        property_value=50_000_000,
        financial_assets=1_000_000,
    )
    referral = (
        await http.post(
            "/referrals",
            json={"household_id": household["id"], "dong": "cheongdam", "channel": "phone"},
            headers=ADMIN,
        )
    ).json()
    officer = TEST_MINT.headers("dong_officer", sub="o-cd", dongs=["cheongdam"])
    mark = await outbox_mark(intake)
    screened = await http.post(f"/referrals/{referral['id']}/screening", json={}, headers=officer)
    assert screened.status_code == 200, screened.text
    result = screened.json()
    assert result["policy_year"] == 2021 and result["missing"] == []
    national = next(s for s in result["schemes"] if s["scheme"] == "national")
    assert national["eligible"] is True
    income = next(line for line in national["lines"] if line["criterion"] == "income")
    assert income == {
        "criterion": "income",
        "label": "월 소득 ≤ 기준중위소득 75% (1인)",
        "threshold": 1_370_873,
        "value": 1_300_000,
        "passed": True,
    }
    assert {i["type"] for i in result["support"]} >= {"living", "medical", "housing"}
    assert result["care_sos"]["cost"] == "free"  # the head is over 50 on the referral's date
    [event] = [
        e
        for e in await outbox(intake, "heemang.intake.referral.screened.v1")
        if e["subject"] == referral["id"]
    ]
    assert event["data"]["national_eligible"] is True and event["data"]["care_sos"] == "free"
    assert [a["action"] for a in await accesses_since(intake, mark)] == ["read"]

    outsider = TEST_MINT.headers("dong_officer", dongs=["sinsa"])
    assert (
        await http.post(f"/referrals/{referral['id']}/screening", json={}, headers=outsider)
    ).status_code == 403

    bare = (
        await http.post("/referrals", json={"dong": "cheongdam", "channel": "phone"}, headers=ADMIN)
    ).json()
    unknown = (await http.post(f"/referrals/{bare['id']}/screening", json={}, headers=ADMIN)).json()
    assert "household_size" in unknown["missing"] and "monthly_income" in unknown["missing"]
    assert all(s["eligible"] is None for s in unknown["schemes"])
    negative = await http.post(
        f"/referrals/{bare['id']}/screening", json={"monthly_income": -5}, headers=ADMIN
    )
    assert negative.status_code == 422


async def test_screening_check_without_a_referral(http: httpx.AsyncClient) -> None:
    body = {
        "on": "2021-03-01",
        "household_size": 4,
        "monthly_income": 3_652_219,
        "property_value": 0,
        "financial_assets": 0,
        "protection_status": "near_poor",
        "age": 30,
        "disabled": False,
    }
    result = (await http.post("/screening/check", json=body, headers=SINSA)).json()
    assert {s["scheme"]: s["eligible"] for s in result["schemes"]} == {"national": False, "seoul": True}
    assert result["care_sos"]["cost"] == "not_eligible" and result["support"] == []
    too_early = await http.post("/screening/check", json={**body, "on": "2019-01-01"}, headers=SINSA)
    assert too_early.status_code == 422
    assert (await http.post("/screening/check", json=body)).status_code == 401


async def test_control_characters_are_bad_input_not_server_errors(http: httpx.AsyncClient) -> None:
    """PostgreSQL text cannot hold NUL: found by schemathesis as a 500 on a list filter."""
    body = {"dong": "sinsa", "channel": "walk_in", "summary": "체납\x00"}
    assert (await http.post("/referrals", json=body, headers=ADMIN)).status_code == 422
    for path in ("/households", "/referrals"):
        response = await http.get(path, params={"dong": "sin\x00sa"}, headers=ADMIN)
        assert response.status_code == 422, path
    queue = await http.get("/referrals", params={"assigned_to": "o\x00"}, headers=ADMIN)
    assert queue.status_code == 422
    report = {"dong": "sinsa", "report": "도와주세요\x00\x01"}
    assert (await http.post("/public/red-postbox", json=report)).status_code == 422
    ok = await http.post("/referrals", json={**body, "summary": "줄바꿈\n탭\t허용"}, headers=ADMIN)
    assert ok.status_code == 201


async def test_a_referral_about_someone_in_another_dong_goes_there_and_reveals_nothing(
    http: httpx.AsyncClient,
) -> None:
    number = rrn.make(date(1966, 6, 6), "2", "36912")
    household = await register(http, "yeoksam1", name="남의동", number=number)
    first = await http.post(
        "/referrals",
        json={"household_id": household["id"], "dong": "yeoksam1", "channel": "phone"},
        headers=ADMIN,
    )
    assert first.status_code == 201
    sent = await http.post(
        "/referrals",
        json={"dong": "sinsa", "channel": "walk_in", "subject": {"name": "남의동", "rrn": number}},
        headers=SINSA,
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["dong"] == "yeoksam1" and body["status"] == "linked"
    assert body["subject_name"] is None
    assert body["link"]["referral_id"] is None and body["link"]["matched_by"] == "other_dong"
    assert first.json()["id"] not in sent.text
    assert (await http.get(f"/referrals/{body['id']}", headers=SINSA)).status_code == 403
    assert (await http.get(f"/referrals/{body['id']}", headers=YEOKSAM)).json()["link"]["matched_by"] == "rrn"
