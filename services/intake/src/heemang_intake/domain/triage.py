"""Triage rules: urgency (시급성) and importance (중요도) give a referral its priority."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


_RANK = {Level.high: 0, Level.medium: 1, Level.low: 2}


def priority(urgency: Level, importance: Level) -> int:
    """1 (most urgent) … 9. Urgency dominates: an urgent, less important case still
    comes before a non-urgent important one, because a crisis cannot wait."""
    return _RANK[urgency] * 3 + _RANK[importance] + 1
