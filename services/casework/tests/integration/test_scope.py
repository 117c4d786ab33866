"""Assignment and scope over real HTTP (RELIABILITY T12 rows for cases, T13 for their reads):
who reads which case, who may change it, the access log written for every read, and a
reassignment that moves a partner agency's access."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from heemang_casework import service
from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import Case, OutboxMessage
from heemang_casework.domain.scope import CaseScope, Role, Viewer, can_read
from heemang_casework.settings import Settings
from heemang_common.db import transaction
from heemang_common.events.hotline import CheckinMissedData, CheckinRecord
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve

ACCESS = "heemang.audit.access.recorded.v1"
ASSIGNED = "heemang.casework.case.assigned.v1"


@pytest.fixture(scope="module")
async def casework(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("casework", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap)
    running = await serve("casework", create_app(settings), settings.port)
    yield running
    await running.stop()


@pytest.fixture
async def http(casework: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=casework.url, timeout=10) as client:
        yield client


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    sub: str
    dongs: tuple[str, ...] = ()
    agency: str | None = None
    restricted: bool = False

    def headers(self) -> dict[str, str]:
        clearances = ["restricted"] if self.restricted else []
        return TEST_MINT.headers(
            self.role, sub=self.sub, dongs=list(self.dongs), agency=self.agency, clearances=clearances
        )

    def viewer(self) -> Viewer:
        return Viewer(self.sub, Role(self.role), frozenset(self.dongs), self.agency, self.restricted)


# Three cases: A (sinsa, cm-1, ag-1), B (yeoksam, cm-2, ag-2), C (sinsa, cm-1, ag-1, restricted DV).
CALLERS_AND_READS: list[tuple[Caller, set[str]]] = [
    (Caller("admin", "district_admin", "u-admin", ("*",)), {"A", "B"}),
    (Caller("admin+restricted", "district_admin", "u-admin", ("*",), restricted=True), {"A", "B", "C"}),
    (Caller("supervisor", "supervisor", "u-sup"), {"A", "B"}),
    (Caller("auditor", "auditor", "u-aud"), {"A", "B"}),
    (Caller("cm-1 (assigned, no 동)", "case_manager", "cm-1"), {"A"}),
    (Caller("cm-1+restricted", "case_manager", "cm-1", restricted=True), {"A", "C"}),
    (Caller("cm-3 (yeoksam)", "case_manager", "cm-3", ("yeoksam",)), {"B"}),
    (Caller("cm-4 (district)", "case_manager", "cm-4", ("*",)), {"A", "B"}),
    (Caller("동 officer sinsa", "dong_officer", "d-1", ("sinsa",)), {"A"}),
    (Caller("동 officer sinsa+restricted", "dong_officer", "d-1", ("sinsa",), restricted=True), {"A", "C"}),
    (Caller("동 officer yeoksam", "dong_officer", "d-2", ("yeoksam",)), {"B"}),
    (Caller("partner ag-1", "partner_agency", "p-1", (), "ag-1"), {"A"}),
    (Caller("partner ag-1 claiming 동s", "partner_agency", "p-1", ("sinsa", "*"), "ag-1"), {"A"}),
    (Caller("partner ag-1+restricted", "partner_agency", "p-1", (), "ag-1", True), {"A", "C"}),
    (Caller("partner ag-3", "partner_agency", "p-3", (), "ag-3"), set()),
    (Caller("hotline", "hotline_counsellor", "h-1", ("*",)), set()),
    (Caller("resources", "resource_officer", "r-1", ("*",)), set()),
]

#: Roles that may move a case's stage (when they can read it).
TRANSITION_ROLES = {"district_admin", "supervisor", "case_manager"}

SCOPES = {
    "A": CaseScope("sinsa", "cm-1", frozenset({"ag-1"})),
    "B": CaseScope("yeoksam", "cm-2", frozenset({"ag-2"})),
    "C": CaseScope("sinsa", "cm-1", frozenset({"ag-1"}), restricted=True),
}


async def _case(casework: RunningService, name: str) -> Case:
    scope = SCOPES[name]
    async with transaction(casework.runtime.sessionmaker) as session:
        case = await service.open_case_for_referral(
            session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong=scope.dong
        )
        await service.assign(
            session,
            case,
            case_manager_id=scope.case_manager_id,
            dong=scope.dong,
            agencies=sorted(scope.agencies),
            restricted=scope.restricted,
            actor="setup",
        )
    return case


@pytest.fixture(scope="module")
async def cases(casework: RunningService) -> dict[str, Case]:
    return {name: await _case(casework, name) for name in SCOPES}


async def _outbox(casework: RunningService, type_: str) -> list[dict[str, Any]]:
    async with transaction(casework.runtime.sessionmaker) as session:
        stmt = (
            select(OutboxMessage.payload).where(OutboxMessage.event_type == type_).order_by(OutboxMessage.id)
        )
        return [json.loads(p) for p in (await session.execute(stmt)).scalars()]


def test_the_table_agrees_with_the_pure_rules() -> None:
    for caller, readable in CALLERS_AND_READS:
        derived = {name for name, scope in SCOPES.items() if can_read(caller.viewer(), scope)}
        assert derived == readable, caller.name


@pytest.mark.parametrize(
    ("caller", "readable"), CALLERS_AND_READS, ids=[c.name for c, _ in CALLERS_AND_READS]
)
async def test_reads_follow_the_scope_table(
    casework: RunningService,
    http: httpx.AsyncClient,
    cases: dict[str, Case],
    caller: Caller,
    readable: set[str],
) -> None:
    headers = caller.headers()
    for name, case in cases.items():
        response = await http.get(f"/cases/{case.id}", headers=headers)
        expected = 200 if name in readable else 404  # out of scope: existence not disclosed
        assert response.status_code == expected, (caller.name, name, response.text)
        for path in ("timeline", "alerts"):
            assert (await http.get(f"/cases/{case.id}/{path}", headers=headers)).status_code == expected

    # The list (SQL twin of the rule) shows exactly the readable ones.
    listed = await http.get("/cases", headers=headers, params={"limit": 500})
    if caller.role in {"hotline_counsellor", "resource_officer"}:
        assert listed.status_code == 403
        assert listed.headers["content-type"].startswith("application/problem+json")
        return
    assert listed.status_code == 200
    ids = {item["id"] for item in listed.json()["items"]}
    assert {name for name, case in cases.items() if str(case.id) in ids} == readable, caller.name
    if caller.role == "partner_agency":
        assert all(item["selection_reason"] is None for item in listed.json()["items"])


@pytest.mark.parametrize(
    ("caller", "readable"), CALLERS_AND_READS, ids=[c.name for c, _ in CALLERS_AND_READS]
)
async def test_writes_need_scope_and_role(
    casework: RunningService, http: httpx.AsyncClient, caller: Caller, readable: set[str]
) -> None:
    # Fresh cases per caller, so a successful move does not change the next caller's case.
    fresh = {name: await _case(casework, name) for name in SCOPES}
    for name, case in fresh.items():
        response = await http.post(
            f"/cases/{case.id}/transitions", json={"to": "assessment"}, headers=caller.headers()
        )
        allowed = 200 if caller.role in TRANSITION_ROLES else 403
        expected = allowed if name in readable else 404
        assert response.status_code == expected, (caller.name, name, response.text)
        async with transaction(casework.runtime.sessionmaker) as session:
            stored = await session.get(Case, case.id)
            assert stored is not None
            assert stored.stage == ("assessment" if expected == 200 else "intake")


async def test_no_token_or_a_bad_token_is_401(http: httpx.AsyncClient, cases: dict[str, Case]) -> None:
    case = cases["A"]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        for method, path in (("GET", "/cases"), ("GET", f"/cases/{case.id}"), ("GET", "/alerts")):
            response = await http.request(method, path, headers=headers)
            assert response.status_code == 401, (path, response.text)
        moved = await http.post(f"/cases/{case.id}/transitions", json={"to": "assessment"}, headers=headers)
        assert moved.status_code == 401


async def test_every_read_is_logged(
    casework: RunningService, http: httpx.AsyncClient, cases: dict[str, Case]
) -> None:
    officer = Caller("d", "dong_officer", "d-log", ("sinsa",))
    before = len(await _outbox(casework, ACCESS))
    case = cases["A"]
    assert (
        await http.get(f"/cases/{case.id}", headers=officer.headers() | {"X-Purpose": "home-visit"})
    ).is_success
    assert (await http.get(f"/cases/{case.id}/timeline", headers=officer.headers())).is_success
    listed = await http.get("/cases", headers=officer.headers(), params={"dong": "sinsa", "limit": 500})
    entries = (await _outbox(casework, ACCESS))[before:]
    reads = [e["data"] for e in entries]
    assert reads[0]["record_id"] == str(case.id) and reads[0]["action"] == "read"
    assert reads[0]["household_id"] == str(case.household_id) and reads[0]["actor_id"] == "d-log"
    assert reads[0]["purpose"] == "home-visit" and reads[0]["client_address"]
    assert reads[1]["record_type"] == "case_timeline"
    assert len(reads) == 2 + len(listed.json()["items"])
    assert {r["action"] for r in reads[2:]} == {"list"}
    # A refused read is not served and not logged as served.
    outsider = Caller("o", "dong_officer", "d-out", ("yeoksam",))
    before = len(await _outbox(casework, ACCESS))
    assert (await http.get(f"/cases/{case.id}", headers=outsider.headers())).status_code == 404
    assert len(await _outbox(casework, ACCESS)) == before


async def test_reassignment_is_logged_published_and_moves_partner_access(
    casework: RunningService, http: httpx.AsyncClient
) -> None:
    case = await _case(casework, "A")
    supervisor = TEST_MINT.headers("supervisor", sub="u-sup")
    ag1 = Caller("p", "partner_agency", "p-1", (), "ag-1").headers()
    ag2 = Caller("p", "partner_agency", "p-2", (), "ag-2").headers()
    assert (await http.get(f"/cases/{case.id}", headers=ag1)).status_code == 200
    assert (await http.get(f"/cases/{case.id}", headers=ag2)).status_code == 404

    body = {"case_manager_id": "cm-9", "dong": "yeoksam", "agencies": ["ag-2", "ag-2"]}
    moved = await http.put(f"/cases/{case.id}/assignment", json=body, headers=supervisor)
    assert moved.status_code == 200, moved.text
    assert moved.json()["agencies"] == ["ag-2"] and moved.json()["case_manager_id"] == "cm-9"
    assert (await http.get(f"/cases/{case.id}", headers=ag1)).status_code == 404
    assert (await http.get(f"/cases/{case.id}", headers=ag2)).status_code == 200

    timeline = (await http.get(f"/cases/{case.id}/timeline", headers=supervisor)).json()["items"]
    [entry] = [e for e in timeline if e["kind"] == "assigned" and e["actor"] == "u-sup"]
    assert "case_manager: cm-1 -> cm-9" in entry["reason"] and "agencies: ag-1 -> ag-2" in entry["reason"]
    events = [e for e in await _outbox(casework, ASSIGNED) if e["subject"] == str(case.id)]
    assert events[-1]["data"]["agencies"] == ["ag-2"] and events[-1]["data"]["dong"] == "yeoksam"

    # The same assignment again changes nothing: no entry, no event.
    again = await http.put(f"/cases/{case.id}/assignment", json=body, headers=supervisor)
    assert again.status_code == 200
    assert len([e for e in await _outbox(casework, ASSIGNED) if e["subject"] == str(case.id)]) == len(events)

    # Partners and 동 officers may not reassign; bad bodies are 422 and change nothing.
    assert (await http.put(f"/cases/{case.id}/assignment", json=body, headers=ag2)).status_code == 403
    for bad in ({"dong": "x y"}, {"dong": "sinsa", "agencies": ["a b"]}, {"dong": "sinsa", "extra": 1}):
        response = await http.put(f"/cases/{case.id}/assignment", json=bad, headers=supervisor)
        assert response.status_code == 422
    assert (await http.get(f"/cases/{case.id}", headers=ag2)).status_code == 200


async def test_case_list_pages_with_a_cursor_and_filters(
    casework: RunningService, http: httpx.AsyncClient
) -> None:
    dong = f"t{uuid.uuid4().hex[:10]}"
    ids = []
    for _ in range(5):
        async with transaction(casework.runtime.sessionmaker) as session:
            case = await service.open_case_for_referral(
                session, referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong=dong
            )
        ids.append(str(case.id))
    officer = TEST_MINT.headers("dong_officer", sub="d-x", dongs=[dong])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "stage": "intake"}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/cases", headers=officer, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert (await http.get("/cases", headers=officer, params={"stage": "closed"})).json()["items"] == []
    bad = await http.get("/cases", headers=officer, params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_the_alert_work_list_follows_the_scope(
    casework: RunningService, http: httpx.AsyncClient, cases: dict[str, Case]
) -> None:
    now = datetime.now(UTC)
    raised = {}
    for name in ("A", "B", "C"):
        case = cases[name]
        checkin = CheckinMissedData(
            enrolment_id=uuid.uuid4(),
            household_id=case.household_id,
            dong=case.dong,
            programme="hello_ansim",
            reason="missed",
            consecutive_misses=3,
            urgent=True,
            history=[CheckinRecord(slot_at=now - timedelta(days=1), outcome="no_answer")],
            at=now,
        )
        async with transaction(casework.runtime.sessionmaker) as session:
            alert = await service.raise_checkin_alert(session, event_id=uuid.uuid4(), checkin=checkin)
            assert alert is not None
            raised[alert.id] = name
    for caller, readable in CALLERS_AND_READS:
        response = await http.get("/alerts", headers=caller.headers(), params={"limit": 500})
        if caller.role in {"hotline_counsellor", "resource_officer"}:
            assert response.status_code == 403
            continue
        seen = {raised[uuid.UUID(a["id"])] for a in response.json()["items"] if uuid.UUID(a["id"]) in raised}
        assert seen == readable, caller.name
    # Acknowledging an alert outside one's scope is "not found", and changes nothing.
    [b_alert] = [alert_id for alert_id, name in raised.items() if name == "B"]
    outsider = Caller("d", "dong_officer", "d-1", ("sinsa",)).headers()
    refused = await http.post(f"/alerts/{b_alert}/acknowledge", json={}, headers=outsider)
    assert refused.status_code == 404
    partner = Caller("p", "partner_agency", "p-2", (), "ag-2").headers()
    assert (await http.post(f"/alerts/{b_alert}/acknowledge", json={}, headers=partner)).status_code == 403
    officer = Caller("d", "dong_officer", "d-2", ("yeoksam",)).headers()
    done = await http.post(f"/alerts/{b_alert}/acknowledge", json={"note": "visited"}, headers=officer)
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "d-2"
