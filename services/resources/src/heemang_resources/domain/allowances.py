"""Allowance programmes (수당): who is due a payment for a period.

Periods are labels: `YYYY-MM` (monthly, e.g. 보훈예우수당), `YYYY-seol` / `YYYY-chuseok`
(명절위로금), `YYYY` (yearly, e.g. the welfare-facility staff allowance). Eligibility is
judged on the run's `as_of` date against each enrolment's dates (inclusive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

PERIOD = re.compile(r"^20[0-9]{2}(-(0[1-9]|1[0-2]|seol|chuseok))?$")


@dataclass(frozen=True)
class Enrolled:
    id: str
    eligible_from: date
    eligible_to: date | None


def eligible(enrolment: Enrolled, as_of: date) -> bool:
    return enrolment.eligible_from <= as_of and (
        enrolment.eligible_to is None or as_of <= enrolment.eligible_to
    )


@dataclass(frozen=True)
class Plan:
    due: list[str]  # enrolment ids to pay now
    already_paid: list[str]
    amount: int

    @property
    def total(self) -> int:
        return self.amount * len(self.due)


def plan(enrolments: Iterable[Enrolled], paid: set[str], as_of: date, amount: int) -> Plan:
    """Everyone eligible on `as_of` and not yet paid for the period; never the paid ones."""
    due: list[str] = []
    done: list[str] = []
    for e in sorted(enrolments, key=lambda e: e.id):
        if not eligible(e, as_of):
            continue
        (done if e.id in paid else due).append(e.id)
    return Plan(due, done, amount)
