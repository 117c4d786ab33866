"""The household register's vocabulary and rules (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from heemang_common.errors import Invalid
from heemang_common.masking import mask_address, mask_name, mask_phone


class HouseholdType(StrEnum):
    """가구유형."""

    elderly_alone = "elderly_alone"  # 독거노인
    grandparent_grandchild = "grandparent_grandchild"  # 조손
    couple = "couple"  # 부부중심
    single_parent = "single_parent"  # 한부모
    single_working_age = "single_working_age"  # 청장년 1인
    other = "other"


class ProtectionStatus(StrEnum):
    """보호구분."""

    basic_livelihood = "basic_livelihood"  # 기초수급
    near_poor = "near_poor"  # 차상위
    low_income = "low_income"  # 비수급 (일반저소득)


class Relationship(StrEnum):
    """A member's relationship to the head of the household."""

    head = "head"
    spouse = "spouse"
    child = "child"
    grandchild = "grandchild"
    parent = "parent"
    other = "other"


class MeansBasis(StrEnum):
    """Whether income and assets are as the household declared them or verified."""

    declared = "declared"
    verified = "verified"


class UnknownDong(Invalid):
    problem = "unknown-dong"
    title = "Unknown 동"


def check_dong(dong: str, known: frozenset[str]) -> None:
    if dong not in known:
        raise UnknownDong(f"동 {dong!r} is not one of this district's 동 (INTAKE_DONGS)", dong=dong)


class InvalidMembers(Invalid):
    problem = "invalid-members"
    title = "Invalid household members"


def check_members(heads: Sequence[bool], relationships: Sequence[Relationship]) -> None:
    """At most one head; the member marked head is the one whose relationship is head."""
    if sum(heads) > 1:
        raise InvalidMembers("a household has at most one head (is_head)")
    for index, (is_head, relationship) in enumerate(zip(heads, relationships, strict=True)):
        if is_head != (relationship is Relationship.head):
            raise InvalidMembers(f"member {index}: is_head and relationship 'head' must agree")


def check_birth_date(index: int, given: date | None, from_rrn: date) -> None:
    if given is not None and given != from_rrn:
        raise Invalid(f"member {index}: birth_date does not match the birth date in the RRN")


#: Household fields whose history values are personal data: stored masked, by this policy.
_MASKED_HISTORY = {"address": mask_address, "phone": mask_phone, "name": mask_name}


def history_value(field: str, value: Any) -> str | None:
    """A history entry's value: masked for personal data, ISO for dates, else str."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value.value) if isinstance(value, StrEnum) else str(value)
    masker = _MASKED_HISTORY.get(field)
    return masker(text) if masker else text
