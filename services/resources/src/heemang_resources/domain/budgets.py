"""Budget execution (예산 집행): budget amount, executed amount and execution rate per budget
line and funding source, from ledger movements.

A movement of a budget-line account counts as *appropriation* when its entry also touches
an appropriation source (`ext:appropriation:*`), else as *execution*. Reversals net off on
their own side: a reversed spending lowers 집행액, a reversed appropriation lowers 예산액.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from heemang_resources.domain.ledger import FundingSource, Side


@dataclass(frozen=True)
class BudgetMovement:
    account: str  # budget:<line>:<source>
    side: Side
    appropriation: bool
    amount: int


@dataclass(frozen=True)
class ExecutionRow:
    line: str
    source: FundingSource | None  # None: a total over sources
    budget: int  # 예산액
    executed: int  # 집행액

    @property
    def balance(self) -> int:
        return self.budget - self.executed

    @property
    def rate_permille(self) -> int:
        """집행률 in tenths of a percent, half up, integers only."""
        return rate_permille(self.executed, self.budget)

    @property
    def rate_percent(self) -> Decimal:
        return Decimal(self.rate_permille).scaleb(-1)


def rate_permille(part: int, whole: int) -> int:
    return (part * 2000 + whole) // (2 * whole) if whole > 0 else 0


def execution(movements: Iterable[BudgetMovement]) -> list[ExecutionRow]:
    """One row per (line, source), then per line a total (source None), sorted by line."""
    sums: dict[tuple[str, FundingSource], list[int]] = {}
    for m in movements:
        _, line, source = m.account.split(":")
        cell = sums.setdefault((line, FundingSource(source)), [0, 0])
        if m.appropriation:
            cell[0] += m.amount if m.side is Side.debit else -m.amount
        else:
            cell[1] += m.amount if m.side is Side.credit else -m.amount
    rows: list[ExecutionRow] = []
    for line in sorted({line for line, _ in sums}):
        parts = [ExecutionRow(line, s, *sums[(line, s)]) for s in FundingSource if (line, s) in sums]
        rows.extend(parts)
        rows.append(ExecutionRow(line, None, sum(p.budget for p in parts), sum(p.executed for p in parts)))
    return rows


def by_source(rows: Iterable[ExecutionRow]) -> list[ExecutionRow]:
    """Totals per funding source over all lines (line "*")."""
    totals: dict[FundingSource, list[int]] = {}
    for row in rows:
        if row.source is not None:
            cell = totals.setdefault(row.source, [0, 0])
            cell[0] += row.budget
            cell[1] += row.executed
    return [ExecutionRow("*", s, *totals[s]) for s in FundingSource if s in totals]
