"""The care SOS catalogue (seed 004, 2022 tariffs) and its caps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_resources.domain.care_caps import (
    CATALOGUE_2022,
    Approved,
    CareCatalogue,
    CareRequest,
    CareService,
    CareUsage,
    Payer,
    Rejected,
    RejectionCode,
    catalogue_for,
    check_request,
)
from heemang_resources.domain.errors import InvalidCareRequest

MEDIAN = 3_000_000  # an illustrative monthly median income for the household's size
POOR = 85 * MEDIAN // 100  # exactly 85 %: still free


def ask(service: CareService, units: int = 1, income: int = POOR, quote: int | None = None) -> CareRequest:
    return CareRequest(service, units, household_income=income, median_income=MEDIAN, quoted_unit_price=quote)


def test_the_2022_tariffs_are_the_seeds() -> None:
    s = CATALOGUE_2022.services
    assert (s[CareService.home_care].unit_price, s[CareService.home_care].max_units_per_year) == (48_170, 20)
    assert (s[CareService.short_stay].unit_price, s[CareService.short_stay].max_units_per_year) == (
        58_070,
        14,
    )
    assert s[CareService.accompaniment].unit_price == 14_800
    assert (s[CareService.meals].unit_price, s[CareService.meals].max_units_per_year) == (7_800, 30)
    laundry = s[CareService.laundry]
    assert (laundry.min_price, laundry.max_price) == (15_000, 30_000)
    assert CATALOGUE_2022.annual_limit == 1_580_000
    assert set(s) == set(CareService)


def test_a_year_uses_the_latest_catalogue_in_force() -> None:
    assert catalogue_for(2022) is CATALOGUE_2022
    assert catalogue_for(2026) is CATALOGUE_2022
    with pytest.raises(InvalidCareRequest):
        catalogue_for(2021)


def test_a_request_within_caps_is_approved_and_priced() -> None:
    decision = check_request(CATALOGUE_2022, [], ask(CareService.home_care, units=2))
    assert decision == Approved(CareService.home_care, 2, 96_340, Payer.district)
    assert decision.funded_amount == 96_340


def test_above_85_percent_of_the_median_is_self_paid() -> None:
    decision = check_request(CATALOGUE_2022, [], ask(CareService.meals, units=5, income=POOR + 1))
    assert isinstance(decision, Approved)
    assert decision.payer is Payer.self_paid and decision.funded_amount == 0 and decision.amount == 39_000


@pytest.mark.parametrize(
    ("service", "used", "asked", "ok"),
    [
        (CareService.home_care, 19, 1, True),  # 60 h = 20 visits of 3 h
        (CareService.home_care, 19, 2, False),
        (CareService.short_stay, 13, 1, True),
        (CareService.short_stay, 14, 1, False),
        (CareService.meals, 30, 1, False),
        (CareService.meals, 29, 1, True),
    ],
)
def test_per_service_caps(service: CareService, used: int, asked: int, ok: bool) -> None:
    price = CATALOGUE_2022.services[service].unit_price or 0
    history = [CareUsage(service, used, used * price)]
    decision = check_request(CATALOGUE_2022, history, ask(service, units=asked))
    if ok:
        assert isinstance(decision, Approved)
    else:
        assert isinstance(decision, Rejected) and decision.code is RejectionCode.service_cap_exceeded
        assert service.value in decision.reason and "left" in decision.reason


def test_the_home_care_reason_says_hours() -> None:
    history = [CareUsage(CareService.home_care, 20, 20 * 48_170)]
    decision = check_request(CATALOGUE_2022, history, ask(CareService.home_care))
    assert isinstance(decision, Rejected)
    assert (
        decision.reason == "home_care: 20 of 20 3-hour visits (60 hours) used this year, 0 left, 1 requested"
    )


def test_the_annual_limit_counts_every_service() -> None:
    history = [
        CareUsage(CareService.home_care, 20, 963_400),
        CareUsage(CareService.short_stay, 10, 580_700),
    ]  # 1,544,100 used: 35,900 left
    assert isinstance(check_request(CATALOGUE_2022, history, ask(CareService.accompaniment, 2)), Approved)
    decision = check_request(CATALOGUE_2022, history, ask(CareService.accompaniment, 3))  # 44,400
    assert decision == Rejected(
        RejectionCode.annual_limit_exceeded,
        "annual limit 1,580,000 KRW a person: 1,544,100 used, 35,900 left, 44,400 requested",
    )


def test_the_annual_limit_is_inclusive() -> None:
    history = [CareUsage(CareService.cleaning, 1, 1_580_000 - 7_800)]
    assert isinstance(check_request(CATALOGUE_2022, history, ask(CareService.meals)), Approved)


def test_quoted_services_use_the_quote_within_range() -> None:
    assert check_request(CATALOGUE_2022, [], ask(CareService.home_repair, quote=450_000)) == Approved(
        CareService.home_repair, 1, 450_000, Payer.district
    )
    assert isinstance(check_request(CATALOGUE_2022, [], ask(CareService.laundry, quote=30_000)), Approved)
    for quote in (14_999, 30_001):
        decision = check_request(CATALOGUE_2022, [], ask(CareService.laundry, quote=quote))
        assert isinstance(decision, Rejected) and decision.code is RejectionCode.price_out_of_range
    decision = check_request(CATALOGUE_2022, [], ask(CareService.cleaning, quote=1_580_001))
    assert isinstance(decision, Rejected) and decision.code is RejectionCode.annual_limit_exceeded


def test_a_service_missing_from_the_catalogue_is_rejected() -> None:
    meals_only = CareCatalogue(
        2030, 1_580_000, 85, {CareService.meals: CATALOGUE_2022.services[CareService.meals]}
    )
    decision = check_request(meals_only, [], ask(CareService.home_care))
    assert isinstance(decision, Rejected) and decision.code is RejectionCode.not_offered


@pytest.mark.parametrize(
    "request_",
    [
        ask(CareService.meals, units=0),
        ask(CareService.meals, units=1.5),  # type: ignore[arg-type]
        ask(CareService.meals, units=True),  # bool is an int to mypy, not to us
        ask(CareService.meals, income=-1),
        ask(CareService.meals, quote=9_000),  # a fixed price cannot be quoted differently
        ask(CareService.cleaning),  # a quoted service needs its quote
        ask(CareService.laundry, quote=20_000.0),  # type: ignore[arg-type]
        CareRequest(CareService.meals, 1, household_income=0, median_income=0),
    ],
)
def test_malformed_requests_are_invalid_not_rejected(request_: CareRequest) -> None:
    with pytest.raises(InvalidCareRequest) as raised:
        check_request(CATALOGUE_2022, [], request_)
    assert raised.value.status == 422


@given(
    history=st.lists(
        st.tuples(
            st.sampled_from([CareService.home_care, CareService.meals, CareService.short_stay]),
            st.integers(1, 10),
        ),
        max_size=12,
    ),
    service=st.sampled_from([CareService.home_care, CareService.meals, CareService.short_stay]),
    units=st.integers(1, 40),
)
def test_approvals_never_break_a_cap(
    history: list[tuple[CareService, int]], service: CareService, units: int
) -> None:
    """Approving only what check_request approves keeps every cap, whatever came before."""
    usage: list[CareUsage] = []
    for past_service, past_units in [*history, (service, units)]:
        decision = check_request(CATALOGUE_2022, usage, ask(past_service, past_units))
        if isinstance(decision, Approved):
            usage.append(CareUsage(decision.service, decision.units, decision.amount))
    assert sum(u.amount for u in usage) <= CATALOGUE_2022.annual_limit
    for s in (CareService.home_care, CareService.meals, CareService.short_stay):
        cap = CATALOGUE_2022.services[s].max_units_per_year or 0
        assert sum(u.units for u in usage if u.service is s) <= cap
