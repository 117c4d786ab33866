"""Events casework publishes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

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


EVENTS: list[type[Event]] = [CaseOpened, CaseStageChanged, CaseClosed, AlertRaised]
