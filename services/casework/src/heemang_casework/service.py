"""Casework use cases. They only flush: the caller (request or consumed message) commits."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import repositories
from heemang_casework.db.models import Case, CaseTimelineEntry, FollowUp
from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.followup import due_dates, local_date
from heemang_casework.domain.stages import (
    OPENING_STAGE,
    CaseState,
    Selection,
    Stage,
    TransitionCommand,
    is_closure,
    transition,
)
from heemang_casework.events.publish import publish
from heemang_common.errors import NotFound
from heemang_common.events.casework import (
    CaseClosed,
    CaseClosedData,
    CaseOpened,
    CaseOpenedData,
    CaseStageChanged,
    CaseStageChangedData,
)
from heemang_common.events.envelope import utcnow


async def open_case_for_referral(
    session: AsyncSession, *, referral_id: uuid.UUID, household_id: uuid.UUID, dong: str
) -> Case:
    existing = await repositories.case_for_referral(session, referral_id)
    if existing is not None:
        return existing
    case = Case(
        id=uuid.uuid4(),
        household_id=household_id,
        referral_id=referral_id,
        dong=dong,
        stage=OPENING_STAGE.value,
        opened_at=utcnow(),
    )
    session.add(case)
    await session.flush()
    session.add(CaseTimelineEntry(case_id=case.id, at=case.opened_at, kind="opened", to_stage=case.stage))
    publish(
        session,
        CaseOpened.create(
            subject=case.id,
            data=CaseOpenedData(
                case_id=case.id,
                household_id=household_id,
                referral_id=referral_id,
                dong=dong,
                stage=OPENING_STAGE.value,
                opened_at=case.opened_at,
            ),
        ),
    )
    return case


async def get_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    case = await repositories.get_case(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def case_state(case: Case) -> CaseState:
    return CaseState(
        stage=Stage(case.stage),
        selection=Selection(case.selection) if case.selection else None,
        selection_reason=case.selection_reason,
        closure_reason=ClosureReason(case.closure_reason) if case.closure_reason else None,
    )


async def change_stage(session: AsyncSession, case_id: uuid.UUID, command: TransitionCommand) -> Case:
    """Move a case to another stage: the pure rules decide (raising before anything is
    written), then the case, its timeline entry and the events are written together."""
    case = await repositories.get_case_for_update(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    before = case_state(case)
    after = transition(before, command)
    now = utcnow()
    _apply(case, after, now)
    session.add(_timeline_entry(case.id, before, after, command, now))
    follow_up_due = _schedule_follow_ups(session, case, now) if is_closure(before, command) else []
    await session.flush()
    _publish_stage_changed(session, case, before, after, now)
    if is_closure(before, command):
        _publish_closed(session, case, now, follow_up_due)
    return case


async def timeline(session: AsyncSession, case_id: uuid.UUID) -> list[CaseTimelineEntry]:
    await get_case(session, case_id)  # 404 for an unknown case, not an empty timeline
    return await repositories.timeline(session, case_id)


def _apply(case: Case, after: CaseState, now: datetime) -> None:
    case.stage = after.stage.value
    case.selection = after.selection.value if after.selection else None
    case.selection_reason = after.selection_reason
    case.closure_reason = after.closure_reason.value if after.closure_reason else None
    if after.stage is Stage.closed and case.closed_at is None:
        case.closed_at = now


def _timeline_entry(
    case_id: uuid.UUID, before: CaseState, after: CaseState, command: TransitionCommand, now: datetime
) -> CaseTimelineEntry:
    # The entry's reason: the coded closure reason when closing, else the caseworker's words.
    reason = command.closure_reason.value if command.closure_reason else command.reason
    return CaseTimelineEntry(
        case_id=case_id,
        at=now,
        kind="stage_changed",
        from_stage=before.stage.value,
        to_stage=after.stage.value,
        reason=reason,
        note=command.note,
        actor=None,  # authentication arrives with its issue
    )


def _schedule_follow_ups(session: AsyncSession, case: Case, now: datetime) -> list[date]:
    assert case.selection is not None  # a served case passed selection
    due = due_dates(local_date(now), Selection(case.selection))
    for due_on in due:
        session.add(FollowUp(case_id=case.id, due_on=due_on, status="scheduled"))
    return due


def _publish_stage_changed(
    session: AsyncSession, case: Case, before: CaseState, after: CaseState, now: datetime
) -> None:
    left_selection = before.stage is Stage.selection
    data = CaseStageChangedData(
        case_id=case.id,
        household_id=case.household_id,
        from_stage=before.stage.value,
        to_stage=after.stage.value,
        at=now,
        selection=after.selection.value if left_selection and after.selection else None,
        reason=after.closure_reason.value if after.closure_reason and after.stage is Stage.closed else None,
    )
    publish(session, CaseStageChanged.create(subject=case.id, data=data))


def _publish_closed(session: AsyncSession, case: Case, now: datetime, follow_up_due: list[date]) -> None:
    assert case.closure_reason is not None  # the rules require one for 종결
    reason = ClosureReason(case.closure_reason)
    data = CaseClosedData(
        case_id=case.id,
        household_id=case.household_id,
        dong=case.dong,
        closure_reason=reason.value,
        reason_category=reason.category.value,
        closed_at=now,
        follow_up_due=follow_up_due,
    )
    publish(session, CaseClosed.create(subject=case.id, data=data))
