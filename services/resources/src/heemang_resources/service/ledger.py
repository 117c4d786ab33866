"""Ledger persistence: open accounts, post entries under row locks, derive balances.

A posting locks the rows of the accounts it touches (`SELECT … FOR UPDATE`, in code order so
two postings never deadlock), rebuilds the pure `Ledger` for just those accounts and lets it
decide (balance, reversal, overdraft rules live in domain/ledger.py), then inserts the entry
and its lines and adds the lines to the accounts' totals in the same transaction. On SQLite
every write transaction is `BEGIN IMMEDIATE`, which serialises postings the same way.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_resources.db.models import BalanceShard, JournalLine, LedgerAccount
from heemang_resources.db.models import JournalEntry as EntryRow
from heemang_resources.db.sql import insert_ignore, upsert_add
from heemang_resources.db.sql import table_of as _table
from heemang_resources.domain.chart import account_of, kind_of
from heemang_resources.domain.errors import AccountExists, IdempotencyConflict, UnknownAccount, UnknownEntry
from heemang_resources.domain.ledger import (
    Account,
    AccountKind,
    FundingSource,
    JournalEntry,
    Ledger,
    Posting,
    Side,
    Totals,
)


def to_account(row: LedgerAccount) -> Account:
    source = FundingSource(row.funding_source) if row.funding_source else None
    return Account(row.code, AccountKind(row.kind), source)


#: Shards of a boundary account's totals (see db.models.BalanceShard).
SHARDS = 16


def natural(row: LedgerAccount, totals: Totals) -> int:
    """The balance on the account's normal side (a fund's money, a source's intake)."""
    return -totals.raw if to_account(row).normal_side is Side.credit else totals.raw


async def totals_of(session: AsyncSession, codes: Sequence[str]) -> dict[str, Totals]:
    """Σ debits and Σ credits per account: its own row plus its shards."""
    found = {
        code: [int(d), int(c)]
        for code, d, c in (
            await session.execute(
                select(LedgerAccount.code, LedgerAccount.debits, LedgerAccount.credits)
                .where(LedgerAccount.code.in_(codes))
                .execution_options(populate_existing=True)
            )
        ).all()
    }
    shards = await session.execute(
        select(BalanceShard.account_code, func.sum(BalanceShard.debits), func.sum(BalanceShard.credits))
        .where(BalanceShard.account_code.in_(codes))
        .group_by(BalanceShard.account_code)
    )
    for code, d, c in shards.all():
        found[code][0] += int(d)
        found[code][1] += int(c)
    return {code: Totals(d, c) for code, (d, c) in found.items()}


async def balance(session: AsyncSession, code: str) -> int:
    row = await get_account(session, code)
    return natural(row, (await totals_of(session, [code]))[code])


async def open_accounts(
    session: AsyncSession, accounts: Iterable[Account], now: datetime, name: str = ""
) -> None:
    """Open accounts that are not open yet; one open with another kind is a conflict."""
    wanted = {a.code: a for a in accounts}
    if not wanted:
        return
    rows = [
        {
            "code": a.code,
            "kind": a.kind.value,
            "funding_source": a.funding_source.value if a.funding_source else None,
            "no_overdraft": not a.may_go_negative,
            "name": name,
            "debits": 0,
            "credits": 0,
            "opened_at": now,
        }
        for a in wanted.values()
    ]
    await insert_ignore(session, _table(LedgerAccount), rows)
    found = await session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(wanted)))
    for row in found:
        if to_account(row) != wanted[row.code]:
            raise AccountExists(f"{row.code} is already open as {row.kind}", account=row.code)


async def get_account(session: AsyncSession, code: str) -> LedgerAccount:
    row = await session.get(LedgerAccount, code, populate_existing=True)
    if row is None:
        raise UnknownAccount(f"no account {code}", account=code)
    return row


@dataclass(frozen=True)
class Posted:
    entry: JournalEntry
    kind: str
    replayed: bool


async def post(
    session: AsyncSession, entry: JournalEntry, *, kind: str, created_by: str, fresh_key: bool = False
) -> Posted:
    """Post `entry` or raise the domain error that refuses it (nothing written then).

    `fresh_key`: the caller derived the key from its own Idempotency-Key claim token (new
    per execution), so no earlier entry can have it and the replay look-up is skipped; the
    UNIQUE index on the key still stands behind that promise."""
    entry.check()
    accounts, totals = await _lock(session, sorted({line.account for line in entry.lines}))
    # After the locks: a concurrent posting with the same key has committed or rolled back.
    first = None if fresh_key else await _by_key(session, entry.idempotency_key)
    if first is not None:
        if first.body() != entry.body():
            raise IdempotencyConflict(
                f"idempotency key {entry.idempotency_key!r} was used for entry {first.id} "
                "with a different body",
                entry_id=first.id,
            )
        return Posted(first, kind, replayed=True)
    ledger = await _ledger_for(session, accounts, totals, entry)
    posted = ledger.post(entry)
    await _insert(session, entry, kind=kind, created_by=created_by)
    await _add_totals(session, entry.lines, set(totals))
    return Posted(posted.entry, kind, replayed=False)


async def _lock(session: AsyncSession, codes: list[str]) -> tuple[dict[str, Account], dict[str, Totals]]:
    """The entry's accounts, and the totals of the no-overdraft ones, read under a row lock
    (in code order, so two postings never deadlock): their totals decide the overdraft rule.

    Boundary accounts are neither read nor locked: no rule limits them, they are the hot
    rows every posting of a kind shares, and a code's shape tells its kind. Their existence
    is checked by the lines' foreign key (`_insert`)."""
    accounts: dict[str, Account] = {}
    for code in codes:
        kind = kind_of(code)
        if kind is None:
            raise UnknownAccount(f"no account {code}", account=code)
        accounts[code] = account_of(kind, code)
    internal = [c for c in codes if not accounts[c].may_go_negative]
    rows: list[LedgerAccount] = []
    if internal:
        stmt = (
            select(LedgerAccount)
            .where(LedgerAccount.code.in_(internal))
            .order_by(LedgerAccount.code)
            .with_for_update()
            .execution_options(populate_existing=True)  # the locked read, not the identity map
        )
        rows = list((await session.scalars(stmt)).all())
    missing = sorted(set(internal) - {r.code for r in rows})
    if missing:
        raise UnknownAccount(f"no account {missing[0]}", account=missing[0])
    return accounts, {r.code: Totals(r.debits, r.credits) for r in rows}


async def _ledger_for(
    session: AsyncSession, accounts: dict[str, Account], totals: dict[str, Totals], entry: JournalEntry
) -> Ledger:
    """The pure ledger restricted to what `entry` touches: its accounts' totals and, for a
    reversal, the original entry and whether it was reversed already."""
    ledger = Ledger(accounts=accounts, totals=totals)
    if entry.reverses is None:
        return ledger
    original = await load_entry(session, _uuid(entry.reverses))
    reversed_ids: frozenset[str] = frozenset()
    if await session.scalar(select(EntryRow.id).where(EntryRow.reverses == _uuid(original.id))):
        reversed_ids = frozenset({original.id})
    # The original's other accounts must be known to the pure check (mirror = same accounts).
    return Ledger(
        accounts=ledger.accounts,
        totals=ledger.totals,
        entries=(original,),
        by_id={original.id: original},
        reversed_ids=reversed_ids,
    )


async def _insert(session: AsyncSession, entry: JournalEntry, *, kind: str, created_by: str) -> None:
    entry_id = _uuid(entry.id)
    await session.execute(
        _table(EntryRow)
        .insert()
        .values(
            id=entry_id,
            posted_at=entry.posted_at,
            memo=entry.memo,
            idempotency_key=entry.idempotency_key,
            reverses=_uuid(entry.reverses) if entry.reverses else None,
            kind=kind,
            total=entry.total,
            created_by=created_by,
        )
    )
    try:
        await session.execute(
            _table(JournalLine).insert(),
            [
                {"entry_id": entry_id, "account_code": x.account, "side": x.side.value, "amount": x.amount}
                for x in entry.lines
            ],
        )
    except IntegrityError:  # a boundary account that is not open (the foreign key)
        raise UnknownAccount(f"an account of entry {entry.id} is not open", entry_id=entry.id) from None


async def _add_totals(session: AsyncSession, lines: Sequence[Posting], internal: set[str]) -> None:
    """Internal accounts' rows (locked above) and one random shard of each boundary account."""
    own = [x for x in lines if x.account in internal]
    if own:
        table = _table(LedgerAccount)
        stmt = (
            update(table)
            .where(table.c.code == bindparam("b_code"))
            .values(debits=table.c.debits + bindparam("b_d"), credits=table.c.credits + bindparam("b_c"))
        )
        await session.execute(
            stmt, [{"b_code": x.account, "b_d": _split(x)[0], "b_c": _split(x)[1]} for x in own]
        )
    shared = [x for x in lines if x.account not in internal]
    if shared:
        rows = [
            {"account_code": x.account, "shard": random.randrange(SHARDS), "debits": d, "credits": c}
            for x in shared
            for d, c in [_split(x)]
        ]
        await upsert_add(
            session, _table(BalanceShard), rows, ["account_code", "shard"], ["debits", "credits"]
        )


def _split(line: Posting) -> tuple[int, int]:
    """(debit, credit) amounts of a line."""
    return (line.amount, 0) if line.side is Side.debit else (0, line.amount)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UnknownEntry(f"no entry {value}", entry_id=value) from None


async def _by_key(session: AsyncSession, key: str) -> JournalEntry | None:
    row = await session.scalar(select(EntryRow).where(EntryRow.idempotency_key == key))
    return None if row is None else await _to_domain(session, row)


async def entry_row(session: AsyncSession, entry_id: uuid.UUID) -> EntryRow:
    row = await session.get(EntryRow, entry_id)
    if row is None:
        raise UnknownEntry(f"no entry {entry_id}", entry_id=str(entry_id))
    return row


async def load_entry(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry:
    return await _to_domain(session, await entry_row(session, entry_id))


async def _to_domain(session: AsyncSession, row: EntryRow) -> JournalEntry:
    lines = await session.scalars(
        select(JournalLine).where(JournalLine.entry_id == row.id).order_by(JournalLine.id)
    )
    return JournalEntry(
        id=str(row.id),
        posted_at=row.posted_at,
        memo=row.memo,
        idempotency_key=row.idempotency_key,
        lines=[Posting(x.account_code, Side(x.side), x.amount) for x in lines],
        reverses=str(row.reverses) if row.reverses else None,
    )


async def reversal_of(session: AsyncSession, entry_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(EntryRow.id).where(EntryRow.reverses == entry_id))


@dataclass(frozen=True)
class TrialBalance:
    accounts: int
    debits: int
    credits: int
    mismatched_accounts: list[str]  # totals that differ from the sum of their lines (verify)
    negative_accounts: list[str]  # no-overdraft accounts below zero

    @property
    def difference(self) -> int:
        return self.debits - self.credits


async def trial_balance(session: AsyncSession, *, verify: bool = False) -> TrialBalance:
    """Σ debits and Σ credits over all accounts from the maintained totals (one row per
    account: fast at any journal size); `verify` also recomputes every account from its lines."""
    count, debits, credits = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(LedgerAccount.debits), 0),
                func.coalesce(func.sum(LedgerAccount.credits), 0),
            )
        )
    ).one()
    shard_debits, shard_credits = (
        await session.execute(
            select(
                func.coalesce(func.sum(BalanceShard.debits), 0),
                func.coalesce(func.sum(BalanceShard.credits), 0),
            )
        )
    ).one()
    debits, credits = int(debits) + int(shard_debits), int(credits) + int(shard_credits)
    negative = list(
        await session.scalars(
            select(LedgerAccount.code).where(
                LedgerAccount.no_overdraft, LedgerAccount.debits < LedgerAccount.credits
            )
        )
    )
    mismatched = await _mismatches(session) if verify else []
    return TrialBalance(int(count), int(debits), int(credits), mismatched, negative)


async def _mismatches(session: AsyncSession) -> list[str]:
    sums = (
        select(
            JournalLine.account_code.label("code"),
            func.sum(case((JournalLine.side == "debit", JournalLine.amount), else_=0)).label("d"),
            func.sum(case((JournalLine.side == "credit", JournalLine.amount), else_=0)).label("c"),
        )
        .group_by(JournalLine.account_code)
        .subquery()
    )
    shards = (
        select(
            BalanceShard.account_code.label("code"),
            func.sum(BalanceShard.debits).label("d"),
            func.sum(BalanceShard.credits).label("c"),
        )
        .group_by(BalanceShard.account_code)
        .subquery()
    )
    stmt = (
        select(LedgerAccount.code)
        .outerjoin(sums, sums.c.code == LedgerAccount.code)
        .outerjoin(shards, shards.c.code == LedgerAccount.code)
        .where(
            (func.coalesce(sums.c.d, 0) != LedgerAccount.debits + func.coalesce(shards.c.d, 0))
            | (func.coalesce(sums.c.c, 0) != LedgerAccount.credits + func.coalesce(shards.c.c, 0))
        )
    )
    return list(await session.scalars(stmt))
