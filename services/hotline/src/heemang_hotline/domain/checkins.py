"""Check-in programmes (pure): schedules, quiet hours and the escalation rule.

A missed check-in must reach a person. The default rule (configurable): two consecutive
missed check-ins raise ``checkin.missed``; a third and every further one raises it again
as urgent; "asked for help" raises it at once, urgent, whatever came before. An answered
check-in ends the run of misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from heemang_common.errors import Invalid

KST = ZoneInfo("Asia/Seoul")


class ProgrammeKind(StrEnum):
    automated = "automated"  # 헬로안심: voice/SMS check-in answered by keypad or reply
    counsellor_call = "counsellor_call"  # 희망콜: a counsellor calls
    message = "message"  # 희망메시지, birthday, holiday: one-way, nothing to miss


class Outcome(StrEnum):
    ok = "ok"
    asked_for_help = "asked_for_help"
    no_answer = "no_answer"
    wrong_number = "wrong_number"  # unreachable all the same: someone must find them


MISSED = frozenset({Outcome.no_answer, Outcome.wrong_number})


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday, as date.weekday()
    start: time
    end: time


def validate_window(window: Window, quiet: QuietHours) -> None:
    if not 0 <= window.weekday <= 6:
        raise Invalid("weekday is 0 (Monday) to 6 (Sunday)")
    if window.start >= window.end:
        raise Invalid("the call window must end after it starts, within one day")
    last_minute = (datetime.combine(date.min, window.end) - timedelta(minutes=1)).time()
    if quiet.contains(window.start) or quiet.contains(last_minute):
        raise Invalid(f"the call window falls in quiet hours ({quiet.start:%H:%M}-{quiet.end:%H:%M} KST)")


def slot_for(window: Window, on: date) -> datetime | None:
    """The slot's start (KST) if ``on`` is the window's weekday."""
    return datetime.combine(on, window.start, KST) if on.weekday() == window.weekday else None


@dataclass(frozen=True)
class EscalationRule:
    consecutive_misses: int = 2


@dataclass(frozen=True)
class Escalation:
    reason: str  # "missed" | "asked_for_help"
    consecutive_misses: int
    urgent: bool


def assess(history: Sequence[Outcome], rule: EscalationRule = EscalationRule()) -> Escalation | None:
    """Whether the latest outcome (last in ``history``, oldest first) must reach a person."""
    if not history:
        return None
    misses = _trailing_misses(history)
    if history[-1] == Outcome.asked_for_help:
        return Escalation("asked_for_help", misses, urgent=True)
    if misses >= rule.consecutive_misses:
        return Escalation("missed", misses, urgent=misses > rule.consecutive_misses)
    return None


def _trailing_misses(history: Sequence[Outcome]) -> int:
    count = 0
    for outcome in reversed(history):
        if outcome not in MISSED:
            break
        count += 1
    return count
