"""Case conferences (사례회의), pure.

Seed 002: the internal conference (희망복지지원단 내부 사례회의, a team of ~5) decides
"사례관리대상자 선정, 단순서비스연계 결정, 종결처리, 미선정"; the integrated or external one
(통합사례회의) brings partner agencies' practitioners in to set and revise goals
("통합목표설정", "서비스점검 및 목표수정"). Reports count them apart (seed 003: 내부 21, 외부 8).

A conference discusses one or more cases and records one decision per case. A decision is
the record of what was agreed; the stage moves through POST /cases/{id}/transitions, so the
timeline shows both. An integrated conference needs at least one participant from an agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from heemang_casework.domain.errors import InvalidConference


class ConferenceKind(StrEnum):
    internal = "internal"  # 내부 사례회의
    integrated = "integrated"  # 통합(외부) 사례회의, with partner agencies


class Decision(StrEnum):
    select = "select"  # 사례관리대상자 선정
    link = "link"  # 단순서비스연계
    close = "close"  # 종결처리
    not_selected = "not_selected"  # 미선정
    change_plan = "change_plan"  # 목표·계획 수정
    continue_ = "continue"  # 유지 (reviewed, no change)


@dataclass(frozen=True)
class Participant:
    name: str
    affiliation: str  # team or agency name
    agency_id: str | None = None  # set for partner agencies' people


def validate(kind: ConferenceKind, participants: list[Participant], case_count: int) -> None:
    if case_count == 0:
        raise InvalidConference("a conference discusses at least one case", field="cases")
    if not participants:
        raise InvalidConference("a conference has participants", field="participants")
    if kind is ConferenceKind.integrated and not any(p.agency_id for p in participants):
        raise InvalidConference(
            "an integrated conference includes people from partner agencies", field="participants"
        )
