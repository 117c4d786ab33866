"""Follow-up due dates fixed at closure: 6 and 12 months, once for service linkage."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from heemang_casework.domain.followup import add_months, due_dates, local_date
from heemang_casework.domain.stages import Selection


def test_case_management_households_are_followed_up_twice() -> None:
    assert due_dates(date(2026, 3, 2), Selection.case_management) == [date(2026, 9, 2), date(2027, 3, 2)]


def test_service_linkage_households_are_followed_up_once() -> None:
    assert due_dates(date(2026, 3, 2), Selection.service_linkage) == [date(2026, 9, 2)]


def test_households_not_selected_get_no_follow_up() -> None:
    assert due_dates(date(2026, 3, 2), Selection.not_selected) == []


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # clamped to the month's end
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
        (date(2026, 7, 15), 6, date(2027, 1, 15)),  # over the year end
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
        (date(2026, 2, 28), 0, date(2026, 2, 28)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_due_dates_count_from_the_seoul_calendar_day() -> None:
    # 23:30 UTC on 31 Aug is 08:30 on 1 Sep in Seoul: the case closed on 1 Sep.
    closed = local_date(datetime(2026, 8, 31, 23, 30, tzinfo=UTC))
    assert closed == date(2026, 9, 1)
    assert due_dates(closed, Selection.case_management) == [date(2027, 3, 1), date(2027, 9, 1)]
