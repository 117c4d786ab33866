"""Every route needs a verified principal; roles and 동 scope are enforced by hotline itself,
and reads of household-linked records are written to the access log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from heemang_common.testing import TEST_MINT, RunningService

ACCESS = "heemang.audit.access.recorded.v1"
ANY_ID = uuid.uuid4()
ROUTES = [
    ("POST", "/consultations"),
    ("GET", "/consultations"),
    ("GET", "/consultations/stats?start=2021-01-01&end=2021-01-02"),
    ("GET", f"/consultations/{ANY_ID}"),
    ("POST", "/programmes"),
    ("GET", "/programmes"),
    ("POST", "/enrolments"),
    ("GET", f"/enrolments/{ANY_ID}"),
    ("GET", f"/enrolments/{ANY_ID}/checkins"),
    ("POST", f"/enrolments/{ANY_ID}/checkins"),
    ("GET", "/enrolments"),
    ("GET", f"/enrolments/{ANY_ID}/calls"),
    ("PUT", f"/enrolments/{ANY_ID}/contact"),
    ("PUT", f"/do-not-contact/household/{ANY_ID}"),
    ("DELETE", f"/do-not-contact/household/{ANY_ID}"),
    ("GET", f"/do-not-contact/household/{ANY_ID}"),
    ("GET", "/contact-refusals"),
    ("POST", "/subscribers"),
    ("GET", "/subscribers"),
    ("POST", f"/subscribers/{ANY_ID}/opt-out"),
    ("POST", "/campaigns"),
    ("GET", f"/campaigns/{ANY_ID}"),
    ("GET", f"/campaigns/{ANY_ID}/preview"),
    ("POST", f"/campaigns/{ANY_ID}/send"),
]


@pytest.mark.parametrize("role", [None, "partner_agency", "resource_officer", "auditor"])
async def test_routes_refuse_callers_without_a_hotline_role(
    hotline: RunningService, role: str | None
) -> None:
    headers = TEST_MINT.headers(role, agency="ag-1") if role else {}
    async with httpx.AsyncClient(base_url=hotline.url, headers=headers) as client:
        for method, path in ROUTES:
            response = await client.request(method, path, json={})
            expected = 403 if role else 401
            assert response.status_code == expected, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_forged_token_is_401(hotline: RunningService) -> None:
    token = TEST_MINT.token("supervisor")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    async with httpx.AsyncClient(base_url=hotline.url) as client:
        response = await client.get("/programmes", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_dong_officers_read_only_their_dong_and_reads_are_logged(
    hotline: RunningService, events_of: Any
) -> None:
    household = uuid.uuid4()
    counsellor = TEST_MINT.headers("hotline_counsellor", sub="c-7")
    async with httpx.AsyncClient(base_url=hotline.url) as client:
        ids = {}
        for dong in ("sinsa", "yeoksam1"):
            made = await client.post(
                "/consultations",
                headers=counsellor,
                json={
                    "category": "housing",
                    "outcome": "answered",
                    "dong": dong,
                    "household_id": str(household),
                },
            )
            assert made.status_code == 201, made.text
            assert made.json()["counsellor"] == "c-7"  # from the token, not the body
            ids[dong] = made.json()["id"]
        officer = TEST_MINT.headers("dong_officer", sub="o-1", dongs=["sinsa"])
        listed = await client.get("/consultations", headers=officer)
        assert [c["dong"] for c in listed.json()["items"]] == ["sinsa"]
        assert (await client.get(f"/consultations/{ids['sinsa']}", headers=officer)).status_code == 200
        assert (await client.get(f"/consultations/{ids['yeoksam1']}", headers=officer)).status_code == 403
        cannot_write = await client.post(
            "/consultations", headers=officer, json={"category": "housing", "outcome": "answered"}
        )
        assert cannot_write.status_code == 403
    logged = await events_of(hotline, ACCESS)
    mine = [e for e in logged if e["actor_id"] == "o-1"]
    assert [(e["action"], e["record_id"]) for e in mine] == [("list", ids["sinsa"]), ("read", ids["sinsa"])]
    assert all(e["household_id"] == str(household) and e["service"] == "hotline" for e in mine)


async def test_consultation_pages_follow_the_cursor(hotline: RunningService) -> None:
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        for hour in range(10, 15):
            made = await client.post(
                "/consultations",
                json={"at": f"2021-03-02T{hour}:00:00+09:00", "category": "housing", "outcome": "answered"},
            )
            assert made.status_code == 201
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/consultations", params=params)).json()
            seen += [c["at"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 and seen == sorted(seen, reverse=True)
        bad = await client.get("/consultations", params={"cursor": "not-a-cursor!"})
        assert bad.status_code == 422
