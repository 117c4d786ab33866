"""RELIABILITY.md T9 on the database: random postings, reversals and replays through the
persistence layer agree with the pure ledger, keep every entry balanced, the trial balance at
zero, every account's totals equal to the sum of its lines, and no internal account negative."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, func, select

from heemang_common.db import transaction
from heemang_common.errors import DomainError
from heemang_common.events.envelope import utcnow
from heemang_common.testing import RunningService
from heemang_resources.db.models import JournalEntry as JournalEntry_
from heemang_resources.db.models import JournalLine
from heemang_resources.domain.ledger import (
    FundingSource,
    JournalEntry,
    Ledger,
    appropriation,
    budget_line,
    credit,
    debit,
    designated_fund,
    disbursed,
    donations_received,
    reverse,
    voucher_redeemed,
    voucher_wallet,
)
from heemang_resources.service import ledger

# (debit index, credit index) pairs over the chart built per example, in the direction value flows.
FLOWS = [(2, 0), (3, 1), (4, 2), (5, 3), (6, 4), (6, 5), (7, 4), (4, 3), (2, 4)]
Step = tuple[str, int, int, int]  # (op, flow or entry index, amount, replay-of index)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.integers(0, len(FLOWS) - 1), st.integers(1, 50_000), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(0, 60), st.just(0), st.just(0)),
        st.tuples(st.just("replay"), st.integers(0, 60), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


def _chart(t: str) -> list:  # type: ignore[type-arg]
    return [
        donations_received("cash"),  # 0 source
        appropriation(FundingSource.district),  # 1 source
        designated_fund(programme=f"p{t}"),  # 2 fund
        budget_line(f"line{t}", FundingSource.district),  # 3 budget
        voucher_wallet(f"v{t}", "holder"),  # 4 wallet
        designated_fund(household=f"h{t}"),  # 5 fund
        disbursed(f"d{t}"),  # 6 sink
        voucher_redeemed(f"s{t}"),  # 7 sink
    ]


async def _apply(sm, model: Ledger, entry: JournalEntry) -> tuple[Ledger, bool]:  # type: ignore[no-untyped-def]
    """Post to both; they must agree on whether the entry is accepted."""
    try:
        expected = model.post(entry)
    except DomainError as refused:
        expected_error: DomainError | None = refused
    else:
        expected_error = None
    try:
        async with transaction(sm) as session:
            await ledger.post(session, entry, kind="test", created_by="t9")
    except DomainError as refused:
        assert expected_error is not None and type(refused) is type(expected_error), (refused, expected_error)
        return model, False
    assert expected_error is None, expected_error
    return expected.ledger, True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=steps)
async def test_random_histories_keep_the_books_sound(resources: RunningService, program: list[Step]) -> None:
    sm = resources.runtime.sessionmaker
    t = uuid.uuid4().hex[:8]
    chart = _chart(t)
    async with transaction(sm) as session:
        await ledger.open_accounts(session, chart, utcnow())
        # Sources are shared with other examples: compare what this example moved.
        start = {a.code: await ledger.balance(session, a.code) for a in chart}
    model = Ledger.empty(chart)
    posted: list[JournalEntry] = []
    for op, index, amount, _ in program:
        if op == "post":
            dr, cr = FLOWS[index]
            entry = JournalEntry(
                str(uuid.uuid4()),
                utcnow(),
                "t9",
                f"t9:{uuid.uuid4()}",
                [debit(chart[dr], amount), credit(chart[cr], amount)],
            )
        elif not posted:
            continue
        elif op == "reverse":
            entry = reverse(posted[index % len(posted)], posted_at=utcnow(), id=str(uuid.uuid4()))
        else:  # the same key and body again: a replay, which changes nothing
            original = posted[index % len(posted)]
            entry = JournalEntry(
                str(uuid.uuid4()),
                utcnow(),
                original.memo,
                original.idempotency_key,
                original.lines,
                original.reverses,
            )
        model, accepted = await _apply(sm, model, entry)
        if accepted and op != "replay":
            posted.append(entry)
    await _check(sm, model, chart, start)


async def _check(sm, model: Ledger, chart: list, start: dict[str, int]) -> None:  # type: ignore[no-untyped-def,type-arg]
    async with transaction(sm) as session:
        tb = await ledger.trial_balance(session, verify=True)
        assert tb.difference == 0 and tb.mismatched_accounts == [] and tb.negative_accounts == []
        for account in chart:
            now = await ledger.balance(session, account.code)
            assert now - start[account.code] == model.balance(account)
            assert account.may_go_negative or now >= 0
        per_entry = (
            select(
                JournalLine.entry_id,
                func.sum(case((JournalLine.side == "debit", JournalLine.amount), else_=-JournalLine.amount)),
            )
            .join(JournalEntry_, JournalEntry_.id == JournalLine.entry_id)
            .where(JournalEntry_.created_by == "t9")
            .group_by(JournalLine.entry_id)
        )
        assert all(net == 0 for _, net in (await session.execute(per_entry)).all())
