"""Behind the stages of a case: ② needs assessment, ⑤ service plan, ⑥ delivery and monitoring."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from heemang_casework import access, planning
from heemang_casework.api.schemas import (
    AssessmentCreate,
    AssessmentPage,
    AssessmentRead,
    DeliveryCreate,
    DeliveryPage,
    DeliveryRead,
    GoalCreate,
    GoalRead,
    MonitoringCreate,
    MonitoringPage,
    MonitoringRead,
    PlannedServiceCreate,
    PlannedServiceRead,
    PlanRead,
)
from heemang_casework.db import repositories
from heemang_casework.domain.assessment import Need
from heemang_casework.domain.scope import Action, Role
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.events.envelope import utcnow

router = APIRouter(prefix="/cases/{case_id}", tags=["plans"])

WRITE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case, or not within your scope"},
    403: {"description": "Your role may not do this"},
    422: {"description": "Invalid input, or not possible at the case's stage"},
}
READ: dict[int | str, dict[str, Any]] = {404: WRITE[404]}


@router.post(
    "/assessments",
    response_model=AssessmentRead,
    status_code=201,
    responses=WRITE,
    summary="욕구조사 — record a needs and crisis assessment",
)
async def create_assessment(
    case_id: uuid.UUID, body: AssessmentCreate, session: SessionDep, principal: PrincipalDep
) -> AssessmentRead:
    """Needs per domain with urgency and importance; the crisis level is derived from them."""
    case = await access.case_for(session, principal, case_id, Action.assess, for_update=True)
    needs = [Need(n.domain, n.urgency, n.importance, n.description) for n in body.needs]
    row = await planning.assess(session, case, needs, note=body.note, actor=principal.subject)
    return AssessmentRead.model_validate(row)


@router.get(
    "/assessments", response_model=AssessmentPage, responses=READ, summary="욕구조사 이력 — assessments"
)
async def list_assessments(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> AssessmentPage:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_assessment")
    rows = await repositories.assessments(session, case.id)
    return AssessmentPage(items=[AssessmentRead.model_validate(r) for r in rows])


@router.post(
    "/plan/goals", response_model=GoalRead, status_code=201, responses=WRITE, summary="목표 설정 — add a goal"
)
async def create_goal(
    case_id: uuid.UUID, body: GoalCreate, session: SessionDep, principal: PrincipalDep
) -> GoalRead:
    case = await access.case_for(session, principal, case_id, Action.plan, for_update=True)
    goal = await planning.add_goal(
        session, case, term=body.term, title=body.title, target_date=body.target_date, actor=principal.subject
    )
    return GoalRead.model_validate(goal)


@router.post(
    "/plan/services",
    response_model=PlannedServiceRead,
    status_code=201,
    responses=WRITE,
    summary="서비스 계획 — plan a service (cash and in kind are requested from resources)",
)
async def create_planned_service(
    case_id: uuid.UUID, body: PlannedServiceCreate, session: SessionDep, principal: PrincipalDep
) -> PlannedServiceRead:
    """A cash or in-kind service with `request` true emits `service.requested`; resources'
    answer (approved / rejected) shows in the plan."""
    case = await access.case_for(session, principal, case_id, Action.plan, for_update=True)
    spec = planning.ServiceSpec(
        goal_id=body.goal_id,
        kind=body.kind,
        domain=body.domain.value,
        service_code=body.service_code,
        provider=body.provider,
        amount=body.amount,
        quantity=body.quantity,
        fund=body.fund,
        request=body.request,
    )
    return PlannedServiceRead.model_validate(
        await planning.add_service(session, case, spec, actor=principal.subject)
    )


@router.post(
    "/plan/services/{service_id}/request",
    response_model=PlannedServiceRead,
    responses=WRITE,
    summary="서비스 신청 — request a planned cash or in-kind service from resources",
)
async def request_planned_service(
    case_id: uuid.UUID, service_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> PlannedServiceRead:
    case = await access.case_for(session, principal, case_id, Action.plan, for_update=True)
    service = await planning.request_service(session, case, service_id, actor=principal.subject)
    return PlannedServiceRead.model_validate(service)


@router.get("/plan", response_model=PlanRead, responses=READ, summary="서비스제공계획 — the service plan")
async def read_plan(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> PlanRead:
    """Goals with their planned services and resources' answers."""
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_plan")
    services = [
        PlannedServiceRead.model_validate(s) for s in await repositories.planned_services(session, case.id)
    ]
    goals = []
    for goal in await repositories.goals(session, case.id):
        read = GoalRead.model_validate(goal)
        goals.append(read.model_copy(update={"services": [s for s in services if s.goal_id == goal.id]}))
    return PlanRead(case_id=case.id, goals=goals, other_services=[s for s in services if s.goal_id is None])


@router.post(
    "/deliveries",
    response_model=DeliveryRead,
    status_code=201,
    responses=WRITE,
    summary="서비스 제공 — record a service delivered",
)
async def create_delivery(
    case_id: uuid.UUID, body: DeliveryCreate, session: SessionDep, principal: PrincipalDep
) -> DeliveryRead:
    """Intangible services and partners' own services; cash and in kind arrive from resources."""
    case = await access.case_for(session, principal, case_id, Action.deliver, for_update=True)
    spec = planning.DeliverySpec(
        planned_service_id=body.planned_service_id,
        kind=body.kind,
        domain=body.domain.value if body.domain else None,
        provider=body.provider,
        amount=body.amount,
        quantity=body.quantity,
        delivered_on=body.delivered_on,
        note=body.note,
    )
    return DeliveryRead.model_validate(
        await planning.record_delivery(session, case, spec, actor=principal.subject)
    )


@router.get(
    "/deliveries", response_model=DeliveryPage, responses=READ, summary="서비스 제공 실적 — deliveries"
)
async def list_deliveries(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> DeliveryPage:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_deliveries")
    return DeliveryPage(
        items=[DeliveryRead.model_validate(d) for d in await repositories.deliveries(session, case.id)]
    )


@router.post(
    "/monitoring",
    response_model=MonitoringRead,
    status_code=201,
    responses=WRITE,
    summary="점검 — record a monitoring contact and goal progress",
)
async def create_monitoring(
    case_id: uuid.UUID, body: MonitoringCreate, session: SessionDep, principal: PrincipalDep
) -> MonitoringRead:
    case = await access.case_for(session, principal, case_id, Action.monitor, for_update=True)
    row = await planning.record_monitoring(
        session,
        case,
        method=body.method,
        at=body.at or utcnow(),
        note=body.note,
        progress={p.goal_id: p.progress for p in body.progress},
        actor=principal.subject,
    )
    return MonitoringRead.model_validate(row)


@router.get(
    "/monitoring", response_model=MonitoringPage, responses=READ, summary="점검 이력 — monitoring notes"
)
async def list_monitoring(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> MonitoringPage:
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_monitoring")
    items = [MonitoringRead.model_validate(n) for n in await repositories.monitoring_notes(session, case.id)]
    if principal.role == Role.partner_agency:
        # Partners see that monitoring happened, not other people's notes about the household.
        items = [
            i if i.recorded_by == principal.subject else i.model_copy(update={"note": None}) for i in items
        ]
    return MonitoringPage(items=items)
