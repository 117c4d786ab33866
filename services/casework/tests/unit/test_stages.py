"""The case lifecycle rules: every legal move, every refusal naming the allowed stages, and a
property test that random command sequences stay inside the legal state graph."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heemang_casework.domain.closure import CATEGORY, ClosureCategory, ClosureReason
from heemang_casework.domain.errors import IllegalTransition, InvalidTransition
from heemang_casework.domain.stages import (
    CaseState,
    Selection,
    Stage,
    TransitionCommand,
    allowed_next,
    is_closure,
    transition,
)
from heemang_common.errors import Conflict, Invalid
from heemang_common.events import casework as events

S = Stage
CM, SL, NS = Selection.case_management, Selection.service_linkage, Selection.not_selected
GOAL = ClosureReason.long_term_goal_met

#: The reference graph, written out by hand from the seeds (independent of the module's
#: table): (stage, selection) → stages allowed next.
EXPECTED: dict[tuple[Stage, Selection | None], set[Stage]] = {
    (S.intake, None): {S.assessment},
    (S.assessment, None): {S.selection},
    (S.selection, None): {S.conference, S.delivery, S.closed},
    (S.conference, CM): {S.planning, S.closed},
    (S.planning, CM): {S.delivery, S.conference, S.closed},
    (S.delivery, CM): {S.planning, S.conference, S.closed},
    (S.delivery, SL): {S.closed},
    (S.closed, CM): {S.follow_up},
    (S.closed, SL): {S.follow_up},
    (S.closed, NS): set(),
    (S.follow_up, CM): set(),
    (S.follow_up, SL): set(),
}


def _state(stage: Stage, selection: Selection | None) -> CaseState:
    closed = stage in (S.closed, S.follow_up) and selection in (CM, SL)
    return CaseState(stage=stage, selection=selection, closure_reason=GOAL if closed else None)


def _legal_command(state: CaseState, to: Stage) -> TransitionCommand:
    """The command a caseworker would send for this move."""
    if state.stage is S.selection:
        selection = {S.conference: CM, S.delivery: SL, S.closed: NS}[to]
        return TransitionCommand(to=to, selection=selection, reason="본인 거부")
    if to is S.closed:
        return TransitionCommand(to=to, closure_reason=GOAL)
    return TransitionCommand(to=to)


LEGAL = [(stage, sel, to) for (stage, sel), targets in EXPECTED.items() for to in sorted(targets)]
ILLEGAL = [
    (stage, sel, to) for (stage, sel), targets in EXPECTED.items() for to in Stage if to not in targets
]


@pytest.mark.parametrize(("stage", "selection"), list(EXPECTED))
def test_allowed_next_matches_the_seeds(stage: Stage, selection: Selection | None) -> None:
    assert set(allowed_next(_state(stage, selection))) == EXPECTED[(stage, selection)]


@pytest.mark.parametrize(("stage", "selection", "to"), LEGAL)
def test_every_legal_transition(stage: Stage, selection: Selection | None, to: Stage) -> None:
    state = _state(stage, selection)
    after = transition(state, _legal_command(state, to))
    assert after.stage is to
    assert after.selection is (selection if stage is not S.selection else after.selection)
    if to is S.closed and stage is not S.selection:
        assert after.closure_reason is GOAL


def test_happy_paths_through_all_stages() -> None:
    state = CaseState()
    for to in (S.assessment, S.selection, S.conference, S.planning, S.delivery, S.closed, S.follow_up):
        state = transition(state, _legal_command(state, to))
    assert state.stage is S.follow_up and state.selection is CM and state.closure_reason is GOAL


def test_service_linkage_goes_straight_to_delivery_then_closure() -> None:
    state = CaseState(stage=S.selection)
    state = transition(state, TransitionCommand(to=S.delivery, selection=SL))
    assert allowed_next(state) == [S.closed]
    closing = TransitionCommand(to=S.closed, closure_reason=ClosureReason.situation_improved)
    assert is_closure(state, closing)
    assert transition(state, closing).closure_reason is ClosureReason.situation_improved


def test_not_selected_needs_a_reason_and_ends_the_case() -> None:
    state = CaseState(stage=S.selection)
    for blank in (None, "", "   "):
        with pytest.raises(InvalidTransition, match="reason"):
            transition(state, TransitionCommand(to=S.closed, selection=NS, reason=blank))
    command = TransitionCommand(to=S.closed, selection=NS, reason=" 연락두절 ")
    after = transition(state, command)
    assert after == CaseState(stage=S.closed, selection=NS, selection_reason="연락두절")
    assert not is_closure(state, command)  # 미선정 is not a 종결
    assert allowed_next(after) == []


@pytest.mark.parametrize(("stage", "selection", "to"), ILLEGAL)
def test_illegal_transitions_are_refused_naming_the_allowed_ones(
    stage: Stage, selection: Selection | None, to: Stage
) -> None:
    state = _state(stage, selection)
    with pytest.raises(IllegalTransition) as refused:
        transition(state, TransitionCommand(to=to, selection=CM, closure_reason=GOAL, reason="x"))
    error = refused.value
    assert isinstance(error, Conflict) and error.status == 409
    assert error.extensions["current"] == stage.value
    assert error.extensions["allowed"] == [s.value for s in allowed_next(state)]


@pytest.mark.parametrize(
    ("state", "command", "match"),
    [
        (CaseState(stage=S.selection), TransitionCommand(to=S.conference), "selection outcome"),
        (CaseState(stage=S.selection), TransitionCommand(to=S.delivery, selection=CM), "leads to"),
        (CaseState(stage=S.selection), TransitionCommand(to=S.closed, selection=SL), "leads to"),
        (CaseState(stage=S.intake), TransitionCommand(to=S.assessment, selection=CM), "selection"),
        (_state(S.delivery, CM), TransitionCommand(to=S.closed), "closure reason"),
        (_state(S.delivery, CM), TransitionCommand(to=S.planning, closure_reason=GOAL), "closure"),
        (
            CaseState(stage=S.selection),
            TransitionCommand(to=S.closed, selection=NS, reason="refused", closure_reason=GOAL),
            "closure",
        ),
    ],
)
def test_incomplete_commands_are_invalid(state: CaseState, command: TransitionCommand, match: str) -> None:
    with pytest.raises(InvalidTransition, match=match) as refused:
        transition(state, command)
    assert isinstance(refused.value, Invalid) and refused.value.status == 422


def test_closure_taxonomy_has_every_reason_in_its_category() -> None:
    assert set(CATEGORY) == set(ClosureReason)
    by_category = {c: {r for r in ClosureReason if r.category is c} for c in ClosureCategory}
    assert len(by_category[ClosureCategory.positive]) == 3
    assert len(by_category[ClosureCategory.circumstantial]) == 5
    assert by_category[ClosureCategory.agency_limits] == {ClosureReason.agency_limits}


def test_event_literals_match_the_domain_enums() -> None:
    # libs/common cannot import the service, so the event models repeat the codes.
    assert set(typing.get_args(events.CaseStage)) == {s.value for s in Stage}
    assert set(typing.get_args(events.Selection)) == {s.value for s in Selection}
    assert set(typing.get_args(events.ClosureReason)) == {r.value for r in ClosureReason}
    assert set(typing.get_args(events.ClosureCategory)) == {c.value for c in ClosureCategory}


# ------------------------------------------------------------------ property: random commands

#: A random step: a stage (or, when ``aim`` is set, the n-th legal stage from wherever the
#: case is, so sequences get deep) and either well-formed other fields for that move (``fit``:
#: what a caseworker would send, so a wrongly allowed move is taken) or random ones.
steps = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(min_value=0, max_value=7),
        st.booleans(),
        st.none() | st.sampled_from(Selection),
        st.none() | st.sampled_from(ClosureReason),
        st.none() | st.sampled_from(["", "  ", "본인 거부", "연락두절"]),
    ),
    min_size=10,
    max_size=40,
)
Step = tuple[bool, int, bool, Selection | None, ClosureReason | None, str | None]


def _command(state: CaseState, step: Step) -> TransitionCommand:
    aim, n, fit, selection, closure_reason, reason = step
    legal = sorted(EXPECTED[(state.stage, state.selection)])
    to = legal[n % len(legal)] if aim and legal else list(Stage)[n]
    if fit:
        return _fitting_command(state, to)
    return TransitionCommand(to=to, selection=selection, closure_reason=closure_reason, reason=reason)


def _fitting_command(state: CaseState, to: Stage) -> TransitionCommand:
    if state.stage is S.selection and to in (S.conference, S.delivery, S.closed):
        return _legal_command(state, to)
    return TransitionCommand(to=to, closure_reason=GOAL if to is S.closed else None)


def _invariants(state: CaseState) -> None:
    assert (state.stage, state.selection) in EXPECTED, f"unreachable state {state}"
    served_end = state.stage in (S.closed, S.follow_up) and state.selection in (CM, SL)
    assert (state.closure_reason is not None) == served_end
    if state.selection_reason is not None:
        assert state.selection is not None  # only the selection decision records it
    if state.selection is NS:
        assert state.selection_reason  # 미선정 always says why


@settings(max_examples=500)
@given(steps)
def test_random_commands_never_leave_the_legal_graph(sequence: list[Step]) -> None:
    state = CaseState()
    for step in sequence:
        command = _command(state, step)
        try:
            after = transition(state, command)
        except IllegalTransition:
            assert command.to not in EXPECTED[(state.stage, state.selection)]
            continue
        except InvalidTransition:
            continue
        assert after.stage in EXPECTED[(state.stage, state.selection)], (state, command)
        if state.stage is S.closed:
            assert after.stage is S.follow_up  # a closed case only moves to follow-up
        if state.selection is not None:
            assert after.selection is state.selection  # the selection outcome never changes
        _invariants(after)
        state = after


def test_the_legal_graph_reaches_every_expected_state() -> None:
    # A search over the legal commands: every state in EXPECTED is reachable, none is dead weight.
    seen: set[tuple[Stage, Selection | None]] = {(S.intake, None)}
    frontier = [CaseState()]
    while frontier:
        state = frontier.pop()
        for to in allowed_next(state):
            after = transition(state, _legal_command(state, to))
            if (after.stage, after.selection) not in seen:
                seen.add((after.stage, after.selection))
                frontier.append(after)
    assert seen == set(EXPECTED)
