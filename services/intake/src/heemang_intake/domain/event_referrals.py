"""Rules for referrals that arrive as other services' events (pure: no I/O).

A hotline transfer (`hotline.referral.requested`) and a missed check-in that no caseworker
is following (`hotline.checkin.missed`) become referrals like any other; these rules say
with what urgency, importance and summary, and which case stages count as open.
"""

from __future__ import annotations

from dataclasses import dataclass

from heemang_intake.domain.triage import Level

#: The one stage at which a case is not open (⑦ 종결, also 미선정).
CLOSING_STAGE = "closed"


@dataclass(frozen=True)
class Triage:
    urgency: Level
    importance: Level


def urgency_of(urgent: bool) -> Level:
    """시급성 from the sender's flag: an urgent transfer or escalation is high, else medium."""
    return Level.high if urgent else Level.medium


def hotline_triage(urgent: bool) -> Triage:
    """A counsellor's transfer: their urgency; importance is for intake to judge (medium)."""
    return Triage(urgency_of(urgent), Level.medium)


def checkin_triage(urgent: bool) -> Triage:
    """A person who stopped answering (or asked for help) with nobody following them up:
    always important; urgent when hotline says so (more misses than the rule, or a call
    for help)."""
    return Triage(urgency_of(urgent), Level.high)


def hotline_summary(category: str) -> str:
    """The counsellor's notes stay in hotline; the referral says only where it came from."""
    return f"복지콜센터 상담 연계 (hotline transfer), category: {category}"


def checkin_summary(programme: str, reason: str, consecutive_misses: int) -> str:
    if reason == "asked_for_help":
        what = "asked for help"
    else:
        what = f"{consecutive_misses} consecutive check-ins missed"
    return f"안부확인 미응답 (missed check-in), programme {programme}: {what}"


def is_open_stage(stage: str) -> bool:
    """Whether a case at ``stage`` counts as open, as casework counts it for its alerts:
    every stage but ⑦ closed. A not-selected case (미선정) reaches ⑦ without a `case.closed`
    event, so the stage change is the closing signal; ⑧ follow-up (사후관리) comes after ⑦ and
    is open again — the 동 is still watching the household, so its missed check-ins go to the
    case manager (casework's alert), not into a new referral."""
    return stage != CLOSING_STAGE
