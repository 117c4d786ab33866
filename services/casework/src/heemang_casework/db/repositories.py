from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db.models import (
    Alert,
    Assessment,
    Case,
    CaseAgency,
    CaseTimelineEntry,
    Conference,
    ConferenceCase,
    FollowUp,
    Goal,
    MonitoringNote,
    PlannedService,
    ServiceDelivery,
)
from heemang_casework.domain.alerts import OPEN_STAGES
from heemang_casework.domain.scope import Action, Role, Viewer, may


def scope_clause(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL twin of domain.scope.can_read: the cases ``viewer`` may read (a table-driven
    test checks that both agree)."""
    if not may(viewer, Action.read):
        return false()
    restricted = true() if viewer.restricted_clearance else Case.restricted.is_(False)
    if viewer.role is Role.partner_agency:
        if viewer.agency_id is None:
            return false()
        assigned = select(CaseAgency.case_id).where(CaseAgency.agency_id == viewer.agency_id)
        return and_(restricted, Case.id.in_(assigned))
    if viewer.district_wide:
        return restricted
    area: ColumnElement[bool] = Case.dong.in_(sorted(viewer.dongs)) if viewer.dongs else false()
    if viewer.role is Role.case_manager:
        area = or_(Case.case_manager_id == viewer.subject, area)
    return and_(restricted, area)


async def case_agency_ids(session: AsyncSession, case_id: uuid.UUID) -> list[str]:
    stmt = select(CaseAgency.agency_id).where(CaseAgency.case_id == case_id).order_by(CaseAgency.agency_id)
    return list((await session.execute(stmt)).scalars())


async def agencies_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        stmt = (
            select(CaseAgency.case_id, CaseAgency.agency_id)
            .where(CaseAgency.case_id.in_(case_ids))
            .order_by(CaseAgency.agency_id)
        )
        for case_id, agency_id in (await session.execute(stmt)).all():
            found[case_id].append(agency_id)
    return found


async def set_agencies(session: AsyncSession, case_id: uuid.UUID, agencies: list[str], at: datetime) -> None:
    await session.execute(delete(CaseAgency).where(CaseAgency.case_id == case_id))
    for agency_id in agencies:
        session.add(CaseAgency(case_id=case_id, agency_id=agency_id, assigned_at=at))


async def get_case(session: AsyncSession, case_id: uuid.UUID) -> Case | None:
    return await session.get(Case, case_id)


async def get_case_for_update(session: AsyncSession, case_id: uuid.UUID) -> Case | None:
    """The case, row-locked until the transaction ends, so two concurrent transitions of one
    case run one after the other (the second sees the first's stage). SQLite ignores the
    lock; its BEGIN IMMEDIATE already serialises writers."""
    stmt = (
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # a copy read earlier must not be trusted
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def case_for_referral(session: AsyncSession, referral_id: uuid.UUID) -> Case | None:
    stmt = select(Case).where(Case.referral_id == referral_id)
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class CaseFilter:
    household_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None
    dong: str | None = None
    stages: tuple[str, ...] = ()
    selection: str | None = None
    case_manager_id: str | None = None
    agency_id: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None


async def list_cases(
    session: AsyncSession,
    viewer: Viewer,
    filters: CaseFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Case]:
    """Cases the viewer may read, matching ``filters``, in (opened_at, id) order after the cursor."""
    stmt = select(Case).where(scope_clause(viewer)).order_by(Case.opened_at, Case.id).limit(limit)
    conditions: list[ColumnElement[bool]] = []
    if filters.household_id is not None:
        conditions.append(Case.household_id == filters.household_id)
    if filters.referral_id is not None:
        conditions.append(Case.referral_id == filters.referral_id)
    if filters.dong is not None:
        conditions.append(Case.dong == filters.dong)
    if filters.stages:
        conditions.append(Case.stage.in_(filters.stages))
    if filters.selection is not None:
        conditions.append(Case.selection == filters.selection)
    if filters.case_manager_id is not None:
        conditions.append(Case.case_manager_id == filters.case_manager_id)
    if filters.agency_id is not None:
        assigned = select(CaseAgency.case_id).where(CaseAgency.agency_id == filters.agency_id)
        conditions.append(Case.id.in_(assigned))
    if filters.opened_from is not None:
        conditions.append(Case.opened_at >= filters.opened_from)
    if filters.opened_to is not None:
        conditions.append(Case.opened_at < filters.opened_to)
    if after is not None:
        conditions.append(tuple_(Case.opened_at, Case.id) > tuple_(after[0], after[1]))
    if conditions:
        stmt = stmt.where(*conditions)
    return list((await session.execute(stmt)).scalars())


async def timeline(session: AsyncSession, case_id: uuid.UUID) -> list[CaseTimelineEntry]:
    stmt = (
        select(CaseTimelineEntry)
        .where(CaseTimelineEntry.case_id == case_id)
        .order_by(CaseTimelineEntry.at, CaseTimelineEntry.id)
    )
    return list((await session.execute(stmt)).scalars())


async def follow_ups(session: AsyncSession, case_id: uuid.UUID) -> list[FollowUp]:
    stmt = select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.due_on)
    return list((await session.execute(stmt)).scalars())


async def follow_up_of_case(
    session: AsyncSession, case_id: uuid.UUID, follow_up_id: uuid.UUID
) -> FollowUp | None:
    stmt = (
        select(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.case_id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def cancel_open_follow_ups(session: AsyncSession, case_id: uuid.UUID) -> None:
    """Follow-ups not yet claimed or done stop when the case is reopened."""
    stmt = (
        update(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.status == "scheduled", FollowUp.claimed_at.is_(None))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def drop_cancelled_follow_ups(session: AsyncSession, case_id: uuid.UUID) -> None:
    """A reopened case closing again gets fresh dates; its cancelled ones (which may fall on the
    same days) go, so the (case, day) uniqueness still guards against doubled closures."""
    await session.execute(delete(FollowUp).where(FollowUp.case_id == case_id, FollowUp.status == "cancelled"))


async def open_case_for_household(session: AsyncSession, household_id: uuid.UUID) -> Case | None:
    """The household's most recently opened case that is still open (follow-up included)."""
    stmt = (
        select(Case)
        .where(Case.household_id == household_id, Case.stage.in_([s.value for s in OPEN_STAGES]))
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def alert_for_event(session: AsyncSession, event_id: uuid.UUID) -> Alert | None:
    stmt = select(Alert).where(Alert.source_event_id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert | None:
    return await session.get(Alert, alert_id)


async def get_alert_for_update(session: AsyncSession, alert_id: uuid.UUID) -> Alert | None:
    """The alert, row-locked so concurrent acknowledgements apply one after the other."""
    stmt = (
        select(Alert)
        .where(Alert.id == alert_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the scope check read it unlocked
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def case_alerts(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[Alert, str]]:
    """A case's alerts with the case's 동, oldest first."""
    stmt = (
        select(Alert, Case.dong)
        .join(Case, Case.id == Alert.case_id)
        .where(Alert.case_id == case_id)
        .order_by(Alert.raised_at, Alert.id)
    )
    return [(alert, dong) for alert, dong in (await session.execute(stmt)).all()]


async def work_list(
    session: AsyncSession, viewer: Viewer, *, open_only: bool, dong: str | None, limit: int
) -> list[tuple[Alert, str]]:
    """Alerts with their case's 동: urgent first, then oldest first. ``open_only`` keeps the
    unacknowledged ones; otherwise the acknowledged ones."""
    stmt = (
        select(Alert, Case.dong)
        .join(Case, Case.id == Alert.case_id)
        .where(scope_clause(viewer))
        .order_by(Alert.urgent.desc(), Alert.raised_at, Alert.id)
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    else:
        stmt = stmt.where(Alert.acknowledged_at.is_not(None))
    if dong is not None:
        stmt = stmt.where(Case.dong == dong)
    return [(alert, dong_) for alert, dong_ in (await session.execute(stmt)).all()]


# ------------------------------------------------------------------ assessments, plan, delivery


async def assessments(session: AsyncSession, case_id: uuid.UUID) -> list[Assessment]:
    stmt = (
        select(Assessment)
        .where(Assessment.case_id == case_id)
        .order_by(Assessment.assessed_at, Assessment.id)
    )
    return list((await session.execute(stmt)).scalars())


async def goals(session: AsyncSession, case_id: uuid.UUID) -> list[Goal]:
    stmt = select(Goal).where(Goal.case_id == case_id).order_by(Goal.created_at, Goal.id)
    return list((await session.execute(stmt)).scalars())


async def goal_of_case(session: AsyncSession, case_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
    stmt = select(Goal).where(Goal.id == goal_id, Goal.case_id == case_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def planned_services(session: AsyncSession, case_id: uuid.UUID) -> list[PlannedService]:
    stmt = (
        select(PlannedService)
        .where(PlannedService.case_id == case_id)
        .order_by(PlannedService.created_at, PlannedService.id)
    )
    return list((await session.execute(stmt)).scalars())


async def planned_service(
    session: AsyncSession, service_id: uuid.UUID, *, for_update: bool = False
) -> PlannedService | None:
    stmt = select(PlannedService).where(PlannedService.id == service_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def planned_service_of_case(
    session: AsyncSession, case_id: uuid.UUID, service_id: uuid.UUID, *, for_update: bool = False
) -> PlannedService | None:
    service = await planned_service(session, service_id, for_update=for_update)
    return service if service is not None and service.case_id == case_id else None


async def delivery_for_event(session: AsyncSession, event_id: uuid.UUID) -> ServiceDelivery | None:
    stmt = select(ServiceDelivery).where(ServiceDelivery.source_event_id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def deliveries(session: AsyncSession, case_id: uuid.UUID) -> list[ServiceDelivery]:
    stmt = (
        select(ServiceDelivery)
        .where(ServiceDelivery.case_id == case_id)
        .order_by(ServiceDelivery.delivered_on, ServiceDelivery.recorded_at, ServiceDelivery.id)
    )
    return list((await session.execute(stmt)).scalars())


async def monitoring_notes(session: AsyncSession, case_id: uuid.UUID) -> list[MonitoringNote]:
    stmt = (
        select(MonitoringNote)
        .where(MonitoringNote.case_id == case_id)
        .order_by(MonitoringNote.at, MonitoringNote.id)
    )
    return list((await session.execute(stmt)).scalars())


# ------------------------------------------------------------------ conferences


async def conference_decisions(
    session: AsyncSession, viewer: Viewer, conference_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[ConferenceCase, Case]]]:
    """The decisions of each conference on the cases ``viewer`` may read (others are left out)."""
    found: dict[uuid.UUID, list[tuple[ConferenceCase, Case]]] = {cid: [] for cid in conference_ids}
    if not conference_ids:
        return found
    stmt = (
        select(ConferenceCase, Case)
        .join(Case, Case.id == ConferenceCase.case_id)
        .where(ConferenceCase.conference_id.in_(conference_ids), scope_clause(viewer))
        .order_by(ConferenceCase.conference_id, Case.opened_at, Case.id)
    )
    for decision, case in (await session.execute(stmt)).all():
        found[decision.conference_id].append((decision, case))
    return found


async def conference_case_count(session: AsyncSession, conference_id: uuid.UUID) -> int:
    stmt = (
        select(func.count()).select_from(ConferenceCase).where(ConferenceCase.conference_id == conference_id)
    )
    return int(await session.scalar(stmt) or 0)


async def list_conferences(
    session: AsyncSession,
    viewer: Viewer,
    *,
    kind: str | None,
    held_from: date | None,
    held_to: date | None,
    case_id: uuid.UUID | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Conference]:
    """Conferences that discussed at least one case the viewer may read, by (held_on, id)."""
    visible = (
        select(ConferenceCase.conference_id)
        .join(Case, Case.id == ConferenceCase.case_id)
        .where(scope_clause(viewer))
    )
    if case_id is not None:
        visible = visible.where(ConferenceCase.case_id == case_id)
    stmt = (
        select(Conference)
        .where(Conference.id.in_(visible))
        .order_by(Conference.held_on, Conference.id)
        .limit(limit)
    )
    if kind is not None:
        stmt = stmt.where(Conference.kind == kind)
    if held_from is not None:
        stmt = stmt.where(Conference.held_on >= held_from)
    if held_to is not None:
        stmt = stmt.where(Conference.held_on < held_to)
    if after is not None:
        stmt = stmt.where(tuple_(Conference.held_on, Conference.id) > tuple_(after[0], after[1]))
    return list((await session.execute(stmt)).scalars())


# ------------------------------------------------------------------ the work list


async def overdue_monitoring(
    session: AsyncSession, viewer: Viewer, *, before: datetime, mine: bool, limit: int
) -> list[Case]:
    """Cases in ⑥ delivery not monitored since ``before`` (or never since entering delivery)."""
    last = func.coalesce(Case.last_monitored_at, Case.stage_entered_at, Case.opened_at)
    stmt = (
        select(Case)
        .where(scope_clause(viewer), Case.stage == "delivery", last < before)
        .order_by(last, Case.id)
        .limit(limit)
    )
    if mine:
        stmt = stmt.where(Case.case_manager_id == viewer.subject)
    return list((await session.execute(stmt)).scalars())


async def due_follow_ups(
    session: AsyncSession, viewer: Viewer, *, mine: bool, limit: int
) -> list[tuple[FollowUp, Case]]:
    """Follow-ups the scheduler announced (``due``) whose outcome is not recorded yet."""
    stmt = (
        select(FollowUp, Case)
        .join(Case, Case.id == FollowUp.case_id)
        .where(scope_clause(viewer), FollowUp.status == "due")
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(limit)
    )
    if mine:
        stmt = stmt.where(Case.case_manager_id == viewer.subject)
    return [(follow_up, case) for follow_up, case in (await session.execute(stmt)).all()]
