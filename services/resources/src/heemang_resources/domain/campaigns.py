"""Campaign progress, split the way the 희망2021 나눔캠페인 table splits it:
cash (성금) general (일반) / designated (지정), and goods (성품) at appraised value.

Progress counts donations pledged to the campaign, not ledger balances: money raised is
spent during the campaign, yet still counts as raised. `goal_reached` fires once: a
refund that dips below the goal and a later donation that crosses it again do not repeat it.
Amounts are integers in whatever unit the caller uses (KRW in the service; the brief's table
is in thousand KRW).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from heemang_resources.domain.errors import InvalidCampaign


class DonationKind(StrEnum):
    cash_general = "cash_general"  # 일반성금
    cash_designated = "cash_designated"  # 지정성금
    goods = "goods"  # 성품


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    starts_on: date
    ends_on: date
    goal: int

    def __post_init__(self) -> None:
        _require_amount(self.goal, "goal")
        if self.ends_on < self.starts_on:
            raise InvalidCampaign("a campaign ends on or after the day it starts")


@dataclass(frozen=True)
class CampaignDonation:
    kind: DonationKind
    amount: int
    received_on: date
    refund: bool = False  # a refunded/reversed donation, counted negatively

    def __post_init__(self) -> None:
        _require_amount(self.amount, "amount")
        DonationKind(self.kind)


@dataclass(frozen=True)
class GoalReached:
    campaign_id: str
    goal: int
    raised: int
    reached_on: date


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Campaign
    cash_general: int = 0
    cash_designated: int = 0
    goods: int = 0
    goal_reached_on: date | None = None

    @property
    def cash(self) -> int:
        return self.cash_general + self.cash_designated

    @property
    def raised(self) -> int:
        return self.cash + self.goods

    @property
    def progress_permille(self) -> int:
        """Progress in tenths of a percent, rounded half up, exact (integers only)."""
        return (self.raised * 2000 + self.campaign.goal) // (2 * self.campaign.goal)

    @property
    def progress_percent(self) -> Decimal:
        """174.2 for 481,644 raised on a 276,452 goal."""
        return Decimal(self.progress_permille).scaleb(-1)

    def add(self, donation: CampaignDonation) -> tuple[CampaignProgress, GoalReached | None]:
        """Count a donation; the event is returned the first time raised ≥ goal, only then."""
        _check_in_period(self.campaign, donation)
        signed = -donation.amount if donation.refund else donation.amount
        field = donation.kind.value
        after = replace(self, **{field: getattr(self, field) + signed})
        if after.cash_general < 0 or after.cash_designated < 0 or after.goods < 0:
            raise InvalidCampaign(f"refund exceeds the {field} raised", kind=field)
        if self.goal_reached_on is not None or after.raised < self.campaign.goal:
            return after, None
        event = GoalReached(self.campaign.id, self.campaign.goal, after.raised, donation.received_on)
        return replace(after, goal_reached_on=donation.received_on), event


def progress(
    campaign: Campaign, donations: Iterable[CampaignDonation]
) -> tuple[CampaignProgress, list[GoalReached]]:
    """Fold donations (in the order received) into progress and the events they raise."""
    state = CampaignProgress(campaign)
    events: list[GoalReached] = []
    for donation in donations:
        state, event = state.add(donation)
        if event is not None:
            events.append(event)
    return state, events


def _require_amount(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidCampaign(f"{name} must be a positive integer", field=name)


def _check_in_period(campaign: Campaign, donation: CampaignDonation) -> None:
    # A refund may come after the campaign closed; a new donation may not count towards it.
    if donation.refund:
        return
    if not campaign.starts_on <= donation.received_on <= campaign.ends_on:
        raise InvalidCampaign(
            f"donation of {donation.received_on} is outside {campaign.starts_on}–{campaign.ends_on}",
            campaign_id=campaign.id,
        )
