"""Bulk screening lists (행복e음 복지사각지대 발굴 대상자, CSV or XLSX): header mapping and
row validation (pure). A row is accepted, a duplicate (of an earlier row or of a household
already followed), or rejected with the reasons; reasons never quote personal data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from heemang_intake.domain import rrn as rrn_rules

#: Accepted column headers (Korean as 행복e음 exports them, or English) → field.
HEADERS: dict[str, str] = {
    "동": "dong",
    "행정동": "dong",
    "dong": "dong",
    "성명": "name",
    "이름": "name",
    "name": "name",
    "주민등록번호": "rrn",
    "주민번호": "rrn",
    "rrn": "rrn",
    "주소": "address",
    "address": "address",
    "연락처": "phone",
    "전화번호": "phone",
    "phone": "phone",
    "발굴사유": "reason",
    "위기사유": "reason",
    "reason": "reason",
}
REQUIRED = ("dong", "name", "rrn")
_PHONE = re.compile(r"^[0-9+() -]{0,30}$")


class Outcome(StrEnum):
    """What the investigating officer found (조사 결과), as reported back to the ministry."""

    confirmed_referred = "confirmed_referred"  # 지원 연계 (accepted for case management)
    linked_existing_case = "linked_existing_case"  # 기존 사례 연계
    not_eligible = "not_eligible"  # 비해당
    unreachable = "unreachable"  # 연락 두절 / 조사 불가


class HeaderError(ValueError):
    """The file's header row lacks a required column (named in the message)."""


def map_header(cells: Sequence[object]) -> dict[str, int]:
    """Field → column index; unknown columns are ignored."""
    mapping: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = HEADERS.get(str(cell or "").strip().lower()) or HEADERS.get(str(cell or "").strip())
        if key and key not in mapping:
            mapping[key] = index
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        raise HeaderError(f"the header row lacks the column(s): {', '.join(missing)}")
    return mapping


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row number (the header is row 0)
    dong: str
    name: str
    rrn_digits: str = field(repr=False)
    birth_date: date
    address: str | None
    phone: str | None
    reason: str


@dataclass(frozen=True)
class Rejected:
    number: int
    reasons: tuple[str, ...]


def _cell(cells: Sequence[object], mapping: dict[str, int], key: str) -> str:
    index = mapping.get(key)
    if index is None or index >= len(cells) or cells[index] is None:
        return ""
    return str(cells[index]).strip()


def validate(
    number: int, cells: Sequence[object], mapping: dict[str, int], dongs: frozenset[str], today: date
) -> Row | Rejected:
    reasons: list[str] = []
    dong, name = _cell(cells, mapping, "dong"), _cell(cells, mapping, "name")
    address, phone = _cell(cells, mapping, "address"), _cell(cells, mapping, "phone")
    if dong not in dongs:
        reasons.append("unknown 동" if dong else "동 is empty")
    if not name:
        reasons.append("name is empty")
    elif len(name) > 100:
        reasons.append("name is longer than 100 characters")
    if len(address) > 300:
        reasons.append("address is longer than 300 characters")
    if not _PHONE.match(phone):
        reasons.append("phone is not a phone number")
    parsed: rrn_rules.Rrn | None = None
    try:
        parsed = rrn_rules.parse(_cell(cells, mapping, "rrn"), today=today)
    except rrn_rules.InvalidRrn as exc:
        reasons.append(f"RRN: {exc.detail}")
    if reasons or parsed is None:
        return Rejected(number, tuple(reasons))
    reason = rrn_rules.redact(_cell(cells, mapping, "reason"))[:1000]
    return Row(number, dong, name, parsed.digits, parsed.birth_date, address or None, phone or None, reason)


@dataclass
class Report:
    total: int = 0
    accepted: list[int] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def first_seen(rows: Iterable[Row], hashes: Sequence[str]) -> tuple[list[int], list[tuple[int, str]]]:
    """Indices of rows whose RRN hash is new in the file; the others as (row, reason)."""
    seen: dict[str, int] = {}
    keep: list[int] = []
    dupes: list[tuple[int, str]] = []
    for index, (row, digest) in enumerate(zip(rows, hashes, strict=True)):
        if digest in seen:
            dupes.append((row.number, f"same person as row {seen[digest]}"))
            continue
        seen[digest] = row.number
        keep.append(index)
    return keep, dupes
