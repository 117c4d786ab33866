"""The 2015 강남 half-year report (seed 003), reproduced from data: the 89 households behind it,
their cases, conferences and services are loaded into the migrated database, and the report
endpoint must give back every number of the document's tables (JSON and .xlsx)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from heemang_casework.app import create_app
from heemang_casework.cli import SERVICE_ROOT
from heemang_casework.db.models import (
    Case,
    Conference,
    ConferenceCase,
    Household,
    OutboxMessage,
    ServiceDelivery,
)
from heemang_casework.domain.followup import KST
from heemang_casework.settings import Settings
from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve

# One household per entry: type, members, protection, 동, case story, S = received services.
# Case stories: CM/SL/NS = 사례관리 / 서비스연계 / 미선정; open or closed at the end of June 2015;
# new = opened in the half year, old = carried over from 2014.
HOUSEHOLDS = """
EA 1 BL samseong2 CM-open-new S    EA 1 LI nonhyeon2 CM-open-old S
EA 1 BL suseo CM-open-old S    EA 1 BL yeoksam2 CM-open-old S
EA 1 BL daechi4 CM-open-old S    EA 1 BL segok CM-open-old S
EA 1 BL daechi4 CM-open-old S    SW 1 BL daechi4 CM-open-new S
SW 1 BL daechi4 CM-closed-old -    SW 1 BL segok SL-closed-new S
SW 1 BL segok CM-open-old S    SW 1 BL irwon1 NS-new -
SW 1 BL samseong2 CM-open-new S    SW 1 LI suseo CM-closed-new S
SW 1 BL yeoksam2 CM-open-new S    SW 1 BL daechi4 CM-open-new S
SW 1 BL samseong2 CM-open-new S    SW 1 BL samseong2 CM-open-old S
GG 2 BL cheongdam CM-open-new S    GG 2 LI daechi4 CM-open-old S
GG 2 LI segok CM-open-old S    GG 3 BL irwon1 CM-open-old S
CO 6 BL cheongdam SL-open-new -    CO 4 LI irwon2 CM-open-old S
CO 4 LI sinsa CM-open-old S    CO 4 BL yeoksam2 CM-open-old S
CO 4 LI yeoksam1 CM-closed-new S    CO 4 BL gaepo4 CM-closed-old S
CO 4 BL gaepo1 CM-closed-old S    CO 4 LI gaepo4 CM-closed-old S
CO 4 BL irwon1 CM-open-old -    CO 4 LI nonhyeon1 CM-open-old S
CO 4 LI gaepo2 CM-closed-old S    CO 4 BL irwon1 CM-open-old S
CO 4 BL daechi2 CM-open-old S    CO 4 LI gaepo1 CM-closed-old S
CO 4 BL gaepo2 CM-open-old S    CO 5 BL gaepo4 CM-open-new -
CO 5 LI gaepo2 CM-closed-old S    SP 2 BL irwon1 CM-open-old S
SP 2 BL daechi2 CM-open-old S    SP 2 BL daechi4 CM-open-new S
SP 2 BL suseo CM-closed-new S    SP 2 BL samseong1 CM-open-old S
SP 2 BL apgujeong CM-open-old S    SP 2 BL irwon2 CM-open-old S
SP 2 BL samseong2 CM-open-new S    SP 2 LI daechi4 CM-closed-old S
SP 2 BL nonhyeon2 CM-open-new S    SP 2 BL yeoksam2 CM-open-new S
SP 2 BL suseo CM-closed-old S    SP 2 BL irwon1 CM-open-old S
SP 2 BL irwon2 CM-open-new S    SP 2 LI samseong2 CM-open-old S
SP 2 LI daechi4 NS-new -    SP 2 BL irwon1 CM-closed-old S
SP 2 LI yeoksam2 CM-open-old S    SP 2 BL suseo CM-open-old S
SP 2 BL yeoksam1 CM-open-old S    SP 2 BL suseo CM-open-new S
SP 3 LI nonhyeon2 CM-closed-old S    SP 3 BL nonhyeon2 CM-closed-old S
SP 3 LI nonhyeon1 NS-new -    SP 3 LI nonhyeon2 CM-open-old S
SP 3 BL irwon2 CM-open-old S    SP 3 BL nonhyeon2 CM-open-new -
SP 3 BL irwon1 NS-new -    SP 3 BL irwon1 CM-open-old S
SP 3 BL irwon2 CM-closed-old S    SP 3 BL irwon2 CM-open-old S
SP 3 BL nonhyeon2 CM-open-old S    SP 3 BL nonhyeon2 CM-open-old S
SP 3 LI nonhyeon2 CM-closed-old S    SP 3 BL daechi2 CM-open-old S
SP 3 LI daechi2 CM-open-new S    SP 3 LI nonhyeon1 CM-open-old S
SP 3 LI gaepo4 CM-closed-old S    SP 3 BL suseo CM-open-old S
SP 3 BL nonhyeon2 CM-closed-old S    SP 3 LI yeoksam2 CM-open-new S
SP 3 BL yeoksam2 CM-closed-new S    SP 3 BL irwon2 CM-closed-old S
SP 3 BL yeoksam1 CM-closed-old S    SP 3 BL daechi4 CM-open-new S
SP 3 BL irwon2 CM-closed-old S    SP 3 BL suseo CM-closed-old S
SP 3 BL suseo CM-open-old S    SP 3 BL daechi2 CM-closed-new S
SP 3 LI nonhyeon1 CM-open-new S
"""
TYPES = {
    "EA": "elderly_alone",
    "SW": "single_working_age",
    "GG": "grandparent_grandchild",
    "CO": "couple",
    "SP": "single_parent",
}
PROTECTION = {"BL": "basic_livelihood", "LI": "low_income"}

# The document's 동별 대상자 현황 (동 without households left out).
BY_DONG = {
    "sinsa": (1, 4),
    "nonhyeon1": (4, 13),
    "nonhyeon2": (10, 27),
    "apgujeong": (1, 2),
    "cheongdam": (2, 8),
    "samseong1": (1, 2),
    "samseong2": (6, 8),
    "daechi2": (5, 15),
    "daechi4": (10, 16),
    "yeoksam1": (3, 9),
    "yeoksam2": (7, 16),
    "gaepo1": (2, 8),
    "gaepo2": (3, 13),
    "gaepo4": (4, 16),
    "irwon1": (9, 24),
    "irwon2": (8, 23),
    "suseo": (9, 19),
    "segok": (4, 5),
}


def kst(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KST).astimezone(UTC)


@dataclass
class Row:
    type: str
    members: int
    protection: str
    dong: str
    story: str
    served: bool


def rows() -> list[Row]:
    tokens = HOUSEHOLDS.split()
    return [
        Row(TYPES[t], int(m), PROTECTION[p], d, s, flag == "S")
        for t, m, p, d, s, flag in zip(*[iter(tokens)] * 6, strict=True)
    ]


@pytest.fixture(scope="module")
async def casework(databases: DatabaseFactory, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("casework", SERVICE_ROOT)
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap, followup_scheduler=False)
    running = await serve("casework", create_app(settings), settings.port)
    yield running
    await running.stop()


def _case(row: Row, household_id: uuid.UUID, n: int) -> Case:
    """The household's case, told by its story (dates spread over the months)."""
    day = 1 + n % 27
    new, old = date(2015, 1 + n % 6, day), date(2014, 7 + n % 6, day)
    selection, _, rest = row.story.partition("-")
    opened = new if rest.endswith("new") else old
    closed = rest.startswith("closed") or selection == "NS"
    closed_on = date(2015, 6, 28) if rest.endswith("new") else new  # within the half year, after opening
    return Case(
        id=uuid.uuid4(),
        household_id=household_id,
        referral_id=uuid.uuid4(),
        dong=row.dong,
        stage="closed" if closed else ("delivery" if selection != "CM" or n % 2 else "planning"),
        opened_at=kst(opened),
        selection={"CM": "case_management", "SL": "service_linkage", "NS": "not_selected"}[selection],
        selection_reason="본인 거부" if selection == "NS" else None,
        closure_reason="long_term_goal_met" if closed and selection != "NS" else None,
        closed_at=kst(closed_on) if closed else None,
        case_manager_id=f"cm-{n % 5}",
        restricted=n % 17 == 0,  # restricted cases count in the aggregates like any other
        members_at_open=row.members,
    )


@dataclass
class Loaded:
    by_domain: dict[str, tuple[int, int]]


@pytest.fixture(scope="module")
async def loaded(casework: RunningService) -> Loaded:
    data = rows()
    households = [
        Household(
            household_id=uuid.uuid4(),
            dong=r.dong,
            household_type=r.type,
            protection_status=r.protection,
            member_count=r.members,
            updated_at=datetime(2015, 6, 30, tzinfo=UTC),
        )
        for r in data
    ]
    cases = [_case(r, h.household_id, n) for n, (r, h) in enumerate(zip(data, households, strict=True))]
    # One new household grew between intake and selection (the document: 30 households / 68
    # people new, but 24/53 + 2/7 + 4/9 = 69 by selection).
    grown = next(c for c, r in zip(cases, data, strict=True) if r.story == "CM-open-new" and r.members >= 3)
    grown.members_at_open = (grown.members_at_open or 0) - 1

    noise = _outside_the_half_year()
    conferences, decisions = _conferences(cases)
    deliveries, by_domain = _deliveries(cases, data)
    async with transaction(casework.runtime.sessionmaker) as session:
        session.add_all(households + [h for h, _ in noise])
        await session.flush()
        session.add_all(cases + [c for _, c in noise])
        await session.flush()
        session.add_all(conferences)
        await session.flush()
        session.add_all(decisions + deliveries)
    return Loaded(by_domain)


def _outside_the_half_year() -> list[tuple[Household, Case]]:
    """Cases the report must not count: closed before it began, opened on the midnight it ended."""
    out = []
    for opened, closed in (
        (datetime(2014, 3, 2, tzinfo=UTC), datetime(2014, 12, 31, 14, 59, tzinfo=UTC)),
        (datetime(2015, 6, 30, 15, 0, tzinfo=UTC), None),
    ):
        household = Household(
            household_id=uuid.uuid4(),
            dong="sinsa",
            household_type="couple",
            protection_status="near_poor",
            member_count=3,
            updated_at=opened,
        )
        case = Case(
            id=uuid.uuid4(),
            household_id=household.household_id,
            dong="sinsa",
            stage="follow_up" if closed else "intake",
            opened_at=opened,
            selection="case_management" if closed else None,
            closure_reason="situation_improved" if closed else None,
            closed_at=closed,
            members_at_open=3,
        )
        out.append((household, case))
    return out


def _conferences(cases: list[Case]) -> tuple[list[Conference], list[ConferenceCase]]:
    held = [("internal", date(2015, 1 + i % 6, 1 + i)) for i in range(21)]
    held += [("integrated", date(2015, 2 + i % 5, 3 + i)) for i in range(8)]
    held += [("internal", date(2014, 12, 31)), ("integrated", date(2015, 7, 1))]  # outside
    conferences, decisions = [], []
    for i, (kind, day) in enumerate(held):
        participants = [{"name": "김사례", "affiliation": "희망복지지원팀", "agency_id": None}]
        if kind == "integrated":
            participants.append({"name": "이복지", "affiliation": "복지관", "agency_id": "ag-1"})
        conference = Conference(
            id=uuid.uuid4(),
            kind=kind,
            held_on=day,
            title=f"사례회의 {i}",
            participants=participants,
            recorded_at=kst(day),
        )
        conferences.append(conference)
        decisions.append(
            ConferenceCase(conference_id=conference.id, case_id=cases[i].id, decision="continue")
        )
    return conferences, decisions


def _deliveries(
    cases: list[Case], data: list[Row]
) -> tuple[list[ServiceDelivery], dict[str, tuple[int, int]]]:
    """226 services for the 80 households served: cash 65 items / 71,574 thousand KRW to 41
    households, in kind 97 / 19,010 to 50, intangible 64 to 38; 87 provider agencies."""
    served = [c for c, r in zip(cases, data, strict=True) if r.served]
    assert len(served) == 80
    plan = [
        ("cash", served[0:41], 24, 71_574),  # 24 households get two items, the rest one
        ("in_kind", served[30:80], 47, 19_010),
        ("intangible", served[0:38], 26, 0),
    ]
    items: list[tuple[str, Case]] = []
    for kind, households, twice, _ in plan:
        for n, case in enumerate(households):
            items += [(kind, case)] * (2 if n < twice else 1)
    domains = ["economic", "housing", "health", "education", "relationships", "employment", "legal", "other"]
    deliveries: list[ServiceDelivery] = []
    amounts: dict[str, list[int]] = {}
    for kind, _, _, thousand in plan:
        count = sum(1 for k, _ in items if k == kind)
        base, extra = divmod(thousand, count)
        amounts[kind] = [(base + (1 if i < extra else 0)) * 1000 for i in range(count)]
    sums: dict[str, list[int]] = {d: [0, 0] for d in domains}
    for i, (kind, case) in enumerate(items):
        domain = domains[(i * 3) % len(domains)]
        amount = amounts[kind].pop()
        sums[domain][0] += 1
        sums[domain][1] += amount
        deliveries.append(
            ServiceDelivery(
                id=uuid.uuid4(),
                case_id=case.id,
                household_id=case.household_id,
                kind=kind,
                domain=domain,
                provider=f"agency-{i % 87}",
                amount=amount,
                delivered_on=date(2015, 1 + i % 6, 1 + i % 28),
                source="manual",
                recorded_at=kst(date(2015, 6, 30)),
            )
        )
    for day in (date(2014, 12, 31), date(2015, 7, 1)):  # outside the half year
        deliveries.append(
            ServiceDelivery(
                id=uuid.uuid4(),
                case_id=served[0].id,
                household_id=served[0].household_id,
                kind="cash",
                domain="economic",
                provider="agency-outside",
                amount=999_000,
                delivered_on=day,
                source="manual",
                recorded_at=kst(day),
            )
        )
    return deliveries, {d: (n, a) for d, (n, a) in sums.items()}


EXPECTED_TYPES = {
    "elderly_alone": (7, 7),
    "grandparent_grandchild": (4, 9),
    "couple": (17, 72),
    "single_parent": (50, 129),
    "single_working_age": (11, 11),
    "other": (0, 0),
}


def _rows(sheet: Any) -> list[list[Any]]:
    """The sheet's rows without the empty cells that pad them to the sheet's width."""
    rows = []
    for row in sheet.iter_rows(values_only=True):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        rows.append(values)
    return rows


def _pair(count: dict[str, int]) -> tuple[int, int]:
    return count["households"], count["people"]


async def test_the_half_year_report_reproduces_every_number(casework: RunningService, loaded: Loaded) -> None:
    headers = TEST_MINT.headers("supervisor", sub="u-sup")
    async with httpx.AsyncClient(base_url=casework.url, timeout=30, headers=headers) as http:
        response = await http.get("/reports/half-year", params={"year": 2015, "half": 1})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["period"] == {"start": "2015-01-01", "end": "2015-06-30", "label": "2015년 상반기"}

    served = report["served"]
    assert _pair(served["total"]) == (89, 228)
    assert {k: _pair(v) for k, v in served["by_household_type"].items()} == EXPECTED_TYPES
    protection = {k: _pair(v) for k, v in served["by_protection_status"].items()}
    assert protection == {"basic_livelihood": (64, 154), "near_poor": (0, 0), "low_income": (25, 74)}
    assert {k: _pair(v) for k, v in served["by_dong"].items()} == BY_DONG

    assert _pair(report["new"]) == (30, 68)
    selection = {k: _pair(v) for k, v in report["selection"].items()}
    assert selection == {
        "case_management": (24, 53),
        "service_linkage": (2, 7),
        "not_selected": (4, 9),
        "pending": (0, 0),
    }
    assert _pair(report["closed"]) == (26, 76)
    assert _pair(report["currently_managed"]) == (58, 137)
    assert _pair(report["carried_over"]) == (59, 159)  # 228 people now − 69 new people now
    assert report["conferences"] == {"internal": 21, "integrated": 8, "total": 29}

    services = report["services"]
    assert (services["items"], services["amount_thousand"]) == (226, 90_584)
    assert services["amount"] == 90_584_000
    assert (services["households"], services["people"], services["providers"]) == (80, 200, 87)
    kinds = {k: (v["households"], v["items"], v["amount_thousand"]) for k, v in services["by_kind"].items()}
    assert kinds == {"cash": (41, 65, 71_574), "in_kind": (50, 97, 19_010), "intangible": (38, 64, 0)}
    domains = {k: (v["items"], v["amount"]) for k, v in services["by_domain"].items()}
    assert domains == loaded.by_domain and sum(n for n, _ in domains.values()) == 226


async def test_the_report_as_xlsx_needs_a_reason_and_is_logged(
    casework: RunningService, loaded: Loaded
) -> None:
    headers = TEST_MINT.headers("case_manager", sub="cm-report", dongs=["*"])
    params = {"year": 2015, "half": 1}
    async with httpx.AsyncClient(base_url=casework.url, timeout=30, headers=headers) as http:
        refused = await http.get("/reports/half-year.xlsx", params=params)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        response = await http.get(
            "/reports/half-year.xlsx",
            params=params,
            headers={"X-Export-Reason": "half-year report to the mayor"},
        )
        assert response.status_code == 200
        partner = TEST_MINT.headers("partner_agency", sub="p", agency="ag-1", dongs=[])
        assert (await http.get("/reports/half-year", params=params, headers=partner)).status_code == 403
        assert (
            await http.get("/reports/half-year", params=params, headers={"Authorization": ""})
        ).status_code == 401
        assert (await http.get("/reports/half-year", params={"year": 2015, "half": 3})).status_code == 422
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["대상자 현황", "동별 현황", "선정 및 종결", "서비스 제공"]
    first = _rows(book["대상자 현황"])
    assert ["총계", 89, 228] in first and ["한부모", 50, 129] in first and ["비수급(저소득)", 25, 74] in first
    flow = _rows(book["선정 및 종결"])
    assert ["신규", 30, 68] in flow and ["종결", 26, 76] in flow and ["현재관리대상", 58, 137] in flow
    assert ["내부 사례회의", 21] in flow and ["외부 통합사례회의", 8] in flow
    services = _rows(book["서비스 제공"])
    assert ["계", 226, 90_584, 90_584_000, 80] in services and [
        "현금지원",
        65,
        71_574,
        71_574_000,
        41,
    ] in services

    async with transaction(casework.runtime.sessionmaker) as session:
        stmt = select(OutboxMessage.payload).where(
            OutboxMessage.event_type == "heemang.audit.access.recorded.v1"
        )
        entries = [json.loads(p)["data"] for p in (await session.execute(stmt)).scalars()]
    exports = [e for e in entries if e["action"] == "export" and e["actor_id"] == "cm-report"]
    assert len(exports) == 1 and exports[0]["reason"] == "half-year report to the mayor"
    assert exports[0]["record_type"] == "report" and exports[0]["record_id"] == "half_year:2015-01-01"


async def test_the_yearly_summary_counts_the_whole_year(casework: RunningService, loaded: Loaded) -> None:
    headers = TEST_MINT.headers("district_admin", sub="u-admin")
    async with httpx.AsyncClient(base_url=casework.url, timeout=30, headers=headers) as http:
        report = (await http.get("/reports/yearly", params={"year": 2015})).json()
    # The half year's figures plus what the rest of 2015 holds (a case opened at midnight on
    # 1 July, a conference that day, a delivery that day).
    assert _pair(report["carried_over"]) == (59, 159)  # 228 people now − 69 new people now
    assert _pair(report["new"]) == (31, 71)
    assert _pair(report["served"]["total"]) == (90, 231)
    assert report["conferences"] == {"internal": 21, "integrated": 9, "total": 30}
    assert report["services"]["items"] == 227 and report["services"]["amount_thousand"] == 90_584 + 999
    assert report["period"]["label"] == "2015년"
