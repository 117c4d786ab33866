"""Property-based (hypothesis, stateful): random command sequences — legal or not, with
random selection outcomes, closure reasons and reasons, and reopenings — never bring a case
into an illegal state, and a refused command changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.errors import IllegalTransition, InvalidTransition
from heemang_casework.domain.followup import FOLLOW_UP_MONTHS
from heemang_casework.domain.stages import (
    SELECTION_TARGET,
    SERVED_STAGES,
    CaseState,
    Selection,
    Stage,
    TransitionCommand,
    allowed_next,
    can_reopen,
    reopen,
    transition,
)

SERVED = {Selection.case_management, Selection.service_linkage}
BEFORE_SELECTION = {Stage.intake, Stage.assessment, Stage.selection}


def legal(state: CaseState) -> bool:
    """The whole definition of a legal case state."""
    stage, selection, closure = state.stage, state.selection, state.closure_reason
    if stage in BEFORE_SELECTION:
        return selection is None and closure is None and state.selection_reason is None
    if stage in {Stage.conference, Stage.planning}:
        return selection is Selection.case_management and closure is None
    if stage is Stage.delivery:
        return selection in SERVED and closure is None
    if stage is Stage.closed and selection is Selection.not_selected:
        return closure is None and bool(state.selection_reason)
    if stage in {Stage.closed, Stage.follow_up}:
        return selection in SERVED and closure is not None
    return False


def _selection_for(stage: Stage) -> Selection:
    return next(s for s, target in SELECTION_TARGET.items() if target is stage)


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = CaseState()
        self.visited: set[Stage] = {self.state.stage}

    @rule(
        data=st.data(),
        selection=st.none() | st.sampled_from(Selection),
        closure=st.none() | st.sampled_from(ClosureReason),
        reason=st.none() | st.sampled_from(["", "  ", "본인 거부", "x" * 20]),
    )
    def move(
        self,
        data: st.DataObject,
        selection: Selection | None,
        closure: ClosureReason | None,
        reason: str | None,
    ) -> None:
        before = self.state
        allowed = allowed_next(before)
        # Half the time a well-formed command for a move the case may make (so runs reach
        # closure and follow-up); otherwise anything at all.
        if allowed and data.draw(st.booleans()):
            to = data.draw(st.sampled_from(allowed))
            selection = _selection_for(to) if before.stage is Stage.selection else None
            closing = to is Stage.closed and before.stage in SERVED_STAGES
            closure = data.draw(st.sampled_from(ClosureReason)) if closing else None
            reason = "본인 거부"
        else:
            to = data.draw(st.sampled_from(Stage))
        command = TransitionCommand(to=to, selection=selection, closure_reason=closure, reason=reason)
        try:
            after = transition(before, command)
        except IllegalTransition as refused:
            assert to not in allowed
            assert refused.extensions["allowed"] == [s.value for s in allowed]
            return
        except InvalidTransition:
            assert to in allowed  # legal move, but the command lacked what it needs
            return
        assert to in allowed and after.stage is to
        self.state = after
        self.visited.add(to)

    @rule()
    def reopen_case(self) -> None:
        before = self.state
        if can_reopen(before):
            self.state = reopen(before)
            assert self.state.stage is Stage.assessment
        else:
            try:
                reopen(before)
            except IllegalTransition:
                return
            raise AssertionError("reopen accepted a case that cannot be reopened")

    @invariant()
    def state_is_legal(self) -> None:
        assert legal(self.state), self.state

    @invariant()
    def teardown(self) -> None:
        VISITED.update(self.visited)

    @invariant()
    def follow_ups_only_for_served_households(self) -> None:
        if self.state.selection is not None:
            assert bool(FOLLOW_UP_MONTHS[self.state.selection]) == (self.state.selection in SERVED)

    @invariant()
    def terminal_states_offer_nothing(self) -> None:
        nothing = allowed_next(self.state) == []
        terminal = self.state.stage is Stage.follow_up or (
            self.state.stage is Stage.closed and self.state.selection is Selection.not_selected
        )
        assert nothing == terminal


CaseMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCaseMachine = CaseMachine.TestCase
VISITED: set[Stage] = set()


def test_the_random_runs_reached_every_stage() -> None:
    """Runs after TestCaseMachine (file order): the sequences did get to closure and follow-up."""
    assert set(Stage) == VISITED
