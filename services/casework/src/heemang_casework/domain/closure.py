"""Closure reasons (종결 사유) and their categories, from the 2015 희망복지지원단 plan.

- 긍정적 종결 positive: long-term goal met, short-term goal met, situation improved;
- 여건종결 circumstantial: moved out of the district, death, refusal, gave up,
  no contact for 3 months;
- 자체종결 agency limits: the agency's support or capacity reached its limit.
"""

from __future__ import annotations

from enum import StrEnum


class ClosureCategory(StrEnum):
    positive = "positive"  # 긍정적 종결
    circumstantial = "circumstantial"  # 여건종결
    agency_limits = "agency_limits"  # 자체종결


class ClosureReason(StrEnum):
    long_term_goal_met = "long_term_goal_met"  # 장기목표 달성
    short_term_goal_met = "short_term_goal_met"  # 단기목표 달성
    situation_improved = "situation_improved"  # 상황호전
    moved_out = "moved_out"  # 타구전출
    death = "death"  # 사망
    refusal = "refusal"  # 거절
    gave_up = "gave_up"  # 포기
    no_contact_3_months = "no_contact_3_months"  # 연락두절(3개월)
    agency_limits = "agency_limits"  # 기관의 지원·능력의 한계

    @property
    def category(self) -> ClosureCategory:
        return CATEGORY[self]


CATEGORY: dict[ClosureReason, ClosureCategory] = {
    ClosureReason.long_term_goal_met: ClosureCategory.positive,
    ClosureReason.short_term_goal_met: ClosureCategory.positive,
    ClosureReason.situation_improved: ClosureCategory.positive,
    ClosureReason.moved_out: ClosureCategory.circumstantial,
    ClosureReason.death: ClosureCategory.circumstantial,
    ClosureReason.refusal: ClosureCategory.circumstantial,
    ClosureReason.gave_up: ClosureCategory.circumstantial,
    ClosureReason.no_contact_3_months: ClosureCategory.circumstantial,
    ClosureReason.agency_limits: ClosureCategory.agency_limits,
}
