"""Emergency-welfare screening against the 2021 table of the brief: every household size
1–6 at, just under and just over each threshold; missing inputs named; care SOS."""

from __future__ import annotations

from datetime import date

import pytest

from heemang_common.errors import Invalid
from heemang_intake.domain.screening import Inputs, screen
from heemang_intake.policy import load_all, policy_for

NATIONAL_75 = [1_370_873, 2_316_059, 2_987_963, 3_652_218, 4_318_030, 4_971_452]
MEDIAN = [1_827_831, 3_088_079, 3_983_950, 4_869_624, 5_757_373, 6_628_603]
SEOUL_85 = [int(m * 0.85 + 0.5) for m in MEDIAN]  # 85% of the median, rounded half up
LIVING = [474_600, 802_000, 1_035_000, 1_266_900, 1_496_700, 1_722_100]
HOUSING = [387_200, 387_200, 643_200, 643_200, 848_600, 848_600]
POLICY = policy_for(date(2021, 6, 1))


def inputs(size: int | None, income: int | None, **kw: object) -> Inputs:
    values: dict[str, object] = {
        "household_size": size,
        "monthly_income": income,
        "property_value": 100_000_000,
        "financial_assets": 4_000_000,
        "basic_livelihood": False,
        "on": date(2021, 6, 1),
        "age": 55,
        "disabled": False,
    }
    values.update(kw)
    return Inputs(**values)  # type: ignore[arg-type]


def test_the_2021_file_carries_the_brief_table() -> None:
    [national] = [s for s in POLICY.schemes if s.id == "national"]
    assert list(national.income_limit) == NATIONAL_75
    assert POLICY.year == 2021 and list(POLICY.living) == LIVING
    # The median is consistent with the brief's 75% figures (rounded half up).
    assert [int(m * 0.75 + 0.5) for m in MEDIAN] == NATIONAL_75
    [seoul] = [s for s in POLICY.schemes if s.id == "seoul"]
    assert list(seoul.income_limit) == SEOUL_85 and list(POLICY.care_free_income_limit) == SEOUL_85


@pytest.mark.parametrize("size", range(1, 7))
@pytest.mark.parametrize(("offset", "passes"), [(-1, True), (0, True), (1, False)])
def test_income_thresholds_at_under_and_over(size: int, offset: int, passes: bool) -> None:
    national = screen(POLICY, inputs(size, NATIONAL_75[size - 1] + offset))
    assert national.eligible("national") is passes
    [line] = [
        ln for s in national.schemes if s.scheme == "national" for ln in s.lines if ln.criterion == "income"
    ]
    assert line.threshold == NATIONAL_75[size - 1] and line.value == NATIONAL_75[size - 1] + offset
    assert line.passed is passes and "75%" in line.label
    seoul = screen(POLICY, inputs(size, SEOUL_85[size - 1] + offset))
    assert seoul.eligible("seoul") is passes
    # Between the two limits: Seoul yes, national no.
    assert seoul.eligible("national") is False


@pytest.mark.parametrize(
    ("field", "limit_national", "limit_seoul"),
    [("property_value", 188_000_000, 257_000_000), ("financial_assets", 5_000_000, 10_000_000)],
)
def test_property_and_financial_limits(field: str, limit_national: int, limit_seoul: int) -> None:
    for size in range(1, 7):
        at = screen(POLICY, inputs(size, 1_000_000, **{field: limit_national}))
        assert at.eligible("national") is True
        over = screen(POLICY, inputs(size, 1_000_000, **{field: limit_national + 1}))
        assert over.eligible("seoul") is True
        if field == "property_value":
            assert over.eligible("national") is False
        seoul_over = screen(POLICY, inputs(size, 1_000_000, **{field: limit_seoul + 1}))
        assert seoul_over.eligible("seoul") is False
        assert screen(POLICY, inputs(size, 1_000_000, **{field: limit_seoul})).eligible("seoul") is True


def test_financial_assets_between_5_and_7_million_qualify_for_housing_support_only() -> None:
    result = screen(POLICY, inputs(3, 1_000_000, financial_assets=6_500_000))
    [national] = [s for s in result.schemes if s.scheme == "national"]
    assert national.eligible is True and national.housing_only
    assert [(i.type, i.amount) for i in result.support] == [("housing", 643_200)]
    over = screen(POLICY, inputs(3, 1_000_000, financial_assets=7_000_001))
    assert over.eligible("national") is False and over.support == ()


def test_basic_livelihood_recipients_only_in_seoul() -> None:
    result = screen(POLICY, inputs(2, 1_000_000, basic_livelihood=True))
    assert result.eligible("national") is False and result.eligible("seoul") is True


@pytest.mark.parametrize("size", range(1, 7))
def test_support_amounts_by_size(size: int) -> None:
    result = screen(POLICY, inputs(size, 0, students={"elementary": 1, "high": 2}, on=date(2021, 11, 5)))
    amounts = {(i.type, i.item): i.amount for i in result.support}
    assert amounts[("living", "living")] == LIVING[size - 1]
    assert amounts[("housing", "housing")] == HOUSING[size - 1]
    assert amounts[("medical", "medical")] == 3_000_000
    assert amounts[("education", "elementary")] == 221_600 and amounts[("education", "high")] == 2 * 432_200
    assert amounts[("other", "heating")] == 98_000  # November is in the heating season
    assert {("other", "childbirth"), ("other", "funeral"), ("other", "electricity")} <= set(amounts)
    summer = screen(POLICY, inputs(size, 0, on=date(2021, 7, 1)))
    assert ("other", "heating") not in {(i.type, i.item) for i in summer.support}


def test_households_beyond_six_add_the_last_step() -> None:
    seven = screen(POLICY, inputs(7, NATIONAL_75[5] + (NATIONAL_75[5] - NATIONAL_75[4])))
    assert seven.eligible("national") is True
    assert screen(POLICY, inputs(7, 2 * NATIONAL_75[5] - NATIONAL_75[4] + 1)).eligible("national") is False


def test_missing_inputs_are_named_not_guessed() -> None:
    result = screen(
        POLICY, inputs(None, None, financial_assets=None, basic_livelihood=None, age=None, disabled=None)
    )
    assert set(result.missing) == {
        "household_size",
        "monthly_income",
        "financial_assets",
        "protection_status",
        "age or disabled (care SOS)",
    }
    assert result.eligible("national") is None and result.eligible("seoul") is None
    assert result.care_sos.eligible is None and result.support == ()
    # A failing line decides even while another is missing.
    decided = screen(POLICY, inputs(2, None, property_value=300_000_000))
    assert decided.eligible("national") is False and decided.eligible("seoul") is False
    assert decided.missing == ("monthly_income",)


def test_care_sos() -> None:
    free = screen(POLICY, inputs(1, SEOUL_85[0], age=50)).care_sos
    assert free.eligible is True and free.cost == "free" and free.annual_cap == 1_580_000
    paid = screen(POLICY, inputs(1, SEOUL_85[0] + 1, age=50)).care_sos
    assert paid.cost == "self_paid"
    young = screen(POLICY, inputs(1, 0, age=49, disabled=False)).care_sos
    assert young.eligible is False and young.cost == "not_eligible"
    disabled = screen(POLICY, inputs(1, 0, age=30, disabled=True)).care_sos
    assert disabled.eligible is True and disabled.cost == "free"
    unknown = screen(POLICY, inputs(1, 0, age=40, disabled=None)).care_sos
    assert unknown.eligible is None


def test_negative_values_and_dates_without_policy_are_refused() -> None:
    with pytest.raises(Invalid):
        screen(POLICY, inputs(1, -1))
    with pytest.raises(Invalid):
        policy_for(date(2020, 12, 31))
    assert policy_for(date(2030, 1, 1)).year == max(p.year for p in load_all())
