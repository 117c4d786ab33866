"""The eight stages of integrated case management (통합사례관리), in order."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    intake = "intake"  # ① 접수
    assessment = "assessment"  # ② 욕구조사
    selection = "selection"  # ③ 대상자 선정
    conference = "conference"  # ④ 사례회의
    planning = "planning"  # ⑤ 서비스제공계획
    delivery = "delivery"  # ⑥ 서비스제공 및 점검
    closed = "closed"  # ⑦ 종결
    follow_up = "follow_up"  # ⑧ 사후관리


#: A case opened from an accepted referral starts at ① 접수.
OPENING_STAGE = Stage.intake
