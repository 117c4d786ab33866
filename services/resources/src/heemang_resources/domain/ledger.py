"""A pure double-entry ledger in integer KRW (chart of accounts: docs/resources.md).

Sign convention (standard double entry): every posting is a debit or a credit; an
account's *raw* balance is Σdebits − Σcredits, so Σ raw balances over all accounts is 0
after any sequence of balanced entries (the trial balance). Internal accounts (funds,
budget lines, wallets, in-kind stock) are assets, debit-normal: a debit brings value in, a
credit takes it out, balance = in − out. Boundary accounts stand for the outside world:
sources (donations received, appropriations) are credit-normal, sinks (disbursed,
distributed, redeemed, written off) debit-normal; `balance()` shows each on its normal side,
so a source's balance is what it has brought in so far.

State is immutable: `Ledger.post` returns a new `Ledger` and never touches the old one, so a
rejected posting provably changes nothing. Balances are derived from entries only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

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

# One line at most 10^15 KRW (a thousand trillion, above any national budget): sums of many
# lines then stay far inside PostgreSQL BIGINT (9.2 × 10^18) in the persistence increment.
MAX_AMOUNT = 10**15

_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+$")


class Side(StrEnum):
    debit = "debit"
    credit = "credit"

    @property
    def opposite(self) -> Side:
        return Side.credit if self is Side.debit else Side.debit


class FundingSource(StrEnum):
    national = "national"  # 국비
    city = "city"  # 시비
    district = "district"  # 구비
    special = "special"  # 특 (special grants, e.g. 특별교부금)


class AccountKind(StrEnum):
    # Internal accounts: value the department holds; none may go negative.
    general_fund = "general_fund"
    designated_fund = "designated_fund"
    campaign_fund = "campaign_fund"
    budget_line = "budget_line"
    voucher_wallet = "voucher_wallet"
    in_kind_stock = "in_kind_stock"
    # Boundary sources (credit-normal): where value enters the ledger from outside.
    donations_received = "donations_received"
    appropriation = "appropriation"
    # Boundary sinks (debit-normal): where value leaves the ledger.
    disbursed = "disbursed"
    distributed_in_kind = "distributed_in_kind"
    voucher_redeemed = "voucher_redeemed"
    written_off = "written_off"


_INTERNAL = frozenset(
    {
        AccountKind.general_fund,
        AccountKind.designated_fund,
        AccountKind.campaign_fund,
        AccountKind.budget_line,
        AccountKind.voucher_wallet,
        AccountKind.in_kind_stock,
    }
)
_SOURCES = frozenset({AccountKind.donations_received, AccountKind.appropriation})


def require_krw(value: object, what: str = "amount") -> int:
    """An amount must be a plain int: floats lose won, bools are ints by accident."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEntry(f"{what} must be an integer number of KRW, got {type(value).__name__}")
    if value <= 0:
        raise InvalidEntry(f"{what} must be positive, got {value}")
    if value > MAX_AMOUNT:
        raise InvalidEntry(f"{what} exceeds {MAX_AMOUNT} KRW")
    return value


@dataclass(frozen=True)
class Account:
    code: str
    kind: AccountKind
    funding_source: FundingSource | None = None

    def __post_init__(self) -> None:
        if not self.code or any(not _SEGMENT.match(part) for part in self.code.split(":")):
            raise InvalidEntry(f"bad account code {self.code!r}")
        if (self.kind is AccountKind.budget_line) != (self.funding_source is not None):
            raise InvalidEntry("a budget line, and only a budget line, has a funding source")

    @property
    def internal(self) -> bool:
        return self.kind in _INTERNAL

    @property
    def normal_side(self) -> Side:
        return Side.credit if self.kind in _SOURCES else Side.debit

    @property
    def may_go_negative(self) -> bool:
        """Internal accounts are real holdings (cash, stock, appropriated budget, a wallet's
        credit): a negative one would mean spending what nobody gave. Boundary accounts are
        the outside world and are not limited."""
        return not self.internal


def _code(*parts: str) -> str:
    return ":".join(parts)


def general_fund() -> Account:
    return Account("fund:general", AccountKind.general_fund)


def designated_fund(*, household: str | None = None, programme: str | None = None) -> Account:
    """Money a donor designated to one household (지정성금) or one programme."""
    if (household is None) == (programme is None):
        raise InvalidEntry("a designated fund names exactly one household or one programme")
    if household is not None:
        return Account(_code("fund", "designated", "household", household), AccountKind.designated_fund)
    assert programme is not None
    return Account(_code("fund", "designated", "programme", programme), AccountKind.designated_fund)


def campaign_fund(campaign: str) -> Account:
    return Account(_code("fund", "campaign", campaign), AccountKind.campaign_fund)


def budget_line(line: str, source: FundingSource) -> Account:
    """One account per (line, funding source): execution rates are reported per source."""
    return Account(_code("budget", line, source.value), AccountKind.budget_line, source)


def voucher_wallet(programme: str, holder: str) -> Account:
    return Account(_code("wallet", programme, holder), AccountKind.voucher_wallet)


def in_kind_stock(store: str = "foodbank") -> Account:
    return Account(_code("stock", store), AccountKind.in_kind_stock)


def donations_received(form: str) -> Account:
    """`form` is "cash" (성금) or "goods" (성품, at appraised value 환가)."""
    if form not in ("cash", "goods"):
        raise InvalidEntry(f"donation form must be cash or goods, got {form!r}")
    return Account(_code("ext", "donations", form), AccountKind.donations_received)


def appropriation(source: FundingSource) -> Account:
    return Account(_code("ext", "appropriation", source.value), AccountKind.appropriation)


def disbursed(purpose: str) -> Account:
    return Account(_code("ext", "disbursed", purpose), AccountKind.disbursed)


def distributed_in_kind(store: str = "foodbank") -> Account:
    return Account(_code("ext", "distributed", store), AccountKind.distributed_in_kind)


def voucher_redeemed(shop: str) -> Account:
    return Account(_code("ext", "redeemed", shop), AccountKind.voucher_redeemed)


def written_off(store: str = "foodbank") -> Account:
    return Account(_code("ext", "written_off", store), AccountKind.written_off)


@dataclass(frozen=True, order=True)
class Posting:
    account: str
    side: Side
    amount: int

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account:
            raise InvalidEntry("a posting names an account code")
        object.__setattr__(self, "side", _side(self.side))
        require_krw(self.amount)


def _side(value: object) -> Side:
    if isinstance(value, str) and value in (Side.debit.value, Side.credit.value):
        return Side(value)
    raise InvalidEntry(f"side must be debit or credit, got {value!r}")


def debit(account: Account | str, amount: int) -> Posting:
    return Posting(account.code if isinstance(account, Account) else account, Side.debit, amount)


def credit(account: Account | str, amount: int) -> Posting:
    return Posting(account.code if isinstance(account, Account) else account, Side.credit, amount)


Body = tuple[str, str | None, tuple[Posting, ...]]


@dataclass(frozen=True)
class JournalEntry:
    """An immutable, balanced movement. `reverses` names the entry this one undoes."""

    id: str
    posted_at: datetime
    memo: str
    idempotency_key: str
    lines: Sequence[Posting]
    reverses: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))  # lists in, tuple stored
        self.check()

    def check(self) -> None:
        if not self.id or not self.idempotency_key:
            raise InvalidEntry("an entry needs an id and an idempotency key")
        if not isinstance(self.posted_at, datetime) or self.posted_at.tzinfo is None:
            raise InvalidEntry("posted_at must be a timezone-aware datetime")
        if len(self.lines) < 2 or not all(isinstance(line, Posting) for line in self.lines):
            raise InvalidEntry("an entry has at least two postings")
        accounts = [line.account for line in self.lines]
        if len(set(accounts)) != len(accounts):
            # One line per account: an account both debited and credited in one entry (or
            # twice on one side) only hides the net effect and invites a self-transfer.
            raise InvalidEntry("each account appears at most once in an entry")
        debits = sum(line.amount for line in self.lines if line.side is Side.debit)
        credits = sum(line.amount for line in self.lines if line.side is Side.credit)
        if debits != credits:
            raise Unbalanced(f"debits {debits} ≠ credits {credits}", debits=debits, credits=credits)

    def body(self) -> Body:
        """What an idempotent retry must repeat. Id and posted_at are excluded (the server
        assigns them per attempt); line order is too, as it does not change the effect."""
        return (self.memo, self.reverses, tuple(sorted(self.lines)))

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines if line.side is Side.debit)


def reverse(
    entry: JournalEntry,
    *,
    posted_at: datetime,
    id: str | None = None,
    memo: str | None = None,
    idempotency_key: str | None = None,
) -> JournalEntry:
    """The mirror of `entry` (a mistake is reversed, never edited). The default key is
    derived from the entry, so reversing twice is an idempotent replay, not two reversals."""
    return JournalEntry(
        id=id or f"{entry.id}.reversal",
        posted_at=posted_at,
        memo=memo if memo is not None else f"reversal of {entry.id}: {entry.memo}",
        idempotency_key=idempotency_key or f"reverse:{entry.id}",
        lines=tuple(Posting(line.account, line.side.opposite, line.amount) for line in entry.lines),
        reverses=entry.id,
    )


@dataclass(frozen=True)
class Totals:
    debits: int = 0
    credits: int = 0

    def add(self, line: Posting) -> Totals:
        if line.side is Side.debit:
            return Totals(self.debits + line.amount, self.credits)
        return Totals(self.debits, self.credits + line.amount)

    @property
    def raw(self) -> int:
        return self.debits - self.credits


@dataclass(frozen=True)
class Posted:
    ledger: Ledger
    entry: JournalEntry
    replayed: bool  # True: the key was seen with this body; `entry` is the first one


@dataclass(frozen=True)
class Ledger:
    """Ledger state. The mappings are read-only views that `post` copies (O(accounts +
    entries) a post: fine in memory; the persistence increment keeps balances in rows).
    A refused posting leaves no trace, so its idempotency key stays free for a retry: only
    accepted postings are memoised (RELIABILITY.md T10)."""

    accounts: Mapping[str, Account] = field(default_factory=dict)
    totals: Mapping[str, Totals] = field(default_factory=dict)
    entries: tuple[JournalEntry, ...] = ()
    by_id: Mapping[str, JournalEntry] = field(default_factory=dict)
    by_key: Mapping[str, JournalEntry] = field(default_factory=dict)
    reversed_ids: frozenset[str] = frozenset()

    @classmethod
    def empty(cls, accounts: Iterable[Account] = ()) -> Ledger:
        return cls().open(*accounts)

    def open(self, *accounts: Account) -> Ledger:
        """Open accounts; reopening one with the same definition is a no-op."""
        opened = dict(self.accounts)
        for account in accounts:
            known = opened.get(account.code)
            if known is not None and known != account:
                raise AccountExists(f"{account.code} is already open as {known.kind}", account=account.code)
            opened[account.code] = account
        return replace(self, accounts=MappingProxyType(opened))

    def post(self, entry: JournalEntry) -> Posted:
        entry.check()
        first = self.by_key.get(entry.idempotency_key)
        if first is not None:
            return Posted(self, self._replay(first, entry), replayed=True)
        if entry.id in self.by_id:
            raise DuplicateEntry(f"entry {entry.id} already exists", entry_id=entry.id)
        self._check_accounts(entry)
        self._check_reversal(entry)
        totals = self._apply(entry)
        self._check_overdraft(entry, totals)
        return Posted(self._with(entry, totals), entry, replayed=False)

    def balance(self, account: Account | str) -> int:
        """Balance on the account's normal side (a fund's money, a source's intake)."""
        known = self._account(account)
        return _natural(known, self.totals.get(known.code, Totals()))

    def raw_balance(self, account: Account | str) -> int:
        return self.totals.get(self._account(account).code, Totals()).raw

    def trial_balance(self) -> int:
        """Σ raw balances over every account: 0 for a sound ledger."""
        return sum(t.raw for t in self.totals.values())

    def entry(self, entry_id: str) -> JournalEntry:
        found = self.by_id.get(entry_id)
        if found is None:
            raise UnknownEntry(f"no entry {entry_id}", entry_id=entry_id)
        return found

    def is_reversed(self, entry_id: str) -> bool:
        return entry_id in self.reversed_ids

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries)

    # --- helpers -------------------------------------------------------------------

    def _account(self, account: Account | str) -> Account:
        code = account.code if isinstance(account, Account) else account
        known = self.accounts.get(code)
        if known is None:
            raise UnknownAccount(f"no account {code}", account=code)
        return known

    @staticmethod
    def _replay(first: JournalEntry, retry: JournalEntry) -> JournalEntry:
        if first.body() != retry.body():
            raise IdempotencyConflict(
                f"idempotency key {retry.idempotency_key!r} was used for entry {first.id} "
                "with a different body",
                idempotency_key=retry.idempotency_key,
                entry_id=first.id,
            )
        return first

    def _check_accounts(self, entry: JournalEntry) -> None:
        for line in entry.lines:
            self._account(line.account)

    def _check_reversal(self, entry: JournalEntry) -> None:
        if entry.reverses is None:
            return
        original = self.entry(entry.reverses)
        if original.reverses is not None:
            # Undoing an undo would re-post the mistake's twin: post a fresh entry instead.
            raise InvalidReversal(f"{original.id} is itself a reversal", entry_id=original.id)
        if original.id in self.reversed_ids:
            raise AlreadyReversed(f"{original.id} is already reversed", entry_id=original.id)
        mirror = sorted(Posting(x.account, x.side.opposite, x.amount) for x in original.lines)
        if sorted(entry.lines) != mirror:
            raise InvalidReversal(f"entry does not mirror {original.id}", entry_id=original.id)

    def _apply(self, entry: JournalEntry) -> dict[str, Totals]:
        totals = dict(self.totals)
        for line in entry.lines:
            totals[line.account] = totals.get(line.account, Totals()).add(line)
        return totals

    def _check_overdraft(self, entry: JournalEntry, totals: Mapping[str, Totals]) -> None:
        for line in entry.lines:
            account = self.accounts[line.account]
            after = _natural(account, totals[line.account])
            if after < 0 and not account.may_go_negative:
                raise Overdraft(
                    f"{account.code} holds {after + line.amount} KRW, cannot give {line.amount}",
                    account=account.code,
                    balance=after + line.amount,
                    shortfall=-after,
                )

    def _with(self, entry: JournalEntry, totals: dict[str, Totals]) -> Ledger:
        reversed_ids = self.reversed_ids | {entry.reverses} if entry.reverses else self.reversed_ids
        return replace(
            self,
            totals=MappingProxyType(totals),
            entries=(*self.entries, entry),
            by_id=MappingProxyType({**self.by_id, entry.id: entry}),
            by_key=MappingProxyType({**self.by_key, entry.idempotency_key: entry}),
            reversed_ids=reversed_ids,
        )


def _natural(account: Account, totals: Totals) -> int:
    return totals.raw if account.normal_side is Side.debit else -totals.raw
