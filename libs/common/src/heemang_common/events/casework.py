"""Events casework publishes."""

from __future__ import annotations

import uuid
from datetime import datetime
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


EVENTS: list[type[Event]] = [CaseOpened]
