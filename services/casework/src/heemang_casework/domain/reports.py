"""The department's reports (통합사례관리 결과 보고), pure: periods and how the figures are
counted. The SQL that gathers the rows is in db/reports.py; definitions are in
docs/casework.md ("Reports") and follow the 2015 강남 half-year report (seed 003).

Counting rules, per household (a household with two cases in a period counts once, under its
most recently opened case's 동):

- **served** (대상자 현황): households with a case active at some point in the period (opened
  before its end, not closed before its start) — carried over plus new. People = the
  household's current size. Split by household type, protection status and 동.
- **carried over** (기존): active at the period's start (opened before it, not closed by then).
- **new** (신규 발굴): cases opened in the period; people as they were when the case was opened
  (접수 시점) — the seed's 30 households / 68 people — while the **selection split** (사례관리 /
  서비스연계 / 미선정) counts them as they are now (24/53 + 2/7 + 4/9 = 69: one household grew
  between intake and selection). Cases not yet selected are ``pending``.
- **closed** (종결): cases closed with a closure reason in the period (미선정 is not 종결).
- **currently managed** (현재관리대상): case-management cases open at the period's end.
- **conferences**: held in the period, internal / integrated.
- **services** (서비스 제공 및 연계 실적): deliveries in the period, by kind and by domain: items,
  amount in KRW and in thousand KRW (천원, rounded half up), households reached; in total also
  people and distinct provider agencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from heemang_casework.domain.followup import KST

HOUSEHOLD_TYPES = (
    "elderly_alone",
    "grandparent_grandchild",
    "couple",
    "single_parent",
    "single_working_age",
    "other",
)
PROTECTION_STATUSES = ("basic_livelihood", "near_poor", "low_income")
SELECTIONS = ("case_management", "service_linkage", "not_selected", "pending")
SERVICE_KINDS = ("cash", "in_kind", "intangible")
DOMAINS = ("economic", "housing", "health", "education", "relationships", "employment", "legal", "other")
CONFERENCE_KINDS = ("internal", "integrated")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Period:
    start: date  # first day
    end: date  # the day after the last
    label: str

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    def instants(self) -> tuple[datetime, datetime]:
        """The period in instants: Seoul midnights (the department's calendar)."""
        return datetime.combine(self.start, time(), KST), datetime.combine(self.end, time(), KST)


def half_year(year: int, half: int) -> Period:
    if half not in (1, 2):
        raise ValueError("half is 1 or 2")
    start = date(year, 1 if half == 1 else 7, 1)
    end = date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)
    return Period(start, end, f"{year}년 {'상' if half == 1 else '하'}반기")


def whole_year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year + 1, 1, 1), f"{year}년")


def thousand(amount: int) -> int:
    """KRW in thousand KRW (천원), rounded half up as the department's tables are."""
    return (amount + 500) // 1000


@dataclass
class Count:
    households: int = 0
    people: int = 0

    def add(self, households: int, people: int) -> None:
        self.households += households
        self.people += people


@dataclass
class Served:
    total: Count = field(default_factory=Count)
    by_household_type: dict[str, Count] = field(default_factory=dict)
    by_protection_status: dict[str, Count] = field(default_factory=dict)
    by_dong: dict[str, Count] = field(default_factory=dict)


def served(rows: list[tuple[str, str | None, str | None, int, int]]) -> Served:
    """From (dong, household type, protection status, households, people) rows."""
    result = Served(
        by_household_type={k: Count() for k in HOUSEHOLD_TYPES},
        by_protection_status={k: Count() for k in PROTECTION_STATUSES},
    )
    for dong, household_type, protection, households, people in rows:
        result.total.add(households, people)
        result.by_household_type.setdefault(household_type or UNKNOWN, Count()).add(households, people)
        result.by_protection_status.setdefault(protection or UNKNOWN, Count()).add(households, people)
        result.by_dong.setdefault(dong, Count()).add(households, people)
    result.by_dong = dict(sorted(result.by_dong.items()))
    return result


def by_key(rows: list[tuple[str | None, int, int]], keys: tuple[str, ...], missing: str) -> dict[str, Count]:
    """From (key, households, people) rows, every known key present (zero if absent)."""
    counts = {k: Count() for k in keys}
    for key, households, people in rows:
        counts.setdefault(key or missing, Count()).add(households, people)
    return counts


@dataclass
class ServiceFigures:
    items: int = 0
    amount: int = 0
    households: int = 0

    @property
    def amount_thousand(self) -> int:
        return thousand(self.amount)
