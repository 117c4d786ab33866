"""Consultation rules and the call centre's statistics (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

#: The call centre's day is the Korean calendar day.
KST = ZoneInfo("Asia/Seoul")


class Outcome(StrEnum):
    answered = "answered"
    information_given = "information_given"
    linked_to_service = "linked_to_service"
    referred_to_intake = "referred_to_intake"


#: Outcomes the department counts as a linkage (연계) in its statistics.
LINKAGES = frozenset({Outcome.linked_to_service, Outcome.referred_to_intake})


def local_day(moment: datetime) -> date:
    return moment.astimezone(KST).date()


@dataclass(frozen=True)
class Fact:
    day: date
    category: str
    outcome: Outcome


@dataclass(frozen=True)
class CategoryShare:
    category: str
    count: int
    share_pct: float


@dataclass(frozen=True)
class Summary:
    period: str
    total: int
    active_days: int
    per_day_average: float
    linkages: int
    by_outcome: dict[str, int]
    by_category: list[CategoryShare]


def summarize(period: str, facts: Iterable[Fact]) -> Summary:
    """Totals, the average per day the centre answered calls (days with at least one
    consultation: the centre's figures, 110-139 a day, count open days), category shares
    largest first, and linkages."""
    items = list(facts)
    total = len(items)
    active_days = len({f.day for f in items})
    categories = Counter(f.category for f in items)
    outcomes = Counter(f.outcome.value for f in items)
    return Summary(
        period=period,
        total=total,
        active_days=active_days,
        per_day_average=round(total / active_days, 1) if active_days else 0.0,
        linkages=sum(outcomes[o.value] for o in LINKAGES),
        by_outcome=dict(sorted(outcomes.items())),
        by_category=[
            CategoryShare(category, count, round(100 * count / total, 1))
            for category, count in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


def by_day(facts: Iterable[Fact]) -> list[Summary]:
    return _grouped(facts, lambda day: day.isoformat())


def by_month(facts: Iterable[Fact]) -> list[Summary]:
    return _grouped(facts, lambda day: f"{day.year:04d}-{day.month:02d}")


def _grouped(facts: Iterable[Fact], key: Callable[[date], str]) -> list[Summary]:
    groups: dict[str, list[Fact]] = {}
    for fact in facts:
        groups.setdefault(key(fact.day), []).append(fact)
    return [summarize(period, groups[period]) for period in sorted(groups)]
