"""Resources figures: ledger postings/s with balance checks, and the trial balance at scale.

Figure 1 — postings. `workers` concurrent writers post `postings` two-line entries, one
entry per transaction as the API does, through `service.ledger.post` (row locks on the
touched accounts in code order, the pure ledger's balance/overdraft check, entry + lines
inserted, account totals updated). The baseline inserts the very same entry and line rows
with the same concurrency and transaction size, bare (no lock, no check, no totals). The
ratio is ours ÷ bare; the target is ≥ 1,000 postings/s on the 2-core machine.

Figure 2 — trial balance. `trial_entries` entries (two lines each) are bulk-loaded (COPY
on PostgreSQL) with their account totals, then the trial balance is timed as the API
computes it (one row per account: Σ debits, Σ credits, negative no-overdraft accounts).
Baseline: the same answer from the raw lines (`SUM` over journal_lines), i.e. what a
ledger without maintained totals would have to do. Target ≤ 1 s for 1,000,000 entries.

Run on its own: `uv run --frozen --all-packages python -m bench.resources [--postings N]
[--workers W] [--trial-entries M] [--sqlite]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.env import BenchEnv, Stopwatch
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import JournalEntry as EntryRow
from heemang_resources.db.models import JournalLine, LedgerAccount
from heemang_resources.domain.ledger import (
    Account,
    JournalEntry,
    credit,
    debit,
    designated_fund,
    disbursed,
    donations_received,
)
from heemang_resources.service import ledger

FUNDS = 200
FUNDING = 10**12  # per fund: enough that no bench posting overdraws
LOAD_CHUNK = 50_000
_SUM = (
    "(SELECT COALESCE(SUM(amount), 0) FROM journal_lines l "
    "WHERE l.account_code = ledger_accounts.code AND l.side = '{}')"
)
RETOTAL = [
    f"UPDATE ledger_accounts SET debits = {_SUM.format('debit')}, credits = {_SUM.format('credit')} "
    "WHERE no_overdraft",
    "DELETE FROM ledger_balance_shards",
    "INSERT INTO ledger_balance_shards (account_code, shard, debits, credits) "
    "SELECT l.account_code, 0, SUM(CASE WHEN l.side = 'debit' THEN l.amount ELSE 0 END), "
    "SUM(CASE WHEN l.side = 'credit' THEN l.amount ELSE 0 END) FROM journal_lines l "
    "JOIN ledger_accounts a ON a.code = l.account_code WHERE NOT a.no_overdraft GROUP BY l.account_code",
]


async def run(
    env: BenchEnv, *, postings: int = 10_000, workers: int = 8, trial_entries: int = 1_000_000
) -> tuple[dict[str, float], dict[str, Any]]:
    url = await env.fresh_database("resources")
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        funds, sink = await _chart(sessionmaker)
        plan = [_entry(funds[i % FUNDS], sink, 1 + i % 97) for i in range(postings)]
        ours_s = await _concurrently(sessionmaker, plan, workers, _post)
        raw_plan = [_entry(funds[i % FUNDS], sink, 1 + i % 97) for i in range(postings)]
        raw_s = await _concurrently(sessionmaker, raw_plan, workers, _bare_insert)
        await _check_sound(sessionmaker)
        loaded_s = await _bulk_load(sessionmaker, funds, sink, trial_entries)
        tb_s, raw_tb_s, entries = await _trial_balance(sessionmaker)
    finally:
        await engine.dispose()
    ours, raw = postings / ours_s, postings / raw_s
    figures = {
        "ledger_postings_per_s": round(ours),
        "bare_insert_postings_per_s": round(raw),
        "ledger_postings_ratio": round(ours / raw, 3),
        "trial_balance_s": round(tb_s, 4),
        "trial_balance_from_lines_s": round(raw_tb_s, 3),
        "trial_balance_speedup": round(raw_tb_s / tb_s, 1),
    }
    meta = {
        "postings": postings,
        "workers": workers,
        "trial_entries": entries,
        "bulk_load_s": round(loaded_s, 1),
        "backend": env.databases.backend,
    }
    return figures, meta


async def _chart(sm: async_sessionmaker[AsyncSession]) -> tuple[list[Account], Account]:
    funds = [designated_fund(programme=f"bench{i:03d}") for i in range(FUNDS)]
    sink, source = disbursed("bench"), donations_received("cash")
    async with sm() as session, session.begin():
        await ledger.open_accounts(session, [*funds, sink, source], utcnow())
        for fund in funds:
            entry = _entry(source, fund, FUNDING, debit_first=False)
            await ledger.post(session, entry, kind="bench", created_by="bench")
    return funds, sink


def _entry(source: Account, target: Account, amount: int, *, debit_first: bool = True) -> JournalEntry:
    """`target` receives `amount` from `source` (a charge: fund → sink)."""
    if not debit_first:
        source, target = target, source
        lines = [debit(source, amount), credit(target, amount)]
    else:
        lines = [debit(target, amount), credit(source, amount)]
    return JournalEntry(str(uuid.uuid4()), utcnow(), "bench", f"bench:{uuid.uuid4()}", lines)


async def _post(sm: async_sessionmaker[AsyncSession], entry: JournalEntry) -> None:
    # fresh_key: as the API posts (the entry's key derives from a new Idempotency-Key claim).
    async with sm() as session, session.begin():
        await ledger.post(session, entry, kind="bench", created_by="bench", fresh_key=True)


async def _bare_insert(sm: async_sessionmaker[AsyncSession], entry: JournalEntry) -> None:
    entry_id = uuid.UUID(entry.id)
    async with sm() as session, session.begin():
        await session.execute(
            EntryRow.__table__.insert().values(
                id=entry_id,
                posted_at=entry.posted_at,
                memo=entry.memo,
                idempotency_key=entry.idempotency_key,
                reverses=None,
                kind="bare",
                total=entry.total,
                created_by="bench",
            )
        )
        await session.execute(
            JournalLine.__table__.insert(),
            [
                {"entry_id": entry_id, "account_code": x.account, "side": x.side.value, "amount": x.amount}
                for x in entry.lines
            ],
        )


async def _concurrently(
    sm: async_sessionmaker[AsyncSession], plan: list[JournalEntry], workers: int, work: Any
) -> float:
    queue = iter(plan)

    async def worker() -> None:
        for entry in queue:
            await work(sm, entry)

    watch = Stopwatch()
    await asyncio.gather(*[worker() for _ in range(workers)])
    return watch.elapsed()


async def _check_sound(sm: async_sessionmaker[AsyncSession]) -> None:
    """The bare rows did not touch the totals: undo them from the check by comparing only
    what the ledger posted (kind <> 'bare')."""
    async with sm() as session:
        tb = await ledger.trial_balance(session)
    if tb.difference != 0 or tb.negative_accounts:
        raise RuntimeError(f"ledger unsound after the bench: {tb}")


async def _bulk_load(
    sm: async_sessionmaker[AsyncSession], funds: list[Account], sink: Account, n: int
) -> float:
    """Load `n` more entries fast (COPY), then add their lines to the account totals."""
    watch = Stopwatch()
    now = utcnow()
    async with sm() as session, session.begin():
        conn = await session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        postgres = conn.dialect.name == "postgresql"
        for start in range(0, n, LOAD_CHUNK):
            entries, lines = [], []
            for i in range(start, min(n, start + LOAD_CHUNK)):
                entry_id, amount, fund = uuid.uuid4(), 1 + i % 89, funds[i % FUNDS].code
                entries.append((entry_id, now, "load", f"load:{entry_id}", None, "load", amount, "bench"))
                lines.append((entry_id, sink.code, "debit", amount))
                lines.append((entry_id, fund, "credit", amount))
            if postgres:
                await raw.copy_records_to_table(
                    "journal_entries",
                    records=entries,
                    columns=[
                        "id",
                        "posted_at",
                        "memo",
                        "idempotency_key",
                        "reverses",
                        "kind",
                        "total",
                        "created_by",
                    ],
                )
                await raw.copy_records_to_table(
                    "journal_lines", records=lines, columns=["entry_id", "account_code", "side", "amount"]
                )
            else:
                await session.execute(
                    EntryRow.__table__.insert(),
                    [
                        dict(
                            zip(
                                [
                                    "id",
                                    "posted_at",
                                    "memo",
                                    "idempotency_key",
                                    "reverses",
                                    "kind",
                                    "total",
                                    "created_by",
                                ],
                                e,
                                strict=True,
                            )
                        )
                        for e in entries
                    ],
                )
                await session.execute(
                    JournalLine.__table__.insert(),
                    [
                        dict(zip(["entry_id", "account_code", "side", "amount"], x, strict=True))
                        for x in lines
                    ],
                )
        # The maintained totals become the sums of all lines (bare rows included, so the
        # books are whole again for the trial balance figure): internal accounts in their
        # row, boundary accounts in one shard.
        for statement in RETOTAL:
            await session.execute(text(statement))
    if postgres:
        async with sm() as session:
            await session.execute(text("ANALYZE"))
    return watch.elapsed()


async def _trial_balance(sm: async_sessionmaker[AsyncSession]) -> tuple[float, float, int]:
    async with sm() as session:
        entries = int(await session.scalar(select(func.count()).select_from(EntryRow)) or 0)
        await ledger.trial_balance(session)  # warm the connection and the plan
        started = time.perf_counter()
        tb = await ledger.trial_balance(session)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        debits, credits = (
            await session.execute(
                select(
                    func.sum(case((JournalLine.side == "debit", JournalLine.amount), else_=0)),
                    func.sum(case((JournalLine.side == "credit", JournalLine.amount), else_=0)),
                )
            )
        ).one()
        raw = time.perf_counter() - started
        account_count = await session.scalar(select(func.count()).select_from(LedgerAccount))
    if tb.difference != 0 or (debits, credits) != (tb.debits, tb.credits):
        raise RuntimeError(f"trial balance disagrees with the lines: {tb} vs {(debits, credits)}")
    if not account_count:
        raise RuntimeError("no accounts")
    return ours, raw, entries


async def _main(args: argparse.Namespace) -> int:
    env = await BenchEnv.open(force_sqlite=args.sqlite)
    try:
        figures, meta = await run(
            env, postings=args.postings, workers=args.workers, trial_entries=args.trial_entries
        )
    finally:
        await env.close()
    print(json.dumps({"figures": figures, "meta": meta}, indent=2))
    return 0


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.resources", description=__doc__.split("\n")[0])
    parser.add_argument("--postings", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--trial-entries", type=int, default=1_000_000)
    parser.add_argument("--sqlite", action="store_true", help="force SQLite")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(_main(_parse())))
