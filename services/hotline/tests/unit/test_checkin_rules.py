from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_common.errors import Invalid
from heemang_hotline.domain.checkins import (
    EscalationRule,
    Outcome,
    QuietHours,
    Window,
    assess,
    slot_for,
    validate_window,
)

OC = Outcome


def test_two_misses_escalate_and_the_third_is_urgent() -> None:
    assert assess([OC.ok, OC.no_answer]) is None
    second = assess([OC.ok, OC.no_answer, OC.no_answer])
    assert second is not None and second.reason == "missed" and not second.urgent
    third = assess([OC.no_answer, OC.wrong_number, OC.no_answer])
    assert third is not None and third.urgent and third.consecutive_misses == 3


def test_asking_for_help_escalates_at_once() -> None:
    help_now = assess([OC.ok, OC.ok, OC.asked_for_help])
    assert help_now is not None and help_now.urgent and help_now.reason == "asked_for_help"


def test_an_answer_ends_the_run_and_the_rule_is_configurable() -> None:
    assert assess([OC.no_answer, OC.no_answer, OC.ok]) is None
    assert assess([OC.no_answer], EscalationRule(consecutive_misses=1)) is not None
    assert assess([]) is None


@given(st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=30))
def test_escalation_matches_the_trailing_run_of_misses(history: list[Outcome]) -> None:
    trailing = 0
    for outcome in reversed(history):
        if outcome not in (OC.no_answer, OC.wrong_number):
            break
        trailing += 1
    result = assess(history)
    if history[-1] == OC.asked_for_help:
        assert result is not None and result.urgent
    elif trailing >= 2:
        assert result is not None and result.urgent == (trailing >= 3)
    else:
        assert result is None


def test_windows_respect_quiet_hours() -> None:
    quiet = QuietHours()
    validate_window(Window(2, time(10, 0), time(12, 0)), quiet)
    validate_window(Window(2, time(19, 0), time(21, 0)), quiet)  # ends as quiet hours begin
    for bad in (
        Window(2, time(20, 0), time(22, 0)),
        Window(2, time(7, 0), time(9, 0)),
        Window(7, time(10), time(11)),
    ):
        with pytest.raises(Invalid):
            validate_window(bad, quiet)
    with pytest.raises(Invalid):
        validate_window(Window(1, time(12, 0), time(11, 0)), quiet)


def test_slots_fall_on_the_window_weekday_in_kst() -> None:
    window = Window(0, time(10, 0), time(12, 0))  # Mondays
    slot = slot_for(window, date(2026, 11, 23))
    assert slot is not None and slot.isoformat() == "2026-11-23T10:00:00+09:00"
    assert slot_for(window, date(2026, 11, 24)) is None
