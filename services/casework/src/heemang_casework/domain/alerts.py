"""Alerts on open cases (pure rules, no I/O).

A missed check-in of a monitoring programme (hotline's ``checkin.missed``) becomes an alert on
the household's open case and in its case manager's work list. Decisions:

- **Open means not terminal.** Only ⑦ closed is terminal — a served case closed with a reason
  (종결) and a 미선정 case alike. ⑧ follow_up (사후관리) counts as open: the 동 is still watching
  the household after closure, and a missed check-in then is exactly what a follow-up is for,
  so it must reach the case manager. Every stage before closed (① … ⑥) is open.
- **Kind from the hotline's reason**: an unanswered check-in is ``checkin_missed``; a household
  that answered and asked for help is ``checkin_help``.
- **Urgency is the hotline's**: it knows the programme's escalation rules (consecutive misses,
  who lives alone); casework does not second-guess the flag.
- **Several open cases** (rare: two referrals): the alert goes on the most recently opened.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from heemang_casework.domain.stages import Stage

#: Stages that end a case for alerting purposes; every other stage is open.
TERMINAL_STAGES = frozenset({Stage.closed})

#: Stages whose case receives alerts: everything but closed, follow-up included.
OPEN_STAGES = frozenset(Stage) - TERMINAL_STAGES


class AlertKind(StrEnum):
    checkin_missed = "checkin_missed"  # 안부확인 미응답
    checkin_help = "checkin_help"  # 안부확인 중 도움 요청


CheckinReason = Literal["missed", "asked_for_help"]

_KIND: dict[str, AlertKind] = {
    "missed": AlertKind.checkin_missed,
    "asked_for_help": AlertKind.checkin_help,
}


def is_open(stage: Stage) -> bool:
    """Whether a case at ``stage`` receives alerts (follow-up included, closed not)."""
    return stage in OPEN_STAGES


def alert_kind(reason: CheckinReason | str) -> AlertKind:
    """The alert a missed check-in raises; ValueError for a reason this build does not know."""
    try:
        return _KIND[reason]
    except KeyError:
        raise ValueError(f"unknown check-in reason {reason!r}") from None


def timeline_note(kind: AlertKind, programme: str, consecutive_misses: int) -> str:
    """The case timeline's line for a raised alert (codes and counts, no personal data)."""
    if kind is AlertKind.checkin_help:
        return f"{programme}: asked for help at a check-in"
    plural = "" if consecutive_misses == 1 else "s"
    return f"{programme}: {consecutive_misses} consecutive missed check-in{plural}"
