"""Duplicate detection (pure): a referral for a household that already has an open
referral or an open case joins it instead of starting a second one.

The household is recognised by, in order: the id the caller gave, the RRN's keyed hash,
then name + birth date + address (normalised). The first match decides; the link says how
it was found and to what, so the officer sees why the referral was linked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum


class MatchedBy(StrEnum):
    household_id = "household_id"
    rrn = "rrn"
    name_birth_address = "name_birth_address"
    decision = "decision"  # an officer linked it


_SPACES = re.compile(r"\s+")


def normalise_address(address: str | None) -> str:
    """Addresses compare without case, spacing or punctuation differences."""
    if not address:
        return ""
    return _SPACES.sub(" ", address.replace(",", " ")).strip().casefold()


def normalise_name(name: str) -> str:
    return _SPACES.sub("", name).casefold()


@dataclass(frozen=True)
class Link:
    matched_by: MatchedBy
    referral_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None

    @property
    def kind(self) -> str:
        return "case" if self.case_id is not None else "referral"

    def reason(self) -> str:
        how = {
            MatchedBy.household_id: "the household named in the referral",
            MatchedBy.rrn: "the same resident registration number",
            MatchedBy.name_birth_address: "the same name, birth date and address",
            MatchedBy.decision: "an officer's decision",
        }[self.matched_by]
        if self.case_id is not None:
            return f"Linked to open case {self.case_id}: matched by {how}; the case manager follows it up."
        return f"Linked to open referral {self.referral_id}: matched by {how}; it is already in triage."


def link_for(
    matched_by: MatchedBy, open_case_id: uuid.UUID | None, open_referral_id: uuid.UUID | None
) -> Link | None:
    """An open case wins over an open referral (a case manager already follows the
    household); no open record → no link (a new referral)."""
    if open_case_id is not None:
        return Link(matched_by, case_id=open_case_id)
    if open_referral_id is not None:
        return Link(matched_by, referral_id=open_referral_id)
    return None
