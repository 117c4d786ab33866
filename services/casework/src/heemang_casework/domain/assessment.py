"""Needs and crisis assessment (욕구조사 및 위기조사), pure.

Seed 002: "욕구별 위기조사 병행: 시급성, 중요도 파악, 서비스제공 계획 수립시 우선순위 선정 기준
활용". Each need is assessed in one of eight domains with its urgency (시급성) and importance
(중요도), each low / medium / high. Decisions:

- A need's **priority** is urgency × importance on a 1–3 scale (1 … 9): the order in which the
  plan should address the needs.
- The case's **crisis level** is derived from its most pressing need, never entered by hand:
  ``critical`` when some need is both highly urgent and highly important (score 9), ``high``
  at 6 (high × medium), ``moderate`` at 3–4, ``low`` below, ``none`` without needs.
- One domain appears at most once per assessment (a second need in the same domain belongs
  in the first one's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from heemang_casework.domain.errors import InvalidAssessment
from heemang_casework.domain.stages import Stage

#: A case is (re)assessed while it is worked on: from intake to delivery, not once closed —
#: a follow-up that finds a new crisis reopens the case first (domain.followup).
ASSESSABLE_STAGES = frozenset(
    {Stage.intake, Stage.assessment, Stage.selection, Stage.conference, Stage.planning, Stage.delivery}
)


class Domain(StrEnum):
    economic = "economic"  # 경제
    housing = "housing"  # 주거
    health = "health"  # 건강
    education = "education"  # 교육
    relationships = "relationships"  # 관계
    employment = "employment"  # 일자리
    legal = "legal"  # 법률
    other = "other"  # 기타


class Level(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class CrisisLevel(StrEnum):
    none = "none"
    low = "low"
    moderate = "moderate"
    high = "high"
    critical = "critical"


_SCORE = {Level.low: 1, Level.medium: 2, Level.high: 3}


@dataclass(frozen=True)
class Need:
    domain: Domain
    urgency: Level  # 시급성
    importance: Level  # 중요도
    description: str = ""

    @property
    def priority(self) -> int:
        return _SCORE[self.urgency] * _SCORE[self.importance]


def crisis_level(needs: list[Need]) -> CrisisLevel:
    top = max((need.priority for need in needs), default=0)
    if top == 9:
        return CrisisLevel.critical
    if top >= 6:
        return CrisisLevel.high
    if top >= 3:
        return CrisisLevel.moderate
    return CrisisLevel.low if top else CrisisLevel.none


def prioritised(needs: list[Need]) -> list[Need]:
    """Needs in the order the plan should address them: priority, then urgency, then domain."""
    return sorted(needs, key=lambda n: (-n.priority, -_SCORE[n.urgency], list(Domain).index(n.domain)))


def validate(stage: Stage, needs: list[Need]) -> None:
    if stage not in ASSESSABLE_STAGES:
        raise InvalidAssessment(f"a case at stage {stage.value!r} is not assessed", field="stage")
    seen: set[Domain] = set()
    for need in needs:
        if need.domain in seen:
            raise InvalidAssessment(f"the domain {need.domain.value!r} is assessed twice", field="needs")
        seen.add(need.domain)
