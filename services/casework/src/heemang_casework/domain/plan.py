"""Service plan (서비스제공계획), delivery and monitoring rules, pure.

- Goals are long-term (장기목표) or short-term (단기목표), each with a target date; a goal's
  progress is 0–100 % and it is ``achieved`` at 100.
- A planned service has a kind — cash 현금, in kind 현물 (valued, 환가) or intangible 무형
  (guidance, accompaniment, counselling) — a domain, a provider agency and an amount (KRW)
  and/or a quantity. Cash and in-kind services need an amount: resources allocates money.
- Cash and in-kind services are **requested** from resources (``service.requested``) and its
  answer moves them: requested → approved | rejected; approved → delivered (every
  ``distribution.delivered``). Intangible services are delivered without asking anyone.
  An answer that does not fit the current status (a late duplicate, approved after rejected)
  changes nothing: the first answer stands.
- Planning happens while the case is in ⑤ planning or ⑥ delivery (re-planning after
  monitoring); a service-linkage case, which has no planning stage, plans its linked
  services in ⑥ delivery. Deliveries and monitoring notes are recorded in ⑥ delivery.
- Monitoring (점검) is periodic: a case in ⑥ delivery whose last monitoring note (or its
  entry into delivery) is older than the interval (default 30 days) is overdue and shows up
  in its case manager's work list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from heemang_casework.domain.errors import InvalidPlan
from heemang_casework.domain.stages import Stage


class GoalTerm(StrEnum):
    long = "long"  # 장기목표
    short = "short"  # 단기목표


class ServiceKind(StrEnum):
    cash = "cash"  # 현금
    in_kind = "in_kind"  # 현물
    intangible = "intangible"  # 무형


class ServiceStatus(StrEnum):
    planned = "planned"  # intangible, or cash/in kind not asked for yet
    requested = "requested"  # service.requested sent; waiting for resources
    approved = "approved"
    rejected = "rejected"
    delivered = "delivered"


class MonitoringMethod(StrEnum):
    visit = "visit"  # 방문
    phone = "phone"  # 전화
    agency = "agency"  # 기관 실무자


PLANNING_STAGES = frozenset({Stage.planning, Stage.delivery})
DELIVERY_STAGES = frozenset({Stage.delivery})
DEFAULT_MONITORING_INTERVAL = timedelta(days=30)

#: Which answer may move a service from which status.
_ANSWERS: dict[ServiceStatus, frozenset[ServiceStatus]] = {
    ServiceStatus.approved: frozenset({ServiceStatus.requested}),
    ServiceStatus.rejected: frozenset({ServiceStatus.requested}),
    ServiceStatus.delivered: frozenset({ServiceStatus.approved, ServiceStatus.delivered}),
}


def needs_allocation(kind: ServiceKind) -> bool:
    return kind is not ServiceKind.intangible


def check_can_plan(stage: Stage) -> None:
    if stage not in PLANNING_STAGES:
        raise InvalidPlan(
            f"services are planned in the planning or delivery stage, not {stage.value!r}", field="stage"
        )


def check_can_deliver(stage: Stage) -> None:
    if stage not in DELIVERY_STAGES:
        raise InvalidPlan(
            f"deliveries and monitoring are recorded in the delivery stage, not {stage.value!r}",
            field="stage",
        )


def check_service(kind: ServiceKind, amount: int | None, quantity: int | None) -> None:
    if needs_allocation(kind) and amount is None:
        raise InvalidPlan("a cash or in-kind service needs an amount (KRW)", field="amount")
    if (amount is not None and amount < 0) or (quantity is not None and quantity < 0):
        raise InvalidPlan("amounts and quantities are not negative", field="amount")


def initial_status(kind: ServiceKind, request: bool) -> ServiceStatus:
    return ServiceStatus.requested if request and needs_allocation(kind) else ServiceStatus.planned


def can_request(kind: ServiceKind, status: ServiceStatus) -> bool:
    return needs_allocation(kind) and status is ServiceStatus.planned


def answer(status: ServiceStatus, to: ServiceStatus) -> ServiceStatus | None:
    """The status after resources' answer ``to``, or None when the answer does not apply."""
    return to if status in _ANSWERS.get(to, frozenset()) else None


def goal_status(progress: int) -> str:
    return "achieved" if progress >= 100 else "open"


def monitoring_due(last: datetime, interval: timedelta = DEFAULT_MONITORING_INTERVAL) -> datetime:
    return last + interval


def is_monitoring_overdue(
    stage: Stage, last: datetime, now: datetime, interval: timedelta = DEFAULT_MONITORING_INTERVAL
) -> bool:
    return stage is Stage.delivery and monitoring_due(last, interval) < now
