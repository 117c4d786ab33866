"""Which cases receive alerts and what a missed check-in raises (pure rules)."""

from __future__ import annotations

import typing

import pytest

from heemang_casework.domain.alerts import (
    OPEN_STAGES,
    TERMINAL_STAGES,
    AlertKind,
    alert_kind,
    is_open,
    timeline_note,
)
from heemang_casework.domain.stages import Stage
from heemang_common.events import casework as events
from heemang_common.events.hotline import CheckinMissedData


@pytest.mark.parametrize(
    "stage",
    [Stage.intake, Stage.assessment, Stage.selection, Stage.conference, Stage.planning, Stage.delivery],
)
def test_every_stage_before_closure_is_open(stage: Stage) -> None:
    assert is_open(stage)


def test_follow_up_is_open_so_a_missed_check_in_reaches_the_case_manager() -> None:
    assert is_open(Stage.follow_up)


def test_closed_is_terminal_and_the_only_terminal_stage() -> None:
    assert not is_open(Stage.closed)
    assert {Stage.closed} == TERMINAL_STAGES
    assert set(Stage) == OPEN_STAGES | TERMINAL_STAGES and not OPEN_STAGES & TERMINAL_STAGES


def test_alert_kind_from_the_check_in_reason() -> None:
    assert alert_kind("missed") is AlertKind.checkin_missed
    assert alert_kind("asked_for_help") is AlertKind.checkin_help
    with pytest.raises(ValueError, match="unknown check-in reason"):
        alert_kind("sleeping")


def test_every_reason_the_hotline_sends_has_a_kind() -> None:
    reason = CheckinMissedData.model_fields["reason"].annotation
    assert {alert_kind(r) for r in typing.get_args(reason)} == set(AlertKind)


def test_kinds_match_the_event_contract() -> None:
    assert {k.value for k in AlertKind} == set(typing.get_args(events.AlertKind))


def test_timeline_note_carries_codes_and_counts_only() -> None:
    assert timeline_note(AlertKind.checkin_missed, "hello_ansim", 3) == (
        "hello_ansim: 3 consecutive missed check-ins"
    )
    assert timeline_note(AlertKind.checkin_missed, "hello_ansim", 1) == (
        "hello_ansim: 1 consecutive missed check-in"
    )
    assert timeline_note(AlertKind.checkin_help, "ai_call", 0) == "ai_call: asked for help at a check-in"
