"""Pure rules: budget execution rates, allowance plans, food bank picking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_resources.domain.allowances import PERIOD, Enrolled, plan
from heemang_resources.domain.budgets import BudgetMovement, by_source, execution, rate_permille
from heemang_resources.domain.foodbank import InsufficientStock, Lot, expiring, pick
from heemang_resources.domain.ledger import FundingSource, Side


def test_execution_classifies_appropriations_and_nets_reversals() -> None:
    rows = execution(
        [
            BudgetMovement("budget:care:national", Side.debit, True, 1000),
            BudgetMovement("budget:care:national", Side.credit, False, 300),
            BudgetMovement("budget:care:national", Side.debit, False, 100),  # a reversed spending
            BudgetMovement("budget:care:city", Side.debit, True, 500),
            BudgetMovement("budget:care:city", Side.credit, True, 100),  # a reversed appropriation
        ]
    )
    assert [(r.source, r.budget, r.executed, str(r.rate_percent)) for r in rows] == [
        (FundingSource.national, 1000, 200, "20.0"),
        (FundingSource.city, 400, 0, "0.0"),
        (None, 1400, 200, "14.3"),
    ]
    assert [(r.line, r.source) for r in by_source(rows)] == [
        ("*", FundingSource.national),
        ("*", FundingSource.city),
    ]


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_rate_is_exact_half_up(part: int, whole: int) -> None:
    from decimal import ROUND_HALF_UP, Decimal

    expected = (Decimal(part) * 1000 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert rate_permille(part, whole) == int(expected)


def test_allowance_plans_never_include_the_paid_or_ineligible() -> None:
    people = [
        Enrolled("a", date(2026, 1, 1), None),
        Enrolled("b", date(2026, 1, 1), date(2026, 10, 31)),
        Enrolled("c", date(2026, 11, 15), None),
        Enrolled("d", date(2026, 1, 1), None),
    ]
    p = plan(people, {"d"}, date(2026, 11, 20), 50_000)
    assert (p.due, p.already_paid, p.total) == (["a", "c"], ["d"], 100_000)
    assert PERIOD.match("2026-chuseok") and PERIOD.match("2026-11") and not PERIOD.match("2026-13")


def test_food_goes_out_first_expiring_first_and_never_expired() -> None:
    on = date(2026, 11, 20)
    lots = [
        Lot("expired", 5, 100, date(2026, 11, 19)),
        Lot("no-expiry", 5, 300, None),
        Lot("late", 5, 200, date(2027, 1, 1)),
        Lot("soon", 2, 400, date(2026, 11, 21)),
    ]
    takes = pick(lots, 8, on)
    assert [(t.lot_id, t.quantity, t.value) for t in takes] == [
        ("soon", 2, 800),
        ("late", 5, 1000),
        ("no-expiry", 1, 300),
    ]
    with pytest.raises(InsufficientStock):
        pick(lots, 13, on)
    assert [x.id for x in expiring(lots, on, date(2026, 11, 27))] == ["expired", "soon"]
