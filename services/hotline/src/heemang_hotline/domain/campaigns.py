"""Notice campaigns (pure): audience filters, message cost, the daily cap."""

from __future__ import annotations

from dataclasses import dataclass

from heemang_common.errors import Invalid
from heemang_hotline.domain.sms import Kind, MessageTooLong, kind_for

__all__ = ["Audience", "Kind", "affordable", "message_kind", "unit_cost"]


@dataclass(frozen=True)
class Audience:
    """Who of a topic's consenting subscribers a campaign reaches (all when unset)."""

    dongs: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    household_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise Invalid("age_min is above age_max")

    def birth_years(self, this_year: int) -> tuple[int | None, int | None]:
        """The age band as birth years (age = this year − birth year, as 연 나이 counts)."""
        earliest = this_year - self.age_max if self.age_max is not None else None
        latest = this_year - self.age_min if self.age_min is not None else None
        return earliest, latest


def message_kind(body: str) -> Kind:
    """SMS or LMS by size; Invalid beyond the LMS limit (never truncated)."""
    if not body.strip():
        raise Invalid("the message is empty")
    try:
        return kind_for(body)
    except MessageTooLong as exc:
        raise Invalid(f"the message is too long: {exc}") from None


def unit_cost(kind: Kind, sms_krw: int, lms_krw: int) -> int:
    return sms_krw if kind == Kind.sms else lms_krw


def affordable(wanted: int, unit_krw: int, spent_krw: int, cap_krw: int) -> int:
    """How many of ``wanted`` messages fit under the day's cap (0 once it is reached)."""
    if unit_krw <= 0:
        return wanted
    return max(0, min(wanted, (cap_krw - spent_krw) // unit_krw))
