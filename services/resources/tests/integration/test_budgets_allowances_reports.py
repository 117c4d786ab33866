"""Budgets by funding source with the execution report, allowance payment runs that never pay
twice, and the reports as JSON and .xlsx."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

import httpx
from openpyxl import load_workbook

from heemang_common.db import transaction
from heemang_common.testing import TEST_MINT, RunningService
from heemang_resources.db.models import AllowanceProgramme
from heemang_resources.service import allowances

from .conftest import balance, key, tag


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], money: bool = True
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=key() if money else None)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _line(client: httpx.AsyncClient, year: int, sources: dict[str, int]) -> str:
    code = f"line-{tag()}"
    await _post(
        client, "/budgets", {"code": code, "name": "돌봄SOS센터 운영", "fiscal_year": year}, money=False
    )
    await _post(client, f"/budgets/{code}/appropriations", {"sources": sources})
    return code


async def test_execution_rate_per_line_and_source(client: httpx.AsyncClient) -> None:
    year = 2030 + int(tag()[:4], 16) % 60  # a year of the test's own
    code = await _line(client, year, {"national": 50_000_000, "city": 30_000_000, "district": 20_000_000})
    await _post(
        client,
        f"/budgets/{code}/spending",
        {"source": "national", "amount": 40_000_000, "purpose": "care-sos"},
    )
    spent = await _post(
        client, f"/budgets/{code}/spending", {"source": "city", "amount": 10_000_000, "purpose": "care-sos"}
    )
    await _post(client, f"/ledger/entries/{spent['id']}/reversal", {})  # a mistake, reversed: not executed
    await _post(
        client, f"/budgets/{code}/spending", {"source": "city", "amount": 7_500_000, "purpose": "care-sos"}
    )
    over = await client.post(
        f"/budgets/{code}/spending",
        json={"source": "district", "amount": 20_000_001, "purpose": "x"},
        headers=key(),
    )
    assert over.status_code == 409
    report = (await client.get("/reports/budget-execution", params={"fiscal_year": year})).json()
    rows = {
        (r["line"], r["source"]): (r["budget"], r["executed"], r["rate_percent"]) for r in report["lines"]
    }
    assert rows == {
        (code, "national"): (50_000_000, 40_000_000, "80.0"),
        (code, "city"): (30_000_000, 7_500_000, "25.0"),
        (code, "district"): (20_000_000, 0, "0.0"),
        (code, None): (100_000_000, 47_500_000, "47.5"),
    }
    assert {r["source"]: r["rate_percent"] for r in report["by_source"]} == {
        "national": "80.0",
        "city": "25.0",
        "district": "0.0",
    }
    sheet = await client.get(
        "/reports/budget-execution",
        params={"fiscal_year": year, "format": "xlsx"},
        headers=TEST_MINT.headers("auditor"),
    )
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.content))
    values = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert (
        values[0][3].startswith("예산액")
        and (code, "돌봄SOS센터 운영", "national", 50_000_000) == values[1][:4]
    )
    assert values[1][6] == 80.0


async def _allowance(client: httpx.AsyncClient, amount: int, budget: int) -> str:
    line = await _line(client, 2026, {"district": budget})
    code = f"vet{tag()}"
    body = {
        "code": code,
        "name": "보훈예우수당",
        "amount": amount,
        "budget_account": f"budget:{line}:district",
    }
    await _post(client, "/allowances", body, money=False)
    return code


async def _enrol(client: httpx.AsyncClient, code: str, name: str, start: str, end: str | None = None) -> str:
    body = {
        "person_ref": f"p-{tag()}",
        "dong": "sinsa",
        "holder_name": name,
        "bank_code": "004",
        "account_number": "123-456-789012",
        "eligible_from": start,
        "eligible_to": end,
    }
    enrolled = await _post(client, f"/allowances/{code}/enrolments", body, money=False)
    assert enrolled["holder_name"] != name and enrolled["account_number"].endswith("9012")
    return str(enrolled["id"])


async def test_allowance_runs_pay_each_person_once_per_period(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    code = await _allowance(client, 50_000, 1_000_000)
    await _enrol(client, code, "김보훈", "2026-01-01")
    await _enrol(client, code, "이보훈", "2026-01-01", "2026-10-31")  # no longer eligible in November
    late = await _enrol(client, code, "박보훈", "2026-11-15")
    preview = (
        await client.get(f"/allowances/{code}/runs/2026-11/preview", params={"as_of": "2026-11-10"})
    ).json()
    assert (preview["paid_now"], preview["total_now"], preview["entry_id"]) == (1, 50_000, None)
    first = await _post(client, f"/allowances/{code}/runs", {"period": "2026-11", "as_of": "2026-11-10"})
    assert (first["paid_now"], first["total_now"]) == (1, 50_000) and first["entry_id"]
    # The response was lost; the operator runs it again with a new key, later in the month.
    second = await _post(client, f"/allowances/{code}/runs", {"period": "2026-11", "as_of": "2026-11-20"})
    assert (second["paid_now"], second["already_paid"], second["total_now"]) == (1, 1, 50_000)
    third = await _post(client, f"/allowances/{code}/runs", {"period": "2026-11", "as_of": "2026-11-20"})
    assert (third["paid_now"], third["already_paid"], third["entry_id"]) == (0, 2, None)
    assert await balance(client, f"ext:disbursed:allowance-{code}") == 100_000

    register = (await client.get(f"/allowances/{code}/runs/2026-11/register")).json()
    assert (register["count"], register["total"]) == (2, 100_000)
    assert late in {i["enrolment_id"] for i in register["items"]}
    assert all("*" in i["holder_name"] and "123-456" not in i["account_number"] for i in register["items"])
    no_reason = await client.get(f"/allowances/{code}/runs/2026-11/transfer.csv")
    assert no_reason.status_code == 422
    csv_file = await client.get(
        f"/allowances/{code}/runs/2026-11/transfer.csv",
        headers={"X-Export-Reason": "november veterans allowance transfer"},
    )
    assert csv_file.status_code == 200
    lines = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert lines[0] == ["bank_code", "account_number", "holder_name", "amount", "memo"]
    assert sorted(row[2] for row in lines[1:]) == ["김보훈", "박보훈"] and {row[3] for row in lines[1:]} == {
        "50000"
    }


async def test_a_crash_before_commit_pays_nobody_and_the_rerun_pays_once(
    client: httpx.AsyncClient, resources: RunningService
) -> None:
    code = await _allowance(client, 50_000, 200_000)
    for name in ("가", "나", "다"):
        await _enrol(client, code, f"{name}수당", "2026-01-01")

    class Crash(Exception):
        pass

    sm = resources.runtime.sessionmaker
    try:
        async with transaction(sm) as session:
            p = await session.get(AllowanceProgramme, code)
            assert p is not None
            await allowances.run(session, p, "2026-chuseok", date(2026, 9, 1), "t", uuid.uuid4())
            raise Crash  # the process dies before the commit
    except Crash:
        pass
    preview = (
        await client.get(f"/allowances/{code}/runs/2026-chuseok/preview", params={"as_of": "2026-09-01"})
    ).json()
    assert preview["paid_now"] == 3 and preview["already_paid"] == 0
    run = await _post(client, f"/allowances/{code}/runs", {"period": "2026-chuseok", "as_of": "2026-09-01"})
    assert run["paid_now"] == 3
    too_much = await client.post(  # 150,000 of 200,000 spent: a second holiday does not fit
        f"/allowances/{code}/runs", json={"period": "2026-seol", "as_of": "2026-09-01"}, headers=key()
    )
    assert too_much.status_code == 409
    assert (await client.get(f"/allowances/{code}/runs/2026-seol/register")).json()["count"] == 0


async def test_distributions_and_campaign_reports(client: httpx.AsyncClient) -> None:
    today = date.today().isoformat()
    report = await client.get("/reports/distributions", params={"from": "2000-01-01", "to": "2100-01-01"})
    assert report.status_code == 200 and report.json()["amount"] == sum(
        r["amount"] for r in report.json()["rows"]
    )
    bad = await client.get("/reports/distributions", params={"from": today, "to": "2000-01-01"})
    assert bad.status_code == 422
    sheet = await client.get("/reports/campaigns", params={"format": "xlsx"})
    assert sheet.status_code == 200 and sheet.content.startswith(b"PK")
    assert (
        await client.get("/reports/campaigns", headers=TEST_MINT.headers("dong_officer"))
    ).status_code == 403
