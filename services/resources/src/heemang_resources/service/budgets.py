"""Budget lines: appropriations by funding source, spending against them, execution report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, NotFound
from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import BudgetLine, JournalLine
from heemang_resources.domain import budgets as rules
from heemang_resources.domain.errors import InvalidEntry
from heemang_resources.domain.ledger import (
    FundingSource,
    JournalEntry,
    Side,
    appropriation,
    budget_line,
    credit,
    debit,
    disbursed,
)
from heemang_resources.service import ledger


async def create(session: AsyncSession, code: str, name: str, fiscal_year: int) -> BudgetLine:
    existing = await session.get(BudgetLine, code)
    if existing is not None:
        if (existing.name, existing.fiscal_year) != (name, fiscal_year):
            raise Conflict(f"budget line {code} exists with another name or year")
        return existing
    row = BudgetLine(code=code, name=name, fiscal_year=fiscal_year, created_at=utcnow())
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, code: str) -> BudgetLine:
    row = await session.get(BudgetLine, code)
    if row is None:
        raise NotFound(f"no budget line {code}")
    return row


async def appropriate(
    session: AsyncSession,
    line: BudgetLine,
    amounts: Mapping[FundingSource, int],
    actor: str,
    token: uuid.UUID,
) -> JournalEntry:
    """One compound entry: each source's appropriation into the line's account for it."""
    parts = {s: a for s, a in amounts.items() if a}
    if not parts:
        raise InvalidEntry("name at least one funding source with an amount")
    now = utcnow()
    accounts = [budget_line(line.code, s) for s in parts] + [appropriation(s) for s in parts]
    await ledger.open_accounts(session, accounts, now)
    lines = [debit(budget_line(line.code, s), a) for s, a in parts.items()]
    lines += [credit(appropriation(s), a) for s, a in parts.items()]
    entry = JournalEntry(str(uuid.uuid4()), now, f"appropriation to {line.code}", f"budget:{token}", lines)
    return (await ledger.post(session, entry, kind="appropriation", created_by=actor, fresh_key=True)).entry


async def spend(
    session: AsyncSession,
    line: BudgetLine,
    source: FundingSource,
    amount: int,
    purpose: str,
    memo: str,
    actor: str,
    token: uuid.UUID,
) -> JournalEntry:
    now = utcnow()
    sink = disbursed(purpose)
    await ledger.open_accounts(session, [sink], now)
    account = budget_line(line.code, source).code
    await ledger.get_account(session, account)
    entry = JournalEntry(
        str(uuid.uuid4()),
        now,
        memo or f"spending from {line.code}",
        f"spend:{token}",
        [debit(sink, amount), credit(account, amount)],
    )
    return (await ledger.post(session, entry, kind="spending", created_by=actor, fresh_key=True)).entry


async def execution_report(
    session: AsyncSession, fiscal_year: int | None
) -> tuple[list[rules.ExecutionRow], list[rules.ExecutionRow], dict[str, BudgetLine]]:
    lines = {b.code: b for b in await session.scalars(select(BudgetLine))}
    appropriating = select(JournalLine.entry_id).where(
        JournalLine.account_code.startswith("ext:appropriation:")
    )
    is_appropriation = JournalLine.entry_id.in_(appropriating.scalar_subquery())
    stmt = (
        select(
            JournalLine.account_code,
            JournalLine.side,
            is_appropriation.label("appro"),
            func.sum(JournalLine.amount),
        )
        .where(JournalLine.account_code.startswith("budget:"))
        .group_by(JournalLine.account_code, JournalLine.side, "appro")
    )
    movements = [
        rules.BudgetMovement(code, Side(side), bool(appro), int(total))
        for code, side, appro, total in (await session.execute(stmt)).all()
        if fiscal_year is None or _year(lines, code) == fiscal_year
    ]
    rows = rules.execution(movements)
    return rows, rules.by_source(rows), lines


def _year(lines: Mapping[str, BudgetLine], account: str) -> int | None:
    line = lines.get(account.split(":")[1])
    return line.fiscal_year if line else None
