"""Casework use cases. They only flush: the caller (request or consumed message) commits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import repositories
from heemang_casework.db.models import Alert, Case, CaseTimelineEntry, FollowUp, Household
from heemang_casework.domain.alerts import AlertKind, alert_kind, timeline_note
from heemang_casework.domain.closure import ClosureReason
from heemang_casework.domain.errors import AlertAlreadyAcknowledged
from heemang_casework.domain.followup import (
    FollowUpOutcome,
    FollowUpStatus,
    check_outcome,
    due_dates,
    local_date,
)
from heemang_casework.domain.scope import Viewer
from heemang_casework.domain.stages import (
    OPENING_STAGE,
    CaseState,
    Selection,
    Stage,
    TransitionCommand,
    is_closure,
    reopen,
    transition,
)
from heemang_casework.events.publish import publish
from heemang_common.errors import NotFound
from heemang_common.events.casework import (
    AlertRaised,
    AlertRaisedData,
    CaseAssigned,
    CaseAssignedData,
    CaseClosed,
    CaseClosedData,
    CaseOpened,
    CaseOpenedData,
    CaseStageChanged,
    CaseStageChangedData,
)
from heemang_common.events.envelope import utcnow
from heemang_common.events.hotline import CheckinMissedData


async def open_case_for_referral(
    session: AsyncSession,
    *,
    referral_id: uuid.UUID,
    household_id: uuid.UUID,
    dong: str,
    restricted: bool = False,
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
        restricted=restricted,
    )
    case.stage_entered_at = case.opened_at
    household = await session.get(Household, household_id)
    case.members_at_open = household.member_count if household is not None else None
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


async def change_stage(
    session: AsyncSession, case_id: uuid.UUID, command: TransitionCommand, actor: str | None = None
) -> Case:
    """Move a case to another stage: the pure rules decide (raising before anything is
    written), then the case, its timeline entry and the events are written together."""
    case = await repositories.get_case_for_update(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    before = case_state(case)
    after = transition(before, command)
    now = utcnow()
    _apply(case, after, now)
    session.add(_timeline_entry(case.id, before, after, command, now, actor))
    if is_closure(before, command):
        await repositories.drop_cancelled_follow_ups(session, case.id)  # a reopened case closes again
    follow_up_due = _schedule_follow_ups(session, case, now) if is_closure(before, command) else []
    await session.flush()
    _publish_stage_changed(session, case, before, after, now)
    if is_closure(before, command):
        _publish_closed(session, case, now, follow_up_due)
    return case


async def assign(
    session: AsyncSession,
    case: Case,
    *,
    case_manager_id: str | None,
    dong: str,
    agencies: list[str],
    restricted: bool,
    actor: str | None,
) -> bool:
    """Replace the case's assignment. A change is logged in the timeline and published as
    ``case.assigned`` (partner webhooks are filtered by it); no change writes nothing.
    Returns whether anything changed."""
    agencies = sorted(set(agencies))
    current = await repositories.case_agency_ids(session, case.id)
    before = (case.case_manager_id, case.dong, current, case.restricted)
    if before == (case_manager_id, dong, agencies, restricted):
        return False
    now = utcnow()
    changes = _assignment_changes(before, (case_manager_id, dong, agencies, restricted))
    case.case_manager_id, case.dong, case.restricted = case_manager_id, dong, restricted
    if agencies != current:
        await repositories.set_agencies(session, case.id, agencies, now)
    session.add(
        CaseTimelineEntry(case_id=case.id, at=now, kind="assigned", reason=", ".join(changes), actor=actor)
    )
    await session.flush()
    publish_assigned(session, case, agencies, now)
    return True


def publish_assigned(session: AsyncSession, case: Case, agencies: list[str], now: datetime) -> None:
    data = CaseAssignedData(
        case_id=case.id,
        household_id=case.household_id,
        dong=case.dong,
        case_manager_id=case.case_manager_id,
        agencies=agencies,
        restricted=case.restricted,
        assigned_at=now,
    )
    publish(session, CaseAssigned.create(subject=case.id, data=data))


def _assignment_changes(
    before: tuple[str | None, str, list[str], bool], after: tuple[str | None, str, list[str], bool]
) -> list[str]:
    """The timeline's account of a reassignment: ids and codes, which name no one."""
    names = ("case_manager", "dong", "agencies", "restricted")
    return [
        f"{name}: {_show(old)} -> {_show(new)}"
        for name, old, new in zip(names, before, after, strict=True)
        if old != new
    ]


def _show(value: object) -> str:
    if isinstance(value, list):
        return "+".join(value) or "-"
    return "-" if value is None else str(value)


async def timeline(session: AsyncSession, case_id: uuid.UUID) -> list[CaseTimelineEntry]:
    await get_case(session, case_id)  # 404 for an unknown case, not an empty timeline
    return await repositories.timeline(session, case_id)


def _apply(case: Case, after: CaseState, now: datetime) -> None:
    if case.stage != after.stage.value:
        case.stage_entered_at = now
    case.stage = after.stage.value
    case.selection = after.selection.value if after.selection else None
    case.selection_reason = after.selection_reason
    case.closure_reason = after.closure_reason.value if after.closure_reason else None
    if after.stage is Stage.closed and case.closed_at is None:
        case.closed_at = now


def _timeline_entry(
    case_id: uuid.UUID,
    before: CaseState,
    after: CaseState,
    command: TransitionCommand,
    now: datetime,
    actor: str | None,
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
        actor=actor,
    )


def _schedule_follow_ups(session: AsyncSession, case: Case, now: datetime) -> list[date]:
    assert case.selection is not None  # a served case passed selection
    due = due_dates(local_date(now), Selection(case.selection))
    for sequence, due_on in enumerate(due, start=1):
        session.add(FollowUp(case_id=case.id, due_on=due_on, status="scheduled", sequence=sequence))
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


# ------------------------------------------------------------------ alerts and the work list


async def raise_checkin_alert(
    session: AsyncSession, *, event_id: uuid.UUID, checkin: CheckinMissedData
) -> Alert | None:
    """An alert on the household's open case for a missed check-in, with a timeline entry and
    ``alert.raised``; None (and nothing written) when the household has no open case — intake
    turns those into referrals — or when this event already raised its alert."""
    if await repositories.alert_for_event(session, event_id) is not None:
        return None  # a redelivery the inbox did not catch: one alert per event
    case = await repositories.open_case_for_household(session, checkin.household_id)
    if case is None:
        return None
    kind = alert_kind(checkin.reason)
    now = utcnow()
    alert = Alert(
        id=uuid.uuid4(),
        case_id=case.id,
        household_id=checkin.household_id,
        kind=kind.value,
        urgent=checkin.urgent,
        source_event_id=event_id,
        details={
            "programme": checkin.programme,
            "reason": checkin.reason,
            "consecutive_misses": checkin.consecutive_misses,
            "enrolment_id": str(checkin.enrolment_id),
            "detected_at": checkin.at.isoformat(),
            "history": [record.model_dump(mode="json") for record in checkin.history],
        },
        raised_at=now,
    )
    session.add(alert)
    session.add(
        CaseTimelineEntry(
            case_id=case.id,
            at=now,
            kind="alert",
            reason=kind.value,
            note=timeline_note(kind, checkin.programme, checkin.consecutive_misses),
            actor=None,
        )
    )
    publish(
        session,
        AlertRaised.create(
            subject=case.id,
            data=AlertRaisedData(
                alert_id=alert.id,
                case_id=case.id,
                household_id=case.household_id,
                dong=case.dong,
                kind=kind.value,
                urgent=alert.urgent,
                raised_at=now,
            ),
        ),
    )
    return alert


async def case_alerts(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[Alert, str]]:
    await get_case(session, case_id)  # 404 for an unknown case, not an empty list
    return await repositories.case_alerts(session, case_id)


async def work_list(
    session: AsyncSession,
    viewer: Viewer,
    *,
    open_only: bool = True,
    dong: str | None = None,
    limit: int = 100,
) -> list[tuple[Alert, str]]:
    return await repositories.work_list(session, viewer, open_only=open_only, dong=dong, limit=limit)


async def acknowledge_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, note: str | None, actor: str | None = None
) -> tuple[Alert, str]:
    """Take the alert off the work list (409 if it already is) and note it on the case."""
    alert = await repositories.get_alert_for_update(session, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.acknowledged_at is not None:
        # In the API's own form (pydantic: UTC as "Z"), so a client can compare the two.
        acknowledged_at = alert.acknowledged_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        raise AlertAlreadyAcknowledged(str(alert.id), acknowledged_at)
    now = utcnow()
    note = note.strip() if note and note.strip() else None
    alert.acknowledged_at = now
    alert.acknowledged_by = actor
    alert.note = note
    session.add(
        CaseTimelineEntry(
            case_id=alert.case_id,
            at=now,
            kind="alert_acknowledged",
            reason=AlertKind(alert.kind).value,
            note=note,
            actor=actor,
        )
    )
    await session.flush()
    case = await get_case(session, alert.case_id)
    return alert, case.dong


# ------------------------------------------------------------------ follow-up outcomes, reopening


async def record_follow_up_outcome(
    session: AsyncSession,
    case: Case,
    follow_up_id: uuid.UUID,
    *,
    outcome: FollowUpOutcome,
    note: str | None,
    reopen: bool,
    actor: str | None,
) -> FollowUp:
    """What the 동 found at a follow-up; a new crisis with ``reopen`` reopens the case in the
    same call (and transaction)."""
    follow_up = await repositories.follow_up_of_case(session, case.id, follow_up_id)
    if follow_up is None:
        raise NotFound(f"follow-up {follow_up_id} not found")
    check_outcome(Stage(case.stage), FollowUpStatus(follow_up.status), outcome, reopen)
    now = utcnow()
    follow_up.status = FollowUpStatus.done.value
    follow_up.outcome = outcome.value
    follow_up.outcome_note = note
    follow_up.outcome_at = now
    follow_up.outcome_by = actor
    session.add(
        CaseTimelineEntry(
            case_id=case.id, at=now, kind="follow_up", reason=outcome.value, note=note, actor=actor
        )
    )
    await session.flush()
    if reopen:
        await reopen_case(session, case, reason=f"follow-up: {outcome.value}", note=note, actor=actor)
    return follow_up


async def reopen_case(
    session: AsyncSession, case: Case, *, reason: str | None, note: str | None, actor: str | None
) -> Case:
    """Back to ② assessment for a new crisis; follow-ups not yet due are cancelled."""
    before = case_state(case)
    after = reopen(before)
    now = utcnow()
    case.stage, case.stage_entered_at = after.stage.value, now
    case.selection = case.selection_reason = case.closure_reason = None
    case.closed_at = None
    await repositories.cancel_open_follow_ups(session, case.id)
    session.add(
        CaseTimelineEntry(
            case_id=case.id,
            at=now,
            kind="reopened",
            from_stage=before.stage.value,
            to_stage=after.stage.value,
            reason=reason,
            note=note,
            actor=actor,
        )
    )
    await session.flush()
    _publish_stage_changed(session, case, before, after, now)
    return case


# ------------------------------------------------------------------ household facts (for reports)


async def record_household(
    session: AsyncSession,
    *,
    household_id: uuid.UUID,
    dong: str,
    household_type: str | None,
    protection_status: str | None,
    member_count: int,
    at: datetime,
) -> None:
    """Keep the latest facts of a household; an older event than what is stored changes nothing."""
    household = await session.get(Household, household_id, with_for_update=True)
    if household is None:
        session.add(
            Household(
                household_id=household_id,
                dong=dong,
                household_type=household_type,
                protection_status=protection_status,
                member_count=member_count,
                updated_at=at,
            )
        )
    elif at >= household.updated_at:
        household.dong, household.household_type = dong, household_type
        household.protection_status, household.member_count = protection_status, member_count
        household.updated_at = at
    await session.flush()
