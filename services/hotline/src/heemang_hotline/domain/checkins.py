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


# ---------------------------------------------------------------------------- scheduler rules


@dataclass(frozen=True)
class CallState:
    """A planned check-in as the scheduler sees it when it comes due."""

    slot_at: datetime
    window_end_at: datetime
    attempts: int  # sends begun so far
    resumed: bool  # a worker took it and vanished mid-send: resend the same attempt


@dataclass(frozen=True)
class Send:
    attempt: int  # the attempt number; with the call's id, the provider's dedup key


@dataclass(frozen=True)
class Close:
    outcome: Outcome


@dataclass(frozen=True)
class Skip:
    reason: str  # not a miss: nobody was contacted (quiet hours, window passed)


@dataclass(frozen=True)
class Wait:
    until: datetime


Step = Send | Close | Skip | Wait


def next_quiet_end(moment: datetime, quiet: QuietHours) -> datetime:
    """When the quiet hours that contain ``moment`` end (KST)."""
    local = moment.astimezone(KST)
    end = datetime.combine(local.date(), quiet.end, KST)
    return end if end > local else end + timedelta(days=1)


def next_step(state: CallState, now: datetime, quiet: QuietHours, max_attempts: int) -> Step:
    """What to do with a due check-in: call (again), wait out quiet hours, or close it.

    No one is called outside the window or in quiet hours; a slot nobody was called for is
    skipped, not counted as a miss (the person did nothing wrong); once called, silence
    until the window ends or the attempts run out is a miss.
    """
    called = state.attempts > 0
    if now >= state.window_end_at or (state.attempts >= max_attempts and not state.resumed):
        return Close(Outcome.no_answer) if called else Skip("window_passed")
    if quiet.contains(now.astimezone(KST).time()):
        resume = next_quiet_end(now, quiet)
        if resume < state.window_end_at:
            return Wait(resume)
        return Close(Outcome.no_answer) if called else Skip("quiet_hours")
    if state.resumed:  # attempt n may or may not have left: resend it under the same id
        return Send(state.attempts)
    return Send(state.attempts + 1)


def after_send(now: datetime, window_end_at: datetime, retry_after: timedelta) -> datetime:
    """When an unanswered attempt is looked at again: the retry time, at most the window's end."""
    return min(now + retry_after, window_end_at)


#: Replies to an automated check-in (keypad digit or word) and what they mean.
_OK_REPLIES = frozenset({"1", "네", "예", "괜찮아요", "ok", "yes"})
_HELP_REPLIES = frozenset({"2", "도움", "도와주세요", "help"})


def reply_outcome(text: str) -> Outcome | None:
    word = text.strip().lower().rstrip(".!")
    if word in _OK_REPLIES:
        return Outcome.ok
    if word in _HELP_REPLIES or "도와" in word or "도움" in word:
        return Outcome.asked_for_help
    return None
