"""The issue's property: any sequence of donations, allocations (decide, deliver), voucher
top-ups and charges, and reversals, run through the services on the database, keeps every
entry balanced, the trial balance at zero, totals equal to their lines, no internal account
negative, and delivers each allocation (and its event) at most once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from heemang_common.db import transaction
from heemang_common.errors import DomainError
from heemang_common.events.casework import ServiceRequestedData
from heemang_common.events.envelope import utcnow
from heemang_common.testing import RunningService
from heemang_resources.db.models import Allocation, OutboxMessage, VoucherProgramme, VoucherShop
from heemang_resources.domain.ledger import (
    FundingSource,
    JournalEntry,
    appropriation,
    budget_line,
    credit,
    debit,
    reverse,
)
from heemang_resources.service import allocations, donations, ledger, vouchers

SERVICES = [("care_sos.meals", 7_800), ("care_sos.home_care", 48_170), ("emergency.heating", 98_000)]
Op = tuple[str, int, int]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("donate"), st.integers(1, 300_000), st.just(0)),
        st.tuples(st.just("request"), st.integers(0, len(SERVICES) - 1), st.integers(1, 12)),
        st.tuples(st.just("deliver"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("topup"), st.integers(1, 3), st.just(0)),
        st.tuples(st.just("charge"), st.integers(0, 1), st.integers(1, 50_000)),
        st.tuples(st.just("reverse"), st.integers(0, 30), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


async def _setup(sm, t: str) -> tuple[str, str, list[uuid.UUID]]:  # type: ignore[no-untyped-def]
    budget = budget_line(f"ops{t}", FundingSource.city)
    async with transaction(sm) as session:
        await ledger.open_accounts(session, [budget, appropriation(FundingSource.city)], utcnow())
        await ledger.post(
            session,
            JournalEntry(
                str(uuid.uuid4()),
                utcnow(),
                "ops",
                f"ops:{t}",
                [debit(budget, 400_000), credit(appropriation(FundingSource.city), 400_000)],
            ),
            kind="test",
            created_by="ops",
        )
        programme = VoucherProgramme(
            code=f"v{t}",
            name="v",
            monthly_amount=40_000,
            holiday_bonus=20_000,
            budget_line=budget.code,
            created_at=utcnow(),
        )
        session.add(programme)
        session.add(VoucherShop(programme=programme.code, agency_id=f"shop{t}", name="s"))
        await session.flush()
        holders = [(await vouchers.enrol(session, programme, uuid.uuid4(), "sinsa")).id for _ in range(2)]
    return budget.code, programme.code, holders


def _request(fund: str, code: str, price: int, units: int, household: uuid.UUID) -> ServiceRequestedData:
    quantity = units if code.startswith("care_sos") else None
    return ServiceRequestedData(
        request_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        household_id=household,
        dong="sinsa",
        domain="health",
        kind="cash",
        service_code=code,
        provider="p",
        amount=price * (quantity or 1),
        quantity=quantity,
        fund=fund,
        requested_at=datetime(2026, 5, 1, tzinfo=UTC),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=ops)
async def test_operations_keep_the_books_sound(resources: RunningService, program: list[Op]) -> None:
    sm = resources.runtime.sessionmaker
    t = uuid.uuid4().hex[:8]
    budget, programme_code, holders = await _setup(sm, t)
    household = uuid.uuid4()
    decided: list[uuid.UUID] = []
    posted: list[uuid.UUID] = []
    for op, a, b in program:
        try:
            async with transaction(sm) as session:
                posted += await _step(
                    session, op, a, b, budget, programme_code, holders, household, decided, posted
                )
        except DomainError:
            pass  # refused (overdraft, already delivered or reversed, run twice…): nothing written
    await _check(sm, decided)


async def _step(session, op, a, b, budget, programme_code, holders, household, decided, posted):  # type: ignore[no-untyped-def]
    if op == "donate":
        d = donations.DonationInput(
            "cash", "programme", a, date(2026, 5, 1), programme=f"ops-{budget}".replace(":", "-")
        )
        return [(await donations.record(session, d, "ops", uuid.uuid4())).entry_id]
    if op == "request":
        code, price = SERVICES[a]
        decided.append((await allocations.decide(session, _request(budget, code, price, b, household))).id)
        return []
    if op == "deliver" and decided:
        row = await allocations.deliver(session, decided[a % len(decided)], "ops")
        return [row.delivery_entry_id] if row.delivery_entry_id else []
    if op == "topup":
        p = await vouchers.programme(session, programme_code)
        await vouchers.top_up(session, p, f"2026-0{a}", False, "ops")
        return []
    if op == "charge":
        p = await vouchers.programme(session, programme_code)
        return [
            (
                await vouchers.charge(session, p, holders[a], b, f"shop{programme_code[1:]}", uuid.uuid4())
            ).entry_id
        ]
    if op == "reverse" and posted:
        original = await ledger.load_entry(session, posted[a % len(posted)])
        mirror = reverse(original, posted_at=utcnow(), id=str(uuid.uuid4()))
        await ledger.post(session, mirror, kind="reversal", created_by="ops")
    return []


async def _check(sm, decided: list[uuid.UUID]) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sm) as session:
        tb = await ledger.trial_balance(session, verify=True)
        assert tb.difference == 0 and tb.mismatched_accounts == [] and tb.negative_accounts == []
        if not decided:
            return
        delivered = await session.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(Allocation.id.in_(decided), Allocation.status == "delivered")
        )
        rows = await session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.event_type == "heemang.resources.distribution.delivered.v1"
            )
        )
        ids = {str(d) for d in decided}
        events = [p for p in rows if json.loads(p)["data"]["allocation_id"] in ids]
        assert len(events) == delivered  # one event per delivered allocation, never two
