"""Follow-up (사후관리) due dates, fixed at closure.

The plan says "종결 후 6개월 단위로 1회 2번 실시 (서비스 연계가구: 1회 실시)": every 6 months
after closure, twice — at 6 and 12 months; once (at 6 months) for a service-linkage household.
A household that was not selected (미선정) was never served, so it gets none.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

from heemang_casework.domain.errors import InvalidFollowUp
from heemang_casework.domain.stages import Selection, Stage

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


class FollowUpStatus(StrEnum):
    scheduled = "scheduled"  # waiting for its day
    due = "due"  # the scheduler claimed it and published followup.due
    done = "done"  # the outcome is recorded
    cancelled = "cancelled"  # the case was reopened before it fell due


class FollowUpOutcome(StrEnum):
    """What the 동 found (사후관리 결과): the household is stable, or not."""

    stable = "stable"  # 유지: the situation holds
    needs_support = "needs_support"  # 일부 지원 필요: a service linkage, no new case work
    new_crisis = "new_crisis"  # 위기 재발: reopen the case
    unreachable = "unreachable"  # 연락두절
    moved_out = "moved_out"  # 타구전출
    death = "death"  # 사망


#: Stages a follow-up outcome is recorded in (the case is closed and being followed up).
OUTCOME_STAGES = frozenset({Stage.closed, Stage.follow_up})


def check_outcome(stage: Stage, status: FollowUpStatus, outcome: FollowUpOutcome, reopen: bool) -> None:
    if stage not in OUTCOME_STAGES:
        raise InvalidFollowUp(f"a case at stage {stage.value!r} is not being followed up", field="stage")
    if status in (FollowUpStatus.done, FollowUpStatus.cancelled):
        raise InvalidFollowUp(f"this follow-up is {status.value} already", field="status")
    if reopen and outcome is not FollowUpOutcome.new_crisis:
        raise InvalidFollowUp("only a new crisis reopens the case", field="reopen")


def due_today(due_on: date, today: date) -> bool:
    """A follow-up falls due on its day (Seoul calendar), and stays due until claimed."""
    return due_on <= today
