from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from heemang_casework.domain.alerts import AlertKind
from heemang_casework.domain.assessment import CrisisLevel, Domain, Level
from heemang_casework.domain.closure import ClosureCategory, ClosureReason
from heemang_casework.domain.conference import ConferenceKind, Decision
from heemang_casework.domain.plan import GoalTerm, MonitoringMethod, ServiceKind, ServiceStatus
from heemang_casework.domain.stages import Selection, Stage
from heemang_common.types import IsoAwareDateTime, IsoDate, IsoDateTime, StrictBool


def _no_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)


class RequestBody(BaseModel):
    """Base of every request body: unknown fields refused, and no NUL characters in text (the
    database cannot store them; refusing them is a 422, not a 500)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _text_is_storable(self) -> RequestBody:
        for name in type(self).model_fields:
            _no_nul(getattr(self, name))
        return self


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    referral_id: uuid.UUID | None
    dong: str
    stage: Stage
    opened_at: IsoDateTime
    selection: Selection | None = None
    selection_reason: str | None = None
    closure_reason: ClosureReason | None = None
    closure_category: ClosureCategory | None = None
    closed_at: IsoDateTime | None = None
    #: Stages the case may move to next (POST /cases/{id}/transitions).
    allowed_next: list[Stage] = []
    case_manager_id: str | None = Field(None, description="Gateway user id of the main case manager")
    agencies: list[str] = Field([], description="Partner agencies assigned to the case")
    restricted: StrictBool = Field(False, description="Restricted (domestic violence): needs the clearance")


class CasePage(BaseModel):
    items: list[CaseRead]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null at the end")


_AGENCY = r"^[0-9A-Za-z_.:-]{1,100}$"
#: User ids and agency codes in query parameters.
CODE_PATTERN = _AGENCY
DONG_PATTERN = r"^[0-9A-Za-z_-]{1,20}$"


class AssignmentUpdate(RequestBody):
    """The whole assignment of a case (PUT replaces it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"case_manager_id": "u-2048", "dong": "sinsa", "agencies": ["gangnam-welfare-centre"]}
            ]
        },
    )

    case_manager_id: str | None = Field(
        None, min_length=1, max_length=100, description="Gateway user id of the main case manager"
    )
    dong: str = Field(pattern=DONG_PATTERN, description="Code of the 동 responsible for the case")
    agencies: list[str] = Field(
        [], max_length=20, description="Codes of the partner agencies assigned (유관기관)"
    )
    restricted: StrictBool = Field(False, description="Restricted case (domestic violence)")

    @field_validator("agencies")
    @classmethod
    def _agency_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(_AGENCY, code):
                raise ValueError(f"not an agency code: {code!r}")
        return value


class TransitionCreate(RequestBody):
    """Move a case to another stage."""

    model_config = ConfigDict(extra="forbid")

    to: Stage
    selection: Selection | None = Field(
        None, description="Required when leaving selection: it decides where the case goes."
    )
    closure_reason: ClosureReason | None = Field(
        None, description="Required when closing (종결) from conference, planning or delivery."
    )
    reason: str | None = Field(None, max_length=500, description="Why; required for not_selected (미선정).")
    note: str | None = Field(None, max_length=4000)


class TimelineEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: IsoDateTime
    kind: str
    from_stage: Stage | None
    to_stage: Stage | None
    reason: str | None
    note: str | None
    actor: str | None


class TimelinePage(BaseModel):
    items: list[TimelineEntryRead]


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    #: The case's 동 (the work list is per 동).
    dong: str
    kind: AlertKind
    urgent: StrictBool
    #: programme, reason, consecutive_misses, enrolment_id, detected_at, history.
    details: dict[str, Any]
    raised_at: IsoDateTime
    acknowledged_at: IsoDateTime | None
    acknowledged_by: str | None
    note: str | None


class AlertPage(BaseModel):
    items: list[AlertRead]


class AlertAcknowledge(RequestBody):
    """Take an alert off the work list."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=4000, description="What was done (call, visit …).")


# ------------------------------------------------------------------ ② needs assessment

_CODE = r"^[0-9A-Za-z_.:-]{1,100}$"


class NeedIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    domain: Domain = Field(description="Need domain: economic 경제, housing 주거, health 건강, …")
    urgency: Level = Field(description="Urgency 시급성")
    importance: Level = Field(description="Importance 중요도")
    description: str = Field("", max_length=1000, description="The need, in the caseworker's words")


class AssessmentCreate(RequestBody):
    """A needs and crisis assessment (욕구조사): one entry per domain assessed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "needs": [
                        {
                            "domain": "housing",
                            "urgency": "high",
                            "importance": "high",
                            "description": "체납 월세",
                        },
                        {"domain": "health", "urgency": "medium", "importance": "high"},
                    ],
                    "note": "가정방문 상담",
                }
            ]
        },
    )

    needs: list[NeedIn] = Field(min_length=1, max_length=8)
    note: str | None = Field(None, max_length=4000)


class NeedRead(BaseModel):
    domain: Domain
    urgency: Level
    importance: Level
    priority: int = Field(description="urgency × importance on a 1–3 scale (1–9); plan order")
    description: str


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    assessed_at: IsoDateTime
    assessed_by: str | None
    needs: list[NeedRead] = Field(description="Highest priority first")
    crisis_level: CrisisLevel = Field(description="Derived from the most pressing need")
    note: str | None


class AssessmentPage(BaseModel):
    items: list[AssessmentRead]


# ------------------------------------------------------------------ ⑤ service plan


class GoalCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"term": "short", "title": "월세 체납 해소", "target_date": "2026-12-31"}]
        },
    )

    term: GoalTerm = Field(description="long 장기목표 or short 단기목표")
    title: str = Field(min_length=1, max_length=500)
    target_date: IsoDate


class PlannedServiceCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "cash",
                    "domain": "economic",
                    "service_code": "emergency.living",
                    "provider": "district",
                    "amount": 802000,
                }
            ]
        },
    )

    goal_id: uuid.UUID | None = Field(None, description="The goal it serves (service linkage: none)")
    kind: ServiceKind = Field(description="cash 현금, in_kind 현물 (valued), intangible 무형")
    domain: Domain
    service_code: str = Field(pattern=_CODE, description="Catalogue or support code")
    provider: str = Field(min_length=1, max_length=100, description="Provider agency code or name")
    amount: int | None = Field(
        None, ge=0, le=10_000_000_000, description="KRW; required for cash and in kind"
    )
    quantity: int | None = Field(None, ge=0, le=1_000_000, description="Units (hours, days, meals…)")
    fund: str | None = Field(None, pattern=_CODE, description="Account or budget line, if chosen")
    request: StrictBool = Field(True, description="Cash/in kind: ask resources now (service.requested)")


class PlannedServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    goal_id: uuid.UUID | None
    kind: ServiceKind
    domain: Domain
    service_code: str
    provider: str
    amount: int | None
    quantity: int | None
    fund: str | None
    status: ServiceStatus = Field(description="planned, requested, approved, rejected, delivered")
    requested_at: IsoDateTime | None
    answered_at: IsoDateTime | None
    allocation_id: uuid.UUID | None
    approved_amount: int | None
    rejection_reason: str | None = Field(description="Resources' reason code, when rejected")
    rejection_detail: str | None


class GoalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    term: GoalTerm
    title: str
    target_date: IsoDate
    progress: int = Field(description="0–100 %, from monitoring")
    status: str = Field(description="open or achieved")
    services: list[PlannedServiceRead] = []


class PlanRead(BaseModel):
    case_id: uuid.UUID
    goals: list[GoalRead]
    other_services: list[PlannedServiceRead] = Field(description="Services serving no goal (linkage)")


# ------------------------------------------------------------------ ⑥ delivery and monitoring


class DeliveryCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "intangible",
                    "domain": "legal",
                    "provider": "legal-aid",
                    "delivered_on": "2026-11-20",
                }
            ]
        },
    )

    planned_service_id: uuid.UUID | None = Field(None, description="An intangible planned service delivered")
    kind: ServiceKind | None = None
    domain: Domain | None = None
    provider: str | None = Field(None, min_length=1, max_length=100)
    amount: int = Field(0, ge=0, le=10_000_000_000, description="KRW (in kind: valued, 환가)")
    quantity: int | None = Field(None, ge=0, le=1_000_000)
    delivered_on: IsoDate
    note: str | None = Field(None, max_length=4000)


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    planned_service_id: uuid.UUID | None
    kind: ServiceKind
    domain: Domain
    provider: str
    amount: int
    quantity: int | None
    delivered_on: IsoDate
    source: str = Field(description="manual or resources (distribution.delivered)")
    note: str | None
    recorded_by: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]


class GoalProgress(RequestBody):
    model_config = ConfigDict(extra="forbid")

    goal_id: uuid.UUID
    progress: int = Field(ge=0, le=100)


class MonitoringCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"method": "visit", "note": "주거 상태 점검", "progress": []}]},
    )

    method: MonitoringMethod = Field(description="visit 방문, phone 전화, agency 기관 실무자")
    at: IsoAwareDateTime | None = Field(None, description="When, with its time zone (default: now)")
    note: str = Field(min_length=1, max_length=4000)
    progress: list[GoalProgress] = Field([], max_length=50)


class MonitoringRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    method: MonitoringMethod
    at: IsoDateTime
    note: str | None
    progress: list[dict[str, Any]]
    recorded_by: str | None


class MonitoringPage(BaseModel):
    items: list[MonitoringRead]


# ------------------------------------------------------------------ ④ conferences


class ParticipantIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    affiliation: str = Field(min_length=1, max_length=200, description="Team or agency")
    agency_id: str | None = Field(None, pattern=_CODE, description="Set for a partner agency's people")


class ConferenceCaseIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    case_id: uuid.UUID
    decision: Decision = Field(description="select, link, close, not_selected, change_plan, continue")
    note: str | None = Field(None, max_length=4000)


class ConferenceCreate(RequestBody):
    """A case conference (사례회의) and its decision per case."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "integrated",
                    "held_on": "2026-11-20",
                    "title": "외부통합사례회의 (서비스점검 및 목표수정)",
                    "participants": [
                        {"name": "김사례", "affiliation": "희망복지지원팀"},
                        {"name": "이복지", "affiliation": "수서명화종합복지관", "agency_id": "suseo-welfare"},
                    ],
                    "cases": [{"case_id": "0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d", "decision": "change_plan"}],
                }
            ]
        },
    )

    kind: ConferenceKind = Field(description="internal 내부 or integrated 통합(외부)")
    held_on: IsoDate
    title: str = Field(min_length=1, max_length=200)
    participants: list[ParticipantIn] = Field(min_length=1, max_length=50)
    minutes: str | None = Field(None, max_length=20000, description="회의록")
    cases: list[ConferenceCaseIn] = Field(min_length=1, max_length=100)

    @field_validator("cases")
    @classmethod
    def _distinct_cases(cls, value: list[ConferenceCaseIn]) -> list[ConferenceCaseIn]:
        if len({c.case_id for c in value}) != len(value):
            raise ValueError("a case is discussed once per conference")
        return value


class ConferenceCaseRead(BaseModel):
    case_id: uuid.UUID
    decision: Decision
    note: str | None


class ConferenceRead(BaseModel):
    id: uuid.UUID
    kind: ConferenceKind
    held_on: IsoDate
    title: str
    participants: list[dict[str, Any]]
    minutes: str | None = Field(description="Shown only to callers who may read every case discussed")
    cases: list[ConferenceCaseRead] = Field(description="The decisions on the cases you may read")
    recorded_by: str | None
    recorded_at: IsoDateTime


class ConferencePage(BaseModel):
    items: list[ConferenceRead]
    next_cursor: str | None = None


# ------------------------------------------------------------------ work list


class WorkItem(BaseModel):
    kind: str = Field(description="alert, monitoring_overdue or follow_up_due")
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    case_manager_id: str | None
    since: IsoDateTime = Field(description="Raised at, or the last monitoring (or entry into delivery)")
    urgent: StrictBool = False
    alert_id: uuid.UUID | None = None
    follow_up_id: uuid.UUID | None = None


class WorkList(BaseModel):
    items: list[WorkItem]
