"""Use cases behind the stages: needs assessment, conferences, the service plan, deliveries,
monitoring, and resources' answers. They only flush: the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import repositories
from heemang_casework.db.models import (
    Assessment,
    Case,
    CaseTimelineEntry,
    Conference,
    ConferenceCase,
    Goal,
    MonitoringNote,
    PlannedService,
    ServiceDelivery,
)
from heemang_casework.domain import assessment as needs_rules
from heemang_casework.domain import conference as conference_rules
from heemang_casework.domain import plan as plan_rules
from heemang_casework.domain.assessment import Need
from heemang_casework.domain.conference import ConferenceKind, Decision, Participant
from heemang_casework.domain.errors import InvalidPlan
from heemang_casework.domain.followup import local_date
from heemang_casework.domain.plan import GoalTerm, MonitoringMethod, ServiceKind, ServiceStatus
from heemang_casework.domain.stages import Stage
from heemang_casework.events.publish import publish
from heemang_common.errors import NotFound
from heemang_common.events.casework import (
    ConferenceCaseDecision,
    ConferenceHeld,
    ConferenceHeldData,
    ServiceRequested,
    ServiceRequestedData,
)
from heemang_common.events.envelope import utcnow
from heemang_common.events.resources import (
    AllocationApprovedData,
    AllocationRejectedData,
    DistributionDeliveredData,
)


def _timeline(
    session: AsyncSession, case_id: uuid.UUID, kind: str, actor: str | None, **fields: str | None
) -> None:
    session.add(CaseTimelineEntry(case_id=case_id, at=utcnow(), kind=kind, actor=actor, **fields))


# ------------------------------------------------------------------ ② needs and crisis assessment


async def assess(
    session: AsyncSession, case: Case, needs: list[Need], *, note: str | None, actor: str | None
) -> Assessment:
    needs_rules.validate(Stage(case.stage), needs)
    level = needs_rules.crisis_level(needs)
    row = Assessment(
        id=uuid.uuid4(),
        case_id=case.id,
        assessed_at=utcnow(),
        assessed_by=actor,
        needs=[
            {
                "domain": n.domain.value,
                "urgency": n.urgency.value,
                "importance": n.importance.value,
                "priority": n.priority,
                "description": n.description,
            }
            for n in needs_rules.prioritised(needs)
        ],
        crisis_level=level.value,
        note=note,
    )
    session.add(row)
    case.crisis_level = level.value
    _timeline(session, case.id, "assessed", actor, reason=f"crisis level {level.value}")
    await session.flush()
    return row


# ------------------------------------------------------------------ ④ case conferences


@dataclass(frozen=True)
class CaseDecision:
    case: Case
    decision: Decision
    note: str | None = None


async def record_conference(
    session: AsyncSession,
    *,
    kind: ConferenceKind,
    held_on: date,
    title: str,
    participants: list[Participant],
    minutes: str | None,
    decisions: Sequence[CaseDecision],
    actor: str | None,
) -> Conference:
    conference_rules.validate(kind, participants, len(decisions))
    conference = Conference(
        id=uuid.uuid4(),
        kind=kind.value,
        held_on=held_on,
        title=title,
        participants=[
            {"name": p.name, "affiliation": p.affiliation, "agency_id": p.agency_id} for p in participants
        ],
        minutes=minutes,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(conference)
    await session.flush()
    for item in decisions:
        session.add(
            ConferenceCase(
                conference_id=conference.id,
                case_id=item.case.id,
                decision=item.decision.value,
                note=item.note,
            )
        )
        _timeline(session, item.case.id, "conference", actor, reason=f"{kind.value}: {item.decision.value}")
    await session.flush()
    data = ConferenceHeldData(
        conference_id=conference.id,
        kind=kind.value,
        held_on=held_on,
        agencies=sorted({p.agency_id for p in participants if p.agency_id}),
        decisions=[
            ConferenceCaseDecision(
                case_id=i.case.id, household_id=i.case.household_id, decision=i.decision.value
            )
            for i in decisions
        ],
        recorded_at=conference.recorded_at,
    )
    publish(session, ConferenceHeld.create(subject=conference.id, data=data))
    return conference


# ------------------------------------------------------------------ ⑤ service plan


async def add_goal(
    session: AsyncSession, case: Case, *, term: GoalTerm, title: str, target_date: date, actor: str | None
) -> Goal:
    plan_rules.check_can_plan(Stage(case.stage))
    goal = Goal(
        id=uuid.uuid4(),
        case_id=case.id,
        term=term.value,
        title=title,
        target_date=target_date,
        progress=0,
        status="open",
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(goal)
    _timeline(session, case.id, "goal_added", actor, reason=f"{term.value} goal, target {target_date}")
    await session.flush()
    return goal


@dataclass(frozen=True)
class ServiceSpec:
    goal_id: uuid.UUID | None
    kind: ServiceKind
    domain: str
    service_code: str
    provider: str
    amount: int | None
    quantity: int | None
    fund: str | None
    request: bool


async def add_service(
    session: AsyncSession, case: Case, spec: ServiceSpec, *, actor: str | None
) -> PlannedService:
    plan_rules.check_can_plan(Stage(case.stage))
    plan_rules.check_service(spec.kind, spec.amount, spec.quantity)
    if spec.goal_id is not None and await repositories.goal_of_case(session, case.id, spec.goal_id) is None:
        raise InvalidPlan("the goal is not one of this case's goals", field="goal_id")
    now = utcnow()
    service = PlannedService(
        id=uuid.uuid4(),
        case_id=case.id,
        goal_id=spec.goal_id,
        kind=spec.kind.value,
        domain=spec.domain,
        service_code=spec.service_code,
        provider=spec.provider,
        amount=spec.amount,
        quantity=spec.quantity,
        fund=spec.fund,
        status=ServiceStatus.planned.value,
        created_at=now,
        created_by=actor,
    )
    session.add(service)
    _timeline(
        session,
        case.id,
        "service_planned",
        actor,
        reason=f"{spec.kind.value} {spec.domain} by {spec.provider}",
    )
    await session.flush()
    if spec.request and plan_rules.needs_allocation(spec.kind):
        _request(session, case, service, actor)
    return service


async def request_service(
    session: AsyncSession, case: Case, service_id: uuid.UUID, *, actor: str | None
) -> PlannedService:
    service = await repositories.planned_service_of_case(session, case.id, service_id, for_update=True)
    if service is None:
        raise NotFound(f"planned service {service_id} not found")
    if not plan_rules.can_request(ServiceKind(service.kind), ServiceStatus(service.status)):
        raise InvalidPlan(
            f"a {service.kind} service in status {service.status!r} cannot be requested", field="status"
        )
    plan_rules.check_can_plan(Stage(case.stage))
    _request(session, case, service, actor)
    await session.flush()
    return service


def _request(session: AsyncSession, case: Case, service: PlannedService, actor: str | None) -> None:
    """Ask resources for the allocation: ``service.requested`` in this transaction."""
    now = utcnow()
    service.status = ServiceStatus.requested.value
    service.requested_at = now
    assert service.amount is not None  # check_service made sure for cash and in kind
    data = ServiceRequestedData(
        request_id=service.id,
        case_id=case.id,
        household_id=case.household_id,
        dong=case.dong,
        domain=service.domain,
        kind=service.kind,
        service_code=service.service_code,
        provider=service.provider,
        amount=service.amount,
        quantity=service.quantity,
        fund=service.fund,
        requested_at=now,
    )
    publish(session, ServiceRequested.create(subject=case.id, data=data))
    _timeline(session, case.id, "service_requested", actor, reason=f"{service.kind} {service.amount} KRW")


# ------------------------------------------------------------------ resources' answers


async def allocation_approved(session: AsyncSession, data: AllocationApprovedData) -> PlannedService | None:
    service = await repositories.planned_service(session, data.request_id, for_update=True)
    if service is None or plan_rules.answer(ServiceStatus(service.status), ServiceStatus.approved) is None:
        return None  # not ours, or already answered: the first answer stands
    service.status = ServiceStatus.approved.value
    service.allocation_id = data.allocation_id
    service.approved_amount = data.amount
    service.fund = data.fund
    service.answered_at = data.approved_at
    _timeline(session, service.case_id, "service_answered", None, reason=f"approved {data.amount} KRW")
    await session.flush()
    return service


async def allocation_rejected(session: AsyncSession, data: AllocationRejectedData) -> PlannedService | None:
    service = await repositories.planned_service(session, data.request_id, for_update=True)
    if service is None or plan_rules.answer(ServiceStatus(service.status), ServiceStatus.rejected) is None:
        return None
    service.status = ServiceStatus.rejected.value
    service.rejection_reason = data.reason
    service.rejection_detail = data.detail[:500]
    service.answered_at = data.rejected_at
    _timeline(session, service.case_id, "service_answered", None, reason=f"rejected: {data.reason}")
    await session.flush()
    return service


async def distribution_delivered(
    session: AsyncSession, event_id: uuid.UUID, data: DistributionDeliveredData
) -> ServiceDelivery | None:
    """A delivery of a planned service, once per event (the inbox, then a unique event id)."""
    if data.request_id is None or await repositories.delivery_for_event(session, event_id) is not None:
        return None
    service = await repositories.planned_service(session, data.request_id, for_update=True)
    if service is None or plan_rules.answer(ServiceStatus(service.status), ServiceStatus.delivered) is None:
        return None
    case = await repositories.get_case(session, service.case_id)
    assert case is not None  # planned services belong to cases (foreign key)
    service.status = ServiceStatus.delivered.value
    delivery = ServiceDelivery(
        id=uuid.uuid4(),
        case_id=case.id,
        household_id=case.household_id,
        planned_service_id=service.id,
        kind=service.kind,
        domain=service.domain,
        provider=service.provider,
        amount=data.amount,
        quantity=service.quantity,
        delivered_on=local_date(data.delivered_at),
        source="resources",
        source_event_id=event_id,
        recorded_at=utcnow(),
    )
    session.add(delivery)
    _timeline(session, case.id, "service_delivered", None, reason=f"{service.kind} {data.amount} KRW")
    await session.flush()
    return delivery


# ------------------------------------------------------------------ ⑥ delivery and monitoring


@dataclass(frozen=True)
class DeliverySpec:
    planned_service_id: uuid.UUID | None
    kind: ServiceKind | None
    domain: str | None
    provider: str | None
    amount: int
    quantity: int | None
    delivered_on: date
    note: str | None


async def record_delivery(
    session: AsyncSession, case: Case, spec: DeliverySpec, *, actor: str | None
) -> ServiceDelivery:
    """A service delivered, recorded by hand (intangible services, partners' own services)."""
    plan_rules.check_can_deliver(Stage(case.stage))
    planned = None
    if spec.planned_service_id is not None:
        planned = await repositories.planned_service_of_case(
            session, case.id, spec.planned_service_id, for_update=True
        )
        if planned is None:
            raise InvalidPlan("the planned service is not one of this case's", field="planned_service_id")
        if plan_rules.needs_allocation(ServiceKind(planned.kind)):
            raise InvalidPlan(
                "cash and in-kind services are recorded when resources delivers them",
                field="planned_service_id",
            )
        planned.status = ServiceStatus.delivered.value
    kind = spec.kind or (ServiceKind(planned.kind) if planned else None)
    domain = spec.domain or (planned.domain if planned else None)
    provider = spec.provider or (planned.provider if planned else None)
    if kind is None or domain is None or provider is None:
        raise InvalidPlan("a delivery names its kind, domain and provider (or its planned service)")
    delivery = ServiceDelivery(
        id=uuid.uuid4(),
        case_id=case.id,
        household_id=case.household_id,
        planned_service_id=planned.id if planned else None,
        kind=kind.value,
        domain=domain,
        provider=provider,
        amount=spec.amount,
        quantity=spec.quantity,
        delivered_on=spec.delivered_on,
        source="manual",
        note=spec.note,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(delivery)
    _timeline(session, case.id, "service_delivered", actor, reason=f"{kind.value} {domain} by {provider}")
    await session.flush()
    return delivery


async def record_monitoring(
    session: AsyncSession,
    case: Case,
    *,
    method: MonitoringMethod,
    at: datetime,
    note: str,
    progress: dict[uuid.UUID, int],
    actor: str | None,
) -> MonitoringNote:
    plan_rules.check_can_deliver(Stage(case.stage))
    goals = {g.id: g for g in await repositories.goals(session, case.id)}
    unknown = set(progress) - set(goals)
    if unknown:
        raise InvalidPlan("progress is reported for goals of this case only", field="progress")
    for goal_id, value in progress.items():
        goals[goal_id].progress = value
        goals[goal_id].status = plan_rules.goal_status(value)
    row = MonitoringNote(
        id=uuid.uuid4(),
        case_id=case.id,
        method=method.value,
        at=at,
        note=note,
        progress=[{"goal_id": str(g), "progress": v} for g, v in progress.items()],
        recorded_by=actor,
    )
    session.add(row)
    if case.last_monitored_at is None or at > case.last_monitored_at:
        case.last_monitored_at = at
    _timeline(session, case.id, "monitoring", actor, reason=method.value)
    await session.flush()
    return row
