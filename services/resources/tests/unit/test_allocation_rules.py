"""Pure rules for answering service requests, the chart's code shapes and idempotency keys."""

from __future__ import annotations

import pytest

from heemang_resources.domain import allocations as rules
from heemang_resources.domain.care_caps import CATALOGUE_2022, CareService, CareUsage
from heemang_resources.domain.chart import account_of, kind_of
from heemang_resources.domain.errors import InvalidEntry
from heemang_resources.domain.idempotency import MissingKey, check_key, fingerprint
from heemang_resources.domain.ledger import AccountKind, FundingSource, budget_line, designated_fund


def ask(code: str, amount: int, quantity: int | None = None) -> rules.SupportRequest:
    return rules.SupportRequest(code, amount, quantity, "h-1")


def test_care_requests_are_priced_by_the_catalogue() -> None:
    grant = rules.price(ask("care_sos.home_care", 0, 2), CATALOGUE_2022, [])
    assert grant == rules.Grant(96_340, 2, CareService.home_care)
    quoted = rules.price(ask("care_sos.laundry", 40_000, 2), CATALOGUE_2022, [])
    assert quoted == rules.Grant(40_000, 2, CareService.laundry)
    odd = rules.price(ask("care_sos.laundry", 40_001, 2), CATALOGUE_2022, [])
    assert isinstance(odd, rules.Refusal) and odd.reason == "not_eligible"


def test_refusal_reasons_map_the_cap_codes() -> None:
    used = [CareUsage(CareService.meals, 30, 234_000)]
    assert rules.price(ask("care_sos.meals", 7_800, 1), CATALOGUE_2022, used) == rules.Refusal(
        "cap_exceeded", "meals: 30 of 30 meals (30 meals) used this year, 0 left, 1 requested"
    )
    assert rules.price(ask("care_sos.spa", 1, 1), CATALOGUE_2022, []).reason == "unknown_service"  # type: ignore[union-attr]
    assert rules.price(ask("loans.payday", 1), CATALOGUE_2022, []).reason == "unknown_service"  # type: ignore[union-attr]
    assert rules.price(ask("emergency.living", 1_722_101), CATALOGUE_2022, []).reason == "cap_exceeded"  # type: ignore[union-attr]


def test_fund_checks() -> None:
    budget = budget_line("care-sos", FundingSource.city)
    assert rules.check_fund(budget, budget.code, "h-1", 100, 100) is None
    short = rules.check_fund(budget, budget.code, "h-1", 101, 100)
    assert short is not None and short.reason == "budget_exhausted"
    theirs = designated_fund(household="h-2")
    assert rules.check_fund(theirs, theirs.code, "h-1", 1, 10).reason == "not_eligible"  # type: ignore[union-attr]
    assert rules.check_fund(None, "fund:general", "h-1", 1, 0).reason == "fund_insufficient"  # type: ignore[union-attr]
    assert rules.purpose("care_sos.meals") == "care-sos" and rules.default_fund("emergency.x") is not None


def test_account_codes_have_their_kinds_shape() -> None:
    assert account_of(AccountKind.budget_line, "budget:care-sos:city").funding_source is FundingSource.city
    for kind, code in [
        (AccountKind.general_fund, "fund:general:x"),
        (AccountKind.budget_line, "budget:care-sos:county"),
        (AccountKind.voucher_wallet, "wallet:only-programme"),
        (AccountKind.donations_received, "ext:donations:crypto"),
    ]:
        with pytest.raises(InvalidEntry):
            account_of(kind, code)
    assert kind_of("ext:redeemed:shop-1") is AccountKind.voucher_redeemed and kind_of("nope") is None


def test_idempotency_keys_and_fingerprints() -> None:
    with pytest.raises(MissingKey):
        check_key("short")
    assert check_key("3f0c9a5e-8d1b-4c7a") == "3f0c9a5e-8d1b-4c7a"
    a = fingerprint("post", "/x", {"a": 1, "b": [1, 2]})
    assert a == fingerprint("POST", "/x", {"b": [1, 2], "a": 1})  # key order does not matter
    assert a != fingerprint("POST", "/y", {"a": 1, "b": [1, 2]}) != fingerprint("POST", "/x", {"a": 2})
