"""The double-entry ledger: examples, then a stateful property test for RELIABILITY.md T9."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from heemang_common.errors import Conflict, Invalid
from heemang_resources.domain.errors import (
    AccountExists,
    AlreadyReversed,
    DuplicateEntry,
    IdempotencyConflict,
    InvalidEntry,
    InvalidReversal,
    Overdraft,
    Unbalanced,
    UnknownAccount,
    UnknownEntry,
)
from heemang_resources.domain.ledger import (
    Account,
    AccountKind,
    FundingSource,
    JournalEntry,
    Ledger,
    Posting,
    Side,
    appropriation,
    budget_line,
    campaign_fund,
    credit,
    debit,
    designated_fund,
    disbursed,
    distributed_in_kind,
    donations_received,
    general_fund,
    in_kind_stock,
    reverse,
    voucher_redeemed,
    voucher_wallet,
    written_off,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

GENERAL = general_fund()
HOUSEHOLD = designated_fund(household="H-1")
PROGRAMME = designated_fund(programme="dental")
CAMPAIGN = campaign_fund("hope2021")
BUDGET = budget_line("care-sos", FundingSource.district)
WALLET = voucher_wallet("chanchan", "P-7")
STOCK = in_kind_stock()
CASH_IN = donations_received("cash")
GOODS_IN = donations_received("goods")
APPROPRIATION = appropriation(FundingSource.district)
PAID_OUT = disbursed("care-sos")
HANDED_OUT = distributed_in_kind()
SHOP = voucher_redeemed("shop-3")
SPOILED = written_off()
CHART = (
    GENERAL, HOUSEHOLD, PROGRAMME, CAMPAIGN, BUDGET, WALLET, STOCK,
    CASH_IN, GOODS_IN, APPROPRIATION, PAID_OUT, HANDED_OUT, SHOP, SPOILED,
)  # fmt: skip
INTERNAL = tuple(a for a in CHART if a.internal)


def entry(
    key: str, *lines: Posting, memo: str = "", at: datetime = T0, id: str | None = None
) -> JournalEntry:
    return JournalEntry(id=id or f"e-{key}", posted_at=at, memo=memo, idempotency_key=key, lines=lines)


def move(key: str, source: Account, target: Account, amount: int, **kw: object) -> JournalEntry:
    """Value flows from source to target: debit the receiver, credit the giver."""
    return entry(key, debit(target, amount), credit(source, amount), **kw)  # type: ignore[arg-type]


def funded() -> Ledger:
    return Ledger.empty(CHART).post(move("don-1", CASH_IN, HOUSEHOLD, 100_000)).ledger


# --- entries -----------------------------------------------------------------------


def test_an_entry_is_immutable_and_keeps_its_lines_as_a_tuple() -> None:
    e = entry("k", debit(HOUSEHOLD, 5), credit(CASH_IN, 5))
    assert isinstance(e.lines, tuple)
    with pytest.raises(AttributeError):
        e.memo = "edited"  # type: ignore[misc]


@pytest.mark.parametrize("amount", [1.0, 100.5, True, False, "100", None, 0, -5, 10**15 + 1])
def test_amounts_are_positive_integer_krw(amount: object) -> None:
    with pytest.raises(InvalidEntry):
        Posting(HOUSEHOLD.code, Side.debit, amount)  # type: ignore[arg-type]


def test_an_unbalanced_entry_cannot_exist() -> None:
    with pytest.raises(Unbalanced) as raised:
        entry("k", debit(HOUSEHOLD, 100), credit(CASH_IN, 99))
    assert raised.value.status == 422 and isinstance(raised.value, Invalid)


def test_compound_entries_balance_over_all_lines() -> None:
    e = entry("k", debit(HOUSEHOLD, 70), debit(GENERAL, 30), credit(CASH_IN, 100))
    assert e.total == 100


@pytest.mark.parametrize(
    "lines",
    [
        (debit(HOUSEHOLD, 5),),
        (),
        (debit(HOUSEHOLD, 5), credit(HOUSEHOLD, 5)),
        (debit(HOUSEHOLD, 5), debit(HOUSEHOLD, 5), credit(CASH_IN, 10)),
    ],
)
def test_fewer_than_two_lines_or_a_repeated_account_is_refused(lines: tuple[Posting, ...]) -> None:
    with pytest.raises(InvalidEntry):
        entry("k", *lines)


def test_naive_timestamps_and_missing_keys_are_refused() -> None:
    with pytest.raises(InvalidEntry):
        entry("k", debit(HOUSEHOLD, 5), credit(CASH_IN, 5), at=datetime(2026, 1, 1))
    with pytest.raises(InvalidEntry):
        entry("", debit(HOUSEHOLD, 5), credit(CASH_IN, 5))


def test_side_must_be_debit_or_credit() -> None:
    with pytest.raises(InvalidEntry):
        Posting(HOUSEHOLD.code, "sideways", 5)  # type: ignore[arg-type]


# --- accounts ----------------------------------------------------------------------


def test_account_kinds_decide_sides_and_overdraft() -> None:
    assert all(not a.may_go_negative and a.normal_side is Side.debit for a in INTERNAL)
    assert CASH_IN.normal_side is Side.credit and APPROPRIATION.normal_side is Side.credit
    assert PAID_OUT.normal_side is Side.debit and PAID_OUT.may_go_negative
    assert BUDGET.funding_source is FundingSource.district
    assert {a.kind for a in CHART} == set(AccountKind)


def test_account_definitions_are_checked() -> None:
    with pytest.raises(InvalidEntry):
        Account("budget:x", AccountKind.budget_line)  # no funding source
    with pytest.raises(InvalidEntry):
        Account("fund:general", AccountKind.general_fund, FundingSource.city)
    with pytest.raises(InvalidEntry):
        designated_fund()
    with pytest.raises(InvalidEntry):
        Account("fund::x", AccountKind.general_fund)
    with pytest.raises(InvalidEntry):
        donations_received("crypto")


def test_reopening_is_a_no_op_but_redefining_is_refused() -> None:
    ledger = Ledger.empty(CHART)
    assert ledger.open(GENERAL).accounts == ledger.accounts
    with pytest.raises(AccountExists):
        ledger.open(Account(GENERAL.code, AccountKind.campaign_fund))


def test_unknown_accounts_are_refused() -> None:
    with pytest.raises(UnknownAccount):
        Ledger.empty([CASH_IN]).post(move("k", CASH_IN, HOUSEHOLD, 5))
    with pytest.raises(UnknownAccount):
        Ledger.empty().balance("fund:nowhere")


# --- posting -----------------------------------------------------------------------


def test_a_donation_credits_the_source_and_debits_the_fund() -> None:
    ledger = funded()
    assert ledger.balance(HOUSEHOLD) == 100_000
    assert ledger.balance(CASH_IN) == 100_000  # a source shows its intake on its credit side
    assert ledger.raw_balance(CASH_IN) == -100_000
    assert ledger.trial_balance() == 0


def test_posting_returns_a_new_ledger_and_leaves_the_old_one_alone() -> None:
    before = Ledger.empty(CHART)
    after = before.post(move("k", CASH_IN, GENERAL, 10)).ledger
    assert before.balance(GENERAL) == 0 and after.balance(GENERAL) == 10
    assert before.entries == () and len(after.entries) == 1


def test_an_overdraft_is_refused_with_the_shortfall() -> None:
    ledger = funded()
    with pytest.raises(Overdraft) as raised:
        ledger.post(move("pay", HOUSEHOLD, PAID_OUT, 100_001))
    assert raised.value.status == 409 and isinstance(raised.value, Conflict)
    assert raised.value.extensions == {"account": HOUSEHOLD.code, "balance": 100_000, "shortfall": 1}


def test_spending_exactly_the_balance_is_allowed() -> None:
    ledger = funded().post(move("pay", HOUSEHOLD, PAID_OUT, 100_000)).ledger
    assert ledger.balance(HOUSEHOLD) == 0 and ledger.balance(PAID_OUT) == 100_000


@pytest.mark.parametrize("account", [WALLET, BUDGET, STOCK, GENERAL, CAMPAIGN, PROGRAMME])
def test_no_internal_account_goes_negative(account: Account) -> None:
    with pytest.raises(Overdraft):
        Ledger.empty(CHART).post(move("k", account, PAID_OUT, 1))


def test_boundary_accounts_may_go_negative() -> None:
    ledger = Ledger.empty(CHART).post(move("k", PAID_OUT, GENERAL, 5)).ledger  # a refund back in
    assert ledger.balance(PAID_OUT) == -5


def test_same_key_same_body_returns_the_first_result() -> None:
    ledger = Ledger.empty(CHART)
    first = ledger.post(move("key-1", CASH_IN, GENERAL, 10, id="a"))
    retry_e = entry("key-1", credit(CASH_IN, 10), debit(GENERAL, 10), id="b", at=T0 + timedelta(hours=1))
    retry = first.ledger.post(retry_e)
    assert retry.replayed and not first.replayed
    assert retry.entry is first.entry and retry.ledger is first.ledger
    assert retry.ledger.balance(GENERAL) == 10


def test_same_key_other_body_is_an_idempotency_conflict() -> None:
    ledger = Ledger.empty(CHART).post(move("key-1", CASH_IN, GENERAL, 10)).ledger
    for other in (
        move("key-1", CASH_IN, GENERAL, 11),
        move("key-1", CASH_IN, CAMPAIGN, 10),
        move("key-1", CASH_IN, GENERAL, 10, memo="another memo"),
    ):
        with pytest.raises(IdempotencyConflict) as raised:
            ledger.post(other)
        assert raised.value.status == 422
    assert ledger.balance(GENERAL) == 10


def test_a_reused_entry_id_under_another_key_is_a_duplicate() -> None:
    ledger = Ledger.empty(CHART).post(move("key-1", CASH_IN, GENERAL, 10, id="e")).ledger
    with pytest.raises(DuplicateEntry):
        ledger.post(move("key-2", CASH_IN, GENERAL, 10, id="e"))


def test_a_refused_posting_leaves_its_key_free_for_a_retry() -> None:
    ledger = Ledger.empty(CHART)
    charge = move("charge-1", WALLET, SHOP, 40_000)
    with pytest.raises(Overdraft):
        ledger.post(charge)
    ledger = ledger.post(move("appr", APPROPRIATION, BUDGET, 40_000)).ledger
    ledger = ledger.post(move("top-up", BUDGET, WALLET, 40_000)).ledger
    posted = ledger.post(charge)
    assert not posted.replayed and posted.ledger.balance(WALLET) == 0


def test_post_rechecks_balance_even_on_a_tampered_entry() -> None:
    e = move("k", CASH_IN, GENERAL, 10)
    object.__setattr__(e, "lines", (debit(GENERAL, 10), credit(CASH_IN, 9)))
    with pytest.raises(Unbalanced):
        Ledger.empty(CHART).post(e)


def test_ledger_views_are_read_only() -> None:
    ledger = funded()
    with pytest.raises(TypeError):
        ledger.totals[GENERAL.code] = ledger.totals[HOUSEHOLD.code]  # type: ignore[index]


# --- reversals ---------------------------------------------------------------------


def test_a_reversal_mirrors_the_entry_and_restores_balances() -> None:
    ledger = Ledger.empty(CHART)
    donation = move("k", CASH_IN, HOUSEHOLD, 500)
    ledger = ledger.post(donation).ledger
    undo = reverse(donation, posted_at=T0 + timedelta(days=1))
    assert undo.reverses == donation.id and undo.idempotency_key == "reverse:e-k"
    assert sorted((x.account, x.side) for x in undo.lines) == [
        (CASH_IN.code, Side.debit),
        (HOUSEHOLD.code, Side.credit),
    ]
    ledger = ledger.post(undo).ledger
    assert ledger.balance(HOUSEHOLD) == 0 and ledger.balance(CASH_IN) == 0
    assert len(ledger.entries) == 2 and ledger.entry(donation.id) == donation  # history kept
    assert ledger.is_reversed(donation.id)


def test_reversing_twice_replays_then_refuses_under_a_new_key() -> None:
    donation = move("k", CASH_IN, HOUSEHOLD, 500)
    ledger = Ledger.empty(CHART).post(donation).ledger
    ledger = ledger.post(reverse(donation, posted_at=T0)).ledger
    assert ledger.post(reverse(donation, posted_at=T0)).replayed
    with pytest.raises(AlreadyReversed):
        ledger.post(reverse(donation, posted_at=T0, id="r2", idempotency_key="other"))


def test_a_reversal_that_would_overdraw_is_refused() -> None:
    donation = move("k", CASH_IN, HOUSEHOLD, 500)
    ledger = Ledger.empty(CHART).post(donation).ledger
    ledger = ledger.post(move("pay", HOUSEHOLD, PAID_OUT, 300)).ledger
    with pytest.raises(Overdraft):
        ledger.post(reverse(donation, posted_at=T0))
    assert not ledger.is_reversed(donation.id)


def test_bad_reversals_are_refused() -> None:
    donation = move("k", CASH_IN, HOUSEHOLD, 500)
    ledger = Ledger.empty(CHART).post(donation).ledger
    with pytest.raises(UnknownEntry):
        ledger.post(reverse(move("ghost", CASH_IN, HOUSEHOLD, 5), posted_at=T0))
    forged = JournalEntry("f", T0, "", "f", [debit(CASH_IN, 400), credit(HOUSEHOLD, 400)], reverses="e-k")
    with pytest.raises(InvalidReversal):
        ledger.post(forged)
    undo = reverse(donation, posted_at=T0)
    ledger = ledger.post(undo).ledger
    with pytest.raises(InvalidReversal):
        ledger.post(reverse(undo, posted_at=T0))


# --- business events as in docs/resources.md ---------------------------------------


def test_the_documented_business_events_keep_the_books() -> None:
    events = [
        move("cash-general", CASH_IN, GENERAL, 1_000_000),
        move("cash-designated", CASH_IN, HOUSEHOLD, 300_000),
        move("campaign", CASH_IN, CAMPAIGN, 200_000),
        move("goods", GOODS_IN, STOCK, 150_000),
        move("appropriation", APPROPRIATION, BUDGET, 5_000_000),
        move("care-sos-delivered", HOUSEHOLD, PAID_OUT, 96_340),
        move("goods-delivered", STOCK, HANDED_OUT, 40_000),
        move("goods-expired", STOCK, SPOILED, 10_000),
        move("voucher-top-up", BUDGET, WALLET, 40_000),
        move("voucher-charge", WALLET, SHOP, 12_500),
        move("budget-spending", BUDGET, PAID_OUT, 1_580_000),
    ]
    ledger = Ledger.empty(CHART)
    for e in events:
        ledger = ledger.post(e).ledger
    assert ledger.trial_balance() == 0
    assert ledger.balance(WALLET) == 27_500
    assert ledger.balance(STOCK) == 100_000
    assert ledger.balance(BUDGET) == 5_000_000 - 40_000 - 1_580_000
    assert ledger.totals[BUDGET.code].debits == 5_000_000  # budget amount (예산액)
    assert ledger.totals[BUDGET.code].credits == 1_620_000  # executed (집행액)


# --- T9: stateful property test ----------------------------------------------------

amounts = st.integers(min_value=1, max_value=2_000_000)
internal = st.sampled_from(INTERNAL)
sources = st.sampled_from((CASH_IN, GOODS_IN, APPROPRIATION))
sinks = st.sampled_from((PAID_OUT, HANDED_OUT, SHOP, SPOILED))


class LedgerMachine(RuleBasedStateMachine):
    """Random donations, disbursements, transfers, splits, reversals and replays. A
    dictionary model tracks what each account should hold, independently of the ledger."""

    posted = Bundle("posted")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger.empty(CHART)
        self.model: Counter[str] = Counter()  # raw balance (debits − credits) per account
        self.n = 0
        self.steps = 0

    def _next(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def _post(self, e: JournalEntry) -> JournalEntry | None:
        """Post and check the model: accepted iff no internal account would go negative."""
        after = self.model.copy()
        for line in e.lines:
            after[line.account] += line.amount if line.side is Side.debit else -line.amount
        overdraws = any(after[a.code] < 0 for a in INTERNAL)
        before = self.ledger
        try:
            self.ledger = self.ledger.post(e).ledger
        except Overdraft:
            assert overdraws, "refused a posting the model allows"
            assert self.ledger is before
            event("overdraft refused" + (" (reversal)" if e.reverses else ""))
            return None
        assert not overdraws, "accepted an overdraft"
        event("posted" + (" (reversal)" if e.reverses else ""))
        self.model = after
        return e

    @rule(target=posted, source=sources, fund=internal, amount=amounts)
    def donate(self, source: Account, fund: Account, amount: int) -> JournalEntry | None:
        return self._post(move(self._next(), source, fund, amount))

    @rule(target=posted, fund=internal, sink=sinks, amount=amounts)
    def disburse(self, fund: Account, sink: Account, amount: int) -> JournalEntry | None:
        return self._post(move(self._next(), fund, sink, amount))

    @rule(target=posted, a=internal, b=internal, amount=amounts)
    def transfer(self, a: Account, b: Account, amount: int) -> JournalEntry | None:
        if a == b:
            return None
        return self._post(move(self._next(), a, b, amount))

    @rule(target=posted, source=sources, a=internal, b=internal, x=amounts, y=amounts)
    def split_donation(self, source: Account, a: Account, b: Account, x: int, y: int) -> JournalEntry | None:
        if a == b:
            return None
        return self._post(entry(self._next(), debit(a, x), debit(b, y), credit(source, x + y)))

    @rule(original=consumes(posted))
    def reverse_one(self, original: JournalEntry | None) -> None:
        if original is None:
            return
        # consumes(): an entry is reversed at most once here; twice is an example test.
        assert not self.ledger.is_reversed(original.id)
        self._post(reverse(original, posted_at=T0))

    @rule(original=posted)
    def replay(self, original: JournalEntry | None) -> None:
        if original is None:
            return
        before = self.ledger
        retry = JournalEntry("retry", T0 + timedelta(seconds=1), original.memo, original.idempotency_key,
                             tuple(reversed(original.lines)))  # fmt: skip
        result = self.ledger.post(retry)
        assert result.replayed and result.ledger is before and result.entry == original

    @rule(original=posted, change=st.sampled_from(["amounts", "memo"]))
    def reuse_key_with_another_body(self, original: JournalEntry | None, change: str) -> None:
        if original is None:
            return
        memo = original.memo + " (edited)" if change == "memo" else original.memo
        factor = 2 if change == "amounts" else 1
        lines = [Posting(x.account, x.side, x.amount * factor) for x in original.lines]
        before = self.ledger
        with pytest.raises(IdempotencyConflict):
            self.ledger.post(JournalEntry("clash", T0, memo, original.idempotency_key, lines))
        assert self.ledger is before

    def teardown(self) -> None:
        event(f"steps: {self.steps // 10 * 10}+")
        event(f"entries: {len(self.ledger.entries) // 10 * 10}+")

    @invariant()
    def every_entry_balances(self) -> None:
        for e in self.ledger.entries:
            assert sum(x.amount for x in e.lines if x.side is Side.debit) == sum(
                x.amount for x in e.lines if x.side is Side.credit
            )

    @invariant()
    def trial_balance_is_zero(self) -> None:
        self.steps += 1
        assert self.ledger.trial_balance() == 0
        assert sum(self.model.values()) == 0

    @invariant()
    def balance_is_in_minus_out(self) -> None:
        derived: Counter[str] = Counter()
        for e in self.ledger.entries:
            for x in e.lines:
                derived[x.account] += x.amount if x.side is Side.debit else -x.amount
        for account in CHART:
            raw = self.ledger.raw_balance(account)
            assert raw == derived[account.code] == self.model[account.code]

    @invariant()
    def no_forbidden_negative(self) -> None:
        assert all(self.ledger.balance(a) >= 0 for a in CHART if not a.may_go_negative)


LedgerMachine.TestCase.settings = settings(
    max_examples=1_000,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_ledger_invariants = LedgerMachine.TestCase
