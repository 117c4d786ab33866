"""T12 for intake: every operation of the OpenAPI document × five callers (the 동's own
officer, another 동's officer, an auditor, a district admin, a partner agency) against a
household and referral of 신사동. The table below is the allow/deny contract; a route
added without a row fails the coverage check. No response may carry the plaintext RRN."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from heemang_common.broker import EmbeddedBroker
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT
from heemang_intake.domain import rrn
from heemang_intake.settings import Settings

CALLERS = {
    "own_officer": TEST_MINT.headers("dong_officer", sub="o-sinsa", dongs=["sinsa"]),
    "other_officer": TEST_MINT.headers("dong_officer", sub="o-yeoksam", dongs=["yeoksam1"]),
    "auditor": TEST_MINT.headers("auditor", sub="aud-1"),
    "admin": TEST_MINT.headers("district_admin", sub="adm-1"),
    "partner": TEST_MINT.headers("partner_agency", sub="p-1", agency="ag-1", dongs=[]),
}
ORDER = list(CALLERS)
NUMBER = rrn.make(date(1949, 4, 4), "2", "11223")
PLATFORM = {"/healthz", "/readyz", "/metrics", "/ops/dead-letters"}


@dataclass
class World:
    household: str
    person: str
    referral: str
    batch: str
    batch_row: str


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # OpenAPI template
    expected: tuple[int, int, int, int, int]  # in ORDER
    body: dict[str, Any] | None = None
    upload: bool = False


def table() -> list[Op]:
    csv_body = {"dry_run": "true"}
    return [
        Op("post", "/households", (201, 403, 403, 201, 403), body=_household_body()),
        Op("get", "/households", (200, 200, 403, 200, 403)),
        Op("post", "/households/lookup", (200, 403, 403, 200, 403), body={"rrn": NUMBER}),
        Op("get", "/households/{household_id}", (200, 403, 403, 200, 403)),
        Op("patch", "/households/{household_id}", (200, 403, 403, 200, 403), body={"phone": "010-3333-4444"}),
        Op("get", "/households/{household_id}/history", (200, 403, 403, 200, 403)),
        Op("post", "/households/{household_id}/members/{person_id}/rrn-reveal", (403, 403, 403, 403, 403)),
        Op("post", "/referrals", (201, 403, 403, 201, 422), body={"dong": "sinsa", "channel": "walk_in"}),
        Op("get", "/referrals", (200, 200, 403, 200, 200)),
        Op("get", "/referrals/{referral_id}", (200, 403, 403, 200, 404)),
        Op(
            "put",
            "/referrals/{referral_id}/triage",
            (200, 403, 403, 200, 403),
            {"urgency": "high", "importance": "low"},
        ),
        Op(
            "put",
            "/referrals/{referral_id}/assignment",
            (200, 403, 403, 200, 403),
            body={"officer_id": "o-sinsa"},
        ),
        # A link to a referral that does not exist: 422 for callers allowed to decide.
        Op(
            "post",
            "/referrals/{referral_id}/decision",
            (422, 403, 403, 422, 403),
            body={"decision": "link", "referral_id": str(uuid.uuid4())},
        ),
        Op("post", "/referrals/{referral_id}/screening", (200, 403, 403, 200, 403), body={}),
        Op(
            "post",
            "/screening/check",
            (200, 200, 403, 200, 200),
            body={"on": "2021-05-01", "household_size": 1},
        ),
        Op("post", "/imports", (403, 403, 403, 201, 403), body=csv_body, upload=True),
        Op("get", "/imports/{batch_id}", (200, 200, 403, 200, 403)),
        Op("get", "/imports/{batch_id}/overdue", (200, 200, 403, 200, 403)),
        # linked_existing_case without a case id: 422 for callers allowed to decide the row.
        Op(
            "put",
            "/imports/{batch_id}/rows/{referral_id}/outcome",
            (422, 403, 403, 422, 404),
            body={"outcome": "linked_existing_case"},
        ),
        Op(
            "post",
            "/public/red-postbox",
            (202, 202, 202, 202, 202),
            body={"dong": "sinsa", "report": "어르신이 안 보여요"},
        ),
    ]


def _household_body() -> dict[str, Any]:
    return {
        "dong": "sinsa",
        "household_type": "other",
        "protection_status": "low_income",
        "members": [{"name": "홍길동", "relationship": "head", "is_head": True}],
    }


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    settings = fast_settings(
        Settings, database_url=url, bootstrap=intake_broker.bootstrap_servers, red_postbox_burst=50
    )
    running = await serve("intake", create_app(settings), settings.port)
    try:
        yield running
    finally:
        await running.stop()


async def _world(http: httpx.AsyncClient) -> World:
    admin = CALLERS["admin"]
    body = {**_household_body(), "address": "서울특별시 강남구 도산대로 1", "phone": "010-1212-3434"}
    body["members"] = [{"name": "김보호", "relationship": "head", "is_head": True, "rrn": NUMBER}]
    household = (await http.post("/households", json=body, headers=admin)).json()
    referral = await http.post(
        "/referrals",
        json={"household_id": household["id"], "dong": "sinsa", "channel": "phone"},
        headers=admin,
    )
    row_number = rrn.make(date(1950, 5, 5), "1", "44556")
    csv = f"동,성명,주민등록번호\nsinsa,박행복,{row_number}\n".encode()
    imported = await http.post("/imports", files={"file": ("l.csv", csv, "text/csv")}, headers=admin)
    batch = imported.json()["batch_id"]
    queue = await http.get("/referrals", params={"channel": "bulk_screening"}, headers=admin)
    [row] = queue.json()["items"]
    return World(household["id"], household["members"][0]["id"], referral.json()["id"], batch, row["id"])


def _concrete(op: Op, world: World) -> str:
    referral = world.batch_row if "/imports/" in op.path else world.referral
    return (
        op.path.replace("{household_id}", world.household)
        .replace("{person_id}", world.person)
        .replace("{referral_id}", referral)
        .replace("{batch_id}", world.batch)
    )


async def test_every_operation_for_every_caller_matches_the_table(intake: RunningService) -> None:
    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as http:
        document = (await http.get("/openapi.json")).json()
        documented = {
            (method, path)
            for path, ops in document["paths"].items()
            if path not in PLATFORM
            for method in ops
        }
        rows = table()
        assert {(op.method, op.path) for op in rows} == documented, "every route needs a row in the table"
        world = await _world(http)
        mismatches = []
        for op in rows:
            for caller, expected in zip(ORDER, op.expected, strict=True):
                headers = CALLERS[caller]
                url = _concrete(op, world)
                if op.upload:
                    csv = f"동,성명,주민등록번호\nsinsa,이업로드,{rrn.make(date(1951, 1, 1), '1', '99887')}\n"
                    response = await http.post(
                        url,
                        files={"file": ("m.csv", csv.encode(), "text/csv")},
                        data=op.body,
                        headers=headers,
                    )
                else:
                    response = await http.request(op.method.upper(), url, json=op.body, headers=headers)
                if response.status_code != expected:
                    mismatches.append((op.method, op.path, caller, expected, response.status_code))
                assert NUMBER not in response.text and NUMBER.replace("-", "") not in response.text
                if response.status_code >= 400:
                    assert response.headers["content-type"].startswith("application/problem+json")
        assert mismatches == []


async def test_lists_never_cross_the_scope(intake: RunningService) -> None:
    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as http:
        other = CALLERS["other_officer"]
        households = (await http.get("/households", headers=other, params={"limit": 200})).json()["items"]
        referrals = (await http.get("/referrals", headers=other, params={"limit": 200})).json()["items"]
        assert all(h["dong"] == "yeoksam1" for h in households)
        assert all(r["dong"] == "yeoksam1" for r in referrals)
        own = (await http.get("/referrals", headers=CALLERS["partner"])).json()["items"]
        assert all(r["submitted_by_agency"] == "ag-1" for r in own)
