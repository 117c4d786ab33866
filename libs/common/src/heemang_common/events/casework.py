"""Events casework publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from heemang_common.events import topics
from heemang_common.events.envelope import Event, EventData

CaseStage = Literal[
    "intake",  # ① 접수
    "assessment",  # ② 욕구조사
    "selection",  # ③ 대상자 선정
    "conference",  # ④ 사례회의
    "planning",  # ⑤ 서비스제공계획
    "delivery",  # ⑥ 서비스제공 및 점검
    "closed",  # ⑦ 종결
    "follow_up",  # ⑧ 사후관리
]

Selection = Literal[
    "case_management",  # 사례관리
    "service_linkage",  # 서비스연계
    "not_selected",  # 미선정
]

ClosureReason = Literal[
    "long_term_goal_met",  # 장기목표 달성
    "short_term_goal_met",  # 단기목표 달성
    "situation_improved",  # 상황호전
    "moved_out",  # 타구전출
    "death",  # 사망
    "refusal",  # 거절
    "gave_up",  # 포기
    "no_contact_3_months",  # 연락두절(3개월)
    "agency_limits",  # 기관의 지원·능력의 한계
]

ClosureCategory = Literal["positive", "circumstantial", "agency_limits"]


class CaseOpenedData(EventData):
    case_id: uuid.UUID
    household_id: uuid.UUID
    referral_id: uuid.UUID | None
    dong: str
    stage: CaseStage
    opened_at: datetime


class CaseOpened(Event):
    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.case.opened.v1"] = "heemang.casework.case.opened.v1"
    data: CaseOpenedData


class CaseStageChangedData(EventData):
    case_id: uuid.UUID
    household_id: uuid.UUID
    from_stage: CaseStage
    to_stage: CaseStage
    at: datetime
    #: The selection outcome, when the case left ③ 대상자 선정 (else null).
    selection: Selection | None = None
    #: A coded reason (the closure reason when closing), never the caseworker's free text:
    #: that may name people and stays in the case's timeline.
    reason: ClosureReason | None = None


class CaseStageChanged(Event):
    """A case moved from one stage of integrated case management to another."""

    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.case.stage_changed.v1"] = "heemang.casework.case.stage_changed.v1"
    data: CaseStageChangedData


class CaseClosedData(EventData):
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    closure_reason: ClosureReason
    reason_category: ClosureCategory
    closed_at: datetime
    #: Follow-up (사후관리) due dates, Seoul calendar days: 6 and 12 months, or 6 for linkage.
    follow_up_due: list[date]


class CaseClosed(Event):
    """A served case was closed (종결) with a reason; not sent for 미선정 (not selected)."""

    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.case.closed.v1"] = "heemang.casework.case.closed.v1"
    data: CaseClosedData


AlertKind = Literal[
    "checkin_missed",  # 안부확인 미응답: a check-in of a monitoring programme went unanswered
    "checkin_help",  # the household asked for help at a check-in
]


class AlertRaisedData(EventData):
    alert_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    kind: AlertKind
    urgent: bool
    raised_at: datetime


class AlertRaised(Event):
    """An alert was raised on an open case and put in its case manager's work list.

    Codes only: the check-in history and the caseworker's notes stay in casework."""

    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.alert.raised.v1"] = "heemang.casework.alert.raised.v1"
    data: AlertRaisedData


class CaseAssignedData(EventData):
    """Who works on a case now: its main case manager and the partner agencies assigned.

    Partner webhooks are filtered by ``agencies``: an agency receives the events of the
    cases it is assigned to, and nothing else."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    case_manager_id: str | None = Field(description="The gateway user id of the main case manager")
    agencies: list[str] = Field(description="Codes of the partner agencies assigned to the case")
    restricted: bool = Field(False, description="Domestic-violence or otherwise restricted case")
    assigned_at: datetime


class CaseAssigned(Event):
    """A case's assignment changed (case manager, 동 or partner agencies)."""

    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.case.assigned.v1"] = "heemang.casework.case.assigned.v1"
    data: CaseAssignedData

    @classmethod
    def example(cls) -> CaseAssigned:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d",
            data=CaseAssignedData(
                case_id=uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d"),
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                dong="sinsa",
                case_manager_id="u-2048",
                agencies=["gangnam-welfare-centre"],
                restricted=False,
                assigned_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            ),
        )


ServiceDomain = Literal[
    "economic",  # 경제
    "housing",  # 주거
    "health",  # 건강
    "education",  # 교육
    "relationships",  # 관계
    "employment",  # 일자리
    "legal",  # 법률
    "other",  # 기타
]
ServiceKind = Literal["cash", "in_kind", "intangible"]  # 현금, 현물, 무형


class ServiceRequestedData(EventData):
    """A cash or in-kind service of a case's plan asks resources for an allocation."""

    request_id: uuid.UUID = Field(description="The planned service; resources answers with it")
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    domain: ServiceDomain
    kind: Literal["cash", "in_kind"]
    service_code: str = Field(
        description="What is asked for: a care-SOS catalogue code (e.g. care_sos.home_care) "
        "or a support code (e.g. emergency.living)"
    )
    provider: str = Field(description="Provider agency code or name")
    amount: int = Field(ge=0, description="KRW, integer")
    quantity: int | None = Field(default=None, ge=0, description="Units (hours, days, meals…)")
    fund: str | None = Field(default=None, description="Account or budget line to pay from, if chosen")
    requested_at: datetime


class ServiceRequested(Event):
    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.service.requested.v1"] = "heemang.casework.service.requested.v1"
    data: ServiceRequestedData

    @classmethod
    def example(cls) -> ServiceRequested:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d",
            data=ServiceRequestedData(
                request_id=uuid.UUID("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"),
                case_id=uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d"),
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                dong="sinsa",
                domain="economic",
                kind="cash",
                service_code="emergency.living",
                provider="district",
                amount=802_000,
                quantity=None,
                fund=None,
                requested_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            ),
        )


class FollowUpDueData(EventData):
    follow_up_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    due_on: date
    sequence: int = Field(ge=1, description="1 = the 6-month follow-up, 2 = the 12-month one")


class FollowUpDue(Event):
    """A follow-up (사후관리) of a closed case fell due; sent once, by the scheduler."""

    topic: ClassVar[str] = topics.CASEWORK_CASE
    type: Literal["heemang.casework.followup.due.v1"] = "heemang.casework.followup.due.v1"
    data: FollowUpDueData

    @classmethod
    def example(cls) -> FollowUpDue:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d",
            data=FollowUpDueData(
                follow_up_id=uuid.UUID("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"),
                case_id=uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d"),
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                dong="sinsa",
                due_on=date(2027, 5, 23),
                sequence=1,
            ),
        )


ConferenceKind = Literal["internal", "integrated"]  # 내부 사례회의, 통합(외부) 사례회의
ConferenceDecision = Literal["select", "link", "close", "not_selected", "change_plan", "continue"]


class ConferenceCaseDecision(EventData):
    case_id: uuid.UUID
    household_id: uuid.UUID
    decision: ConferenceDecision


class ConferenceHeldData(EventData):
    """A case conference was recorded. Codes only: participants' names and the minutes stay
    in casework."""

    conference_id: uuid.UUID
    kind: ConferenceKind
    held_on: date
    agencies: list[str] = Field(description="Partner agencies whose people took part")
    decisions: list[ConferenceCaseDecision] = Field(description="The decision taken for each case discussed")
    recorded_at: datetime


class ConferenceHeld(Event):
    """A case conference (사례회의) was held and its decisions recorded."""

    topic: ClassVar[str] = topics.CASEWORK_CONFERENCE
    key_field: ClassVar[str | None] = "conference_id"
    type: Literal["heemang.casework.conference.held.v1"] = "heemang.casework.conference.held.v1"
    data: ConferenceHeldData

    @classmethod
    def example(cls) -> ConferenceHeld:
        """A realistic instance, for the docs and the schema tests."""
        conference = uuid.UUID("3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d")
        return cls.create(
            subject=conference,
            data=ConferenceHeldData(
                conference_id=conference,
                kind="integrated",
                held_on=date(2026, 11, 20),
                agencies=["suseo-welfare-centre"],
                decisions=[
                    ConferenceCaseDecision(
                        case_id=uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d"),
                        household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                        decision="change_plan",
                    )
                ],
                recorded_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
            ),
        )


EVENTS: list[type[Event]] = [
    CaseOpened,
    CaseStageChanged,
    CaseClosed,
    AlertRaised,
    CaseAssigned,
    ServiceRequested,
    FollowUpDue,
    ConferenceHeld,
]
