"""The reports as an .xlsx a department clerk can paste into the 결과 보고 (openpyxl).

One sheet per table of the 2015 report, Korean headings, plain numbers (amounts in 천원 next
to KRW), no formulas: the figures are the ones the JSON report gives."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

HOUSEHOLD_TYPES = {
    "elderly_alone": "독거노인",
    "grandparent_grandchild": "조손",
    "couple": "부부중심",
    "single_parent": "한부모",
    "single_working_age": "청장년 1인",
    "other": "기타",
    "unknown": "미상",
}
PROTECTION = {
    "basic_livelihood": "기초수급",
    "near_poor": "차상위",
    "low_income": "비수급(저소득)",
    "unknown": "미상",
}
SELECTION = {
    "case_management": "사례관리",
    "service_linkage": "서비스연계",
    "not_selected": "미선정",
    "pending": "선정 전",
}
KINDS = {"cash": "현금지원", "in_kind": "현물지원", "intangible": "무형의 서비스"}
DOMAINS = {
    "economic": "경제",
    "housing": "주거",
    "health": "건강",
    "education": "교육",
    "relationships": "관계",
    "employment": "일자리",
    "legal": "법률",
    "other": "기타",
}


def workbook(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "대상자 현황"
    period = report["period"]
    _title(sheet, f"{period['label']} 통합사례관리 결과 ({period['start']} ~ {period['end']})")
    served = report["served"]
    _table(
        sheet, ["구분", "가구", "명"], [["총계", served["total"]["households"], served["total"]["people"]]]
    )
    _counts(sheet, "가구유형", served["by_household_type"], HOUSEHOLD_TYPES)
    _counts(sheet, "보호구분", served["by_protection_status"], PROTECTION)

    dongs = book.create_sheet("동별 현황")
    _title(dongs, "동별 대상자 현황")
    _counts(dongs, "동", served["by_dong"], {})

    flow = book.create_sheet("선정 및 종결")
    _title(flow, "사례관리대상자 선정 및 종결")
    rows = [
        ["기존(이월)", report["carried_over"]["households"], report["carried_over"]["people"]],
        ["신규", report["new"]["households"], report["new"]["people"]],
        *[[SELECTION[k], v["households"], v["people"]] for k, v in report["selection"].items()],
        ["종결", report["closed"]["households"], report["closed"]["people"]],
        ["현재관리대상", report["currently_managed"]["households"], report["currently_managed"]["people"]],
    ]
    _table(flow, ["구분", "가구", "명"], rows)
    conferences = report["conferences"]
    _table(
        flow,
        ["사례회의", "회"],
        [
            ["내부 사례회의", conferences["internal"]],
            ["외부 통합사례회의", conferences["integrated"]],
            ["계", conferences["total"]],
        ],
    )

    services = book.create_sheet("서비스 제공")
    s = report["services"]
    _title(services, f"서비스 제공 및 연계 실적: 총 {s['items']}건 / {s['amount_thousand']:,}천원")
    _table(
        services,
        ["구분", "건수", "금액(천원)", "금액(원)", "가구"],
        [
            ["계", s["items"], s["amount_thousand"], s["amount"], s["households"]],
            *[
                [KINDS[k], v["items"], v["amount_thousand"], v["amount"], v["households"]]
                for k, v in s["by_kind"].items()
            ],
        ],
    )
    _table(
        services, ["대상가구", "가구", "명", "제공기관"], [["", s["households"], s["people"], s["providers"]]]
    )
    _table(
        services,
        ["영역", "건수", "금액(천원)", "금액(원)"],
        [
            [DOMAINS.get(k, k), v["items"], v["amount_thousand"], v["amount"]]
            for k, v in s["by_domain"].items()
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _title(sheet: Any, text: str) -> None:
    sheet.append([text])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet.append([])


def _counts(sheet: Any, heading: str, counts: dict[str, dict[str, int]], names: dict[str, str]) -> None:
    rows = [[names.get(k, k), v["households"], v["people"]] for k, v in counts.items()]
    _table(sheet, [heading, "가구", "명"], rows)


def _table(sheet: Any, header: list[str], rows: list[list[Any]]) -> None:
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.append([])
