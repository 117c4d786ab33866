"""Rules for referrals made from hotline events (pure)."""

from __future__ import annotations

import pytest

from heemang_intake.domain import event_referrals as rules
from heemang_intake.domain.triage import Level, priority


@pytest.mark.parametrize(("urgent", "level"), [(True, Level.high), (False, Level.medium)])
def test_urgency_follows_the_senders_flag(urgent: bool, level: Level) -> None:
    assert rules.urgency_of(urgent) == level


def test_hotline_transfer_is_of_medium_importance() -> None:
    assert rules.hotline_triage(True) == rules.Triage(Level.high, Level.medium)
    assert rules.hotline_triage(False) == rules.Triage(Level.medium, Level.medium)


def test_missed_checkin_is_always_important() -> None:
    urgent, not_urgent = rules.checkin_triage(True), rules.checkin_triage(False)
    assert (urgent.importance, not_urgent.importance) == (Level.high, Level.high)
    assert priority(urgent.urgency, urgent.importance) == 1
    assert priority(not_urgent.urgency, not_urgent.importance) == 4


@pytest.mark.parametrize(
    ("stage", "is_open"),
    [
        ("intake", True),
        ("assessment", True),
        ("selection", True),
        ("conference", True),
        ("planning", True),
        ("delivery", True),
        ("closed", False),  # 종결 and 미선정 alike
        ("follow_up", True),  # 사후관리: the case manager still follows the household
    ],
)
def test_open_is_every_stage_but_closed(stage: str, is_open: bool) -> None:
    assert rules.is_open_stage(stage) is is_open


def test_summaries_name_the_source_and_nothing_personal() -> None:
    assert "low_income" in rules.hotline_summary("low_income")
    assert "2 consecutive" in rules.checkin_summary("hello_ansim", "missed", 2)
    assert "asked for help" in rules.checkin_summary("hello_ansim", "asked_for_help", 0)
