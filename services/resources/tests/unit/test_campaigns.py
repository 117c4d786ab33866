"""Campaign progress with the 희망2021 split, and goal_reached exactly once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_resources.domain.campaigns import (
    Campaign,
    CampaignDonation,
    CampaignProgress,
    DonationKind,
    GoalReached,
    progress,
)
from heemang_resources.domain.errors import InvalidCampaign

START, END = date(2020, 12, 1), date(2021, 1, 31)


def hope2021(scale: int = 1) -> Campaign:
    return Campaign("hope2021", "희망2021 나눔캠페인", START, END, goal=276_452 * scale)


def test_the_brief_table_is_reproduced_in_thousand_krw() -> None:
    state, events = progress(
        hope2021(),
        [
            CampaignDonation(DonationKind.cash_general, 162_479, date(2020, 12, 15)),
            CampaignDonation(DonationKind.goods, 191_990, date(2020, 12, 20)),
            CampaignDonation(DonationKind.cash_designated, 127_175, date(2021, 1, 10)),
        ],
    )
    assert (state.campaign.goal, state.raised, state.cash) == (276_452, 481_644, 289_654)
    assert (state.cash_general, state.cash_designated, state.goods) == (162_479, 127_175, 191_990)
    assert state.progress_percent == Decimal("174.2")
    # 162,479 + 191,990 = 354,469 ≥ 276,452 on the second donation: the event fires then.
    assert events == [GoalReached("hope2021", 276_452, 354_469, date(2020, 12, 20))]
    assert state.goal_reached_on == date(2020, 12, 20)


def test_the_same_table_in_krw_gives_the_same_progress() -> None:
    donations = [
        CampaignDonation(DonationKind.cash_general, 162_479_000, START),
        CampaignDonation(DonationKind.cash_designated, 127_175_000, START),
        CampaignDonation(DonationKind.goods, 191_990_000, END),
    ]
    state, events = progress(hope2021(1000), donations)
    assert state.raised == 481_644_000 and state.progress_percent == Decimal("174.2")
    assert [(e.raised, e.reached_on) for e in events] == [(289_654_000, START)]  # cash alone


def test_progress_rounds_half_up_to_a_tenth_of_a_percent() -> None:
    campaign = Campaign("c", "c", START, END, goal=2000)
    state, _ = progress(campaign, [CampaignDonation(DonationKind.goods, 1, START)])  # 0.05 %
    assert state.progress_percent == Decimal("0.1")
    assert CampaignProgress(campaign).progress_percent == Decimal("0.0")


def test_goal_reached_fires_once_even_after_a_refund_and_a_new_crossing() -> None:
    campaign = Campaign("c", "c", START, END, goal=100)
    state, events = progress(
        campaign,
        [
            CampaignDonation(DonationKind.cash_general, 100, START),  # reached
            CampaignDonation(DonationKind.cash_general, 50, START, refund=True),
            CampaignDonation(DonationKind.cash_general, 80, END),  # crosses again: no event
        ],
    )
    assert [e.reached_on for e in events] == [START]
    assert state.raised == 130


def test_donations_outside_the_period_and_bad_amounts_are_refused() -> None:
    state = CampaignProgress(hope2021())
    with pytest.raises(InvalidCampaign):
        state.add(CampaignDonation(DonationKind.goods, 1, date(2021, 2, 1)))
    for amount in (0, -1, 1.5, True):
        with pytest.raises(InvalidCampaign):
            CampaignDonation(DonationKind.goods, amount, START)  # type: ignore[arg-type]
    with pytest.raises(InvalidCampaign):
        state.add(CampaignDonation(DonationKind.goods, 1, START, refund=True))
    with pytest.raises(InvalidCampaign):
        Campaign("c", "c", END, START, goal=1)


@given(st.lists(st.tuples(st.sampled_from(list(DonationKind)), st.integers(1, 10**9)), max_size=30))
def test_split_adds_up_and_the_event_is_never_repeated(donations: list[tuple[DonationKind, int]]) -> None:
    state, events = progress(hope2021(1000), [CampaignDonation(k, a, START) for k, a in donations])
    assert (
        state.raised
        == state.cash_general + state.cash_designated + state.goods
        == sum(a for _, a in donations)
    )
    assert len(events) == (1 if state.raised >= state.campaign.goal else 0)
