"""Follow-up (사후관리) due dates, fixed at closure.

The plan says "종결 후 6개월 단위로 1회 2번 실시 (서비스 연계가구: 1회 실시)": every 6 months
after closure, twice — at 6 and 12 months; once (at 6 months) for a service-linkage household.
A household that was not selected (미선정) was never served, so it gets none.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

from heemang_casework.domain.stages import Selection

#: Korea has had no daylight saving time since 1988: a fixed offset is exact.
KST = timezone(timedelta(hours=9), "KST")

FOLLOW_UP_MONTHS: dict[Selection, tuple[int, ...]] = {
    Selection.case_management: (6, 12),
    Selection.service_linkage: (6,),
    Selection.not_selected: (),
}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (8/31 + 6 → 2/28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_dates(closed_on: date, selection: Selection) -> list[date]:
    return [add_months(closed_on, months) for months in FOLLOW_UP_MONTHS[selection]]


def local_date(at: datetime) -> date:
    """The department's calendar day of an instant: a case closed at 23:30 UTC closed the next
    day in Seoul, and its follow-ups count from that day."""
    return at.astimezone(KST).date() if at.tzinfo else at.replace(tzinfo=UTC).astimezone(KST).date()
