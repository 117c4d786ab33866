"""The case lifecycle of integrated case management (통합사례관리) as a pure state machine.

Stages, from the 2015 plans (seeds 002 and 003): ① 접수 intake → ② 욕구조사 assessment →
③ 대상자 선정 selection → ④ 사례회의 conference → ⑤ 서비스제공계획 planning →
⑥ 서비스제공 및 점검 delivery → ⑦ 종결 closed → ⑧ 사후관리 follow_up.

Decisions taken from the seeds:

- **Selection has three outcomes** (대상자구분 및 선정: 사례관리가구, 서비스연계가구,
  사업대상제외가구/미선정), and leaving ③ requires one:
  - 사례관리 case management → ④ conference: the conference is held "for households decided
    for case management" (사례관리 결정 가구에 대해), then plan and delivery;
  - 서비스연계 service linkage → ⑥ delivery directly: a "simple service linkage" (단순서비스연계)
    has no conference of its own nor a service plan; the linked services are delivered and
    monitored, then the case closes;
  - 미선정 not selected → ⑦ closed, with a required free-text reason (the 2015 report:
    "미선정 사유: 본인 거부, 연락두절 등"). It is not a 종결 (the reports count it apart), so it
    takes no closure reason, publishes no ``case.closed`` and gets no follow-up.
- **Closure (종결) from any served stage**: ④ conference, ⑤ planning or ⑥ delivery, with a
  reason from the taxonomy in ``closure.py`` — circumstantial endings (death, moving out,
  refusal, no contact for 3 months) can happen at any point once the household is served.
  Before selection there is no closure: a household that refuses or cannot be reached is
  recorded at ③ as 미선정.
- **Conferences recur** "until closure" (서비스제공계획 수립·종결까지 수시개최) and the seeds
  show conferences that revise goals during delivery (서비스점검 및 목표수정): for case-management
  households ⑤ → ④ and ⑥ → ④ / ⑥ → ⑤ are legal (re-conference, re-plan). A service-linkage
  household in ⑥ can only close.
- **Follow-up** (사후관리, by the 동) follows closure of a served household: ⑦ → ⑧. A closed
  case moves nowhere else by transition; a 미선정 case moves nowhere at all.
- **Reopening** (``reopen``): a follow-up that finds a new crisis puts a served, closed case
  (⑦ or ⑧) back to ② assessment in one step — the new crisis is assessed and the household
  selected again, so the selection and closure reason are cleared (the timeline keeps them).
  A 미선정 case is not reopened: a new referral opens a new case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.errors import IllegalTransition, InvalidTransition


class Stage(StrEnum):
    intake = "intake"  # ① 접수
    assessment = "assessment"  # ② 욕구조사
    selection = "selection"  # ③ 대상자 선정
    conference = "conference"  # ④ 사례회의
    planning = "planning"  # ⑤ 서비스제공계획
    delivery = "delivery"  # ⑥ 서비스제공 및 점검
    closed = "closed"  # ⑦ 종결
    follow_up = "follow_up"  # ⑧ 사후관리


class Selection(StrEnum):
    case_management = "case_management"  # 사례관리
    service_linkage = "service_linkage"  # 서비스연계
    not_selected = "not_selected"  # 미선정


#: A case opened from an accepted referral starts at ① 접수.
OPENING_STAGE = Stage.intake

#: Where each selection outcome leads from ③.
SELECTION_TARGET: dict[Selection, Stage] = {
    Selection.case_management: Stage.conference,
    Selection.service_linkage: Stage.delivery,
    Selection.not_selected: Stage.closed,
}

#: Legal moves of a case-management household (and of every case before selection).
_MOVES: dict[Stage, tuple[Stage, ...]] = {
    Stage.intake: (Stage.assessment,),
    Stage.assessment: (Stage.selection,),
    Stage.selection: (Stage.conference, Stage.delivery, Stage.closed),
    Stage.conference: (Stage.planning, Stage.closed),
    Stage.planning: (Stage.delivery, Stage.conference, Stage.closed),
    Stage.delivery: (Stage.planning, Stage.conference, Stage.closed),
    Stage.closed: (Stage.follow_up,),
    Stage.follow_up: (),
}

#: Stages a case can be closed (종결) from with a closure reason.
SERVED_STAGES = frozenset({Stage.conference, Stage.planning, Stage.delivery})


@dataclass(frozen=True)
class CaseState:
    """What the lifecycle rules look at: the stage and the decisions taken so far."""

    stage: Stage = OPENING_STAGE
    selection: Selection | None = None
    selection_reason: str | None = None
    closure_reason: ClosureReason | None = None


@dataclass(frozen=True)
class TransitionCommand:
    to: Stage
    selection: Selection | None = None
    closure_reason: ClosureReason | None = None
    reason: str | None = None  # free text: required for 미선정, optional otherwise
    note: str | None = None  # for the timeline only; no rule looks at it


def allowed_next(state: CaseState) -> list[Stage]:
    """The stages ``state`` may move to, in stage order."""
    if state.stage is Stage.delivery and state.selection is Selection.service_linkage:
        return [Stage.closed]
    if state.stage is Stage.closed and state.selection is Selection.not_selected:
        return []
    return list(_MOVES[state.stage])


def transition(current: CaseState, command: TransitionCommand) -> CaseState:
    """The state after ``command``, or IllegalTransition (409) / InvalidTransition (422)."""
    allowed = allowed_next(current)
    if command.to not in allowed:
        raise IllegalTransition(current.stage.value, command.to.value, [s.value for s in allowed])
    _check_selection(current, command)
    _check_closure(current, command)
    if current.stage is Stage.selection:
        assert command.selection is not None  # _check_selection made sure
        return replace(
            current, stage=command.to, selection=command.selection, selection_reason=_text(command.reason)
        )
    if command.to is Stage.closed:
        return replace(current, stage=command.to, closure_reason=command.closure_reason)
    return replace(current, stage=command.to)


def is_closure(current: CaseState, command: TransitionCommand) -> bool:
    """A 종결 (with reason and follow-ups), as opposed to closing a 미선정 case."""
    return command.to is Stage.closed and current.stage in SERVED_STAGES


def _check_selection(current: CaseState, command: TransitionCommand) -> None:
    if current.stage is not Stage.selection:
        if command.selection is not None:
            raise InvalidTransition("a selection outcome is given only when leaving the selection stage")
        return
    if command.selection is None:
        raise InvalidTransition("leaving the selection stage needs a selection outcome", field="selection")
    target = SELECTION_TARGET[command.selection]
    if command.to is not target:
        raise InvalidTransition(
            f"selection {command.selection.value!r} leads to {target.value!r}, not {command.to.value!r}",
            field="to",
        )
    if command.selection is Selection.not_selected and _text(command.reason) is None:
        raise InvalidTransition("a household not selected (미선정) needs a reason", field="reason")


def _check_closure(current: CaseState, command: TransitionCommand) -> None:
    if is_closure(current, command):
        if command.closure_reason is None:
            raise InvalidTransition("closing a case needs a closure reason", field="closure_reason")
    elif command.closure_reason is not None:
        raise InvalidTransition("a closure reason is given only when closing a served case")


def _text(value: str | None) -> str | None:
    stripped = value.strip() if value else ""
    return stripped or None


#: Stages a served case can be reopened from.
REOPENABLE_STAGES = frozenset({Stage.closed, Stage.follow_up})
REOPEN_TARGET = Stage.assessment


def can_reopen(state: CaseState) -> bool:
    return state.stage in REOPENABLE_STAGES and state.selection not in (None, Selection.not_selected)


def reopen(state: CaseState) -> CaseState:
    """The state after reopening a closed case for a new crisis, or IllegalTransition (409)."""
    if not can_reopen(state):
        raise IllegalTransition(
            state.stage.value, REOPEN_TARGET.value, [s.value for s in allowed_next(state)]
        )
    return CaseState(stage=REOPEN_TARGET)
