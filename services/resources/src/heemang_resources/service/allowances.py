"""Allowance programmes: enrolments with dates, payment runs per period, transfer files.

A run is one transaction: the payment rows (primary key programme × period × enrolment)
and one ledger entry for their total commit together or not at all. A crash before the
commit pays nobody; a rerun after it (new Idempotency-Key, lost response) finds everyone
paid and pays nobody again. The bank file and the register are read from the payment rows,
so producing them twice gives the same file.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import NotFound
from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import AllowanceEnrolment, AllowancePayment, AllowanceProgramme
from heemang_resources.domain import allowances as rules
from heemang_resources.domain.ledger import JournalEntry, credit, debit, disbursed
from heemang_resources.service import ledger


async def programme(session: AsyncSession, code: str) -> AllowanceProgramme:
    found = await session.get(AllowanceProgramme, code)
    if found is None:
        raise NotFound(f"no allowance programme {code}")
    return found


def sink(p: AllowanceProgramme) -> str:
    return disbursed(f"allowance-{p.code}").code


async def _plan(session: AsyncSession, p: AllowanceProgramme, period: str, as_of: date) -> rules.Plan:
    enrolments = await session.scalars(
        select(AllowanceEnrolment).where(AllowanceEnrolment.programme == p.code)
    )
    paid = await session.scalars(
        select(AllowancePayment.enrolment_id).where(
            AllowancePayment.programme == p.code, AllowancePayment.period == period
        )
    )
    return rules.plan(
        [rules.Enrolled(str(e.id), e.eligible_from, e.eligible_to) for e in enrolments],
        {str(x) for x in paid},
        as_of,
        p.amount,
    )


async def preview(session: AsyncSession, p: AllowanceProgramme, period: str, as_of: date) -> rules.Plan:
    return await _plan(session, p, period, as_of)


@dataclass(frozen=True)
class RunResult:
    plan: rules.Plan
    entry_id: uuid.UUID | None


async def run(
    session: AsyncSession, p: AllowanceProgramme, period: str, as_of: date, actor: str, token: uuid.UUID
) -> RunResult:
    # Lock the programme: two runs of one programme take turns, so the second sees the first's payments.
    await session.execute(
        select(AllowanceProgramme).where(AllowanceProgramme.code == p.code).with_for_update()
    )
    plan = await _plan(session, p, period, as_of)
    if not plan.due:
        return RunResult(plan, None)
    now = utcnow()
    entry_id = uuid.uuid4()
    await ledger.open_accounts(session, [disbursed(f"allowance-{p.code}")], now)
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"{p.code} payments {period} ({len(plan.due)})",
            f"allowance:{token}",
            [debit(sink(p), plan.total), credit(p.budget_account, plan.total)],
        ),
        kind="allowance",
        created_by=actor,
        fresh_key=True,
    )
    session.add_all(
        AllowancePayment(
            programme=p.code,
            period=period,
            enrolment_id=uuid.UUID(e),
            amount=p.amount,
            entry_id=entry_id,
            paid_at=now,
        )
        for e in plan.due
    )
    await session.flush()
    return RunResult(plan, entry_id)


async def payments(
    session: AsyncSession, p: AllowanceProgramme, period: str
) -> list[tuple[AllowancePayment, AllowanceEnrolment]]:
    rows = await session.execute(
        select(AllowancePayment, AllowanceEnrolment)
        .join(AllowanceEnrolment, AllowanceEnrolment.id == AllowancePayment.enrolment_id)
        .where(AllowancePayment.programme == p.code, AllowancePayment.period == period)
        .order_by(AllowanceEnrolment.person_ref, AllowanceEnrolment.id)
    )
    return [(pay, e) for pay, e in rows.all()]


def transfer_csv(
    p: AllowanceProgramme, period: str, rows: list[tuple[AllowancePayment, AllowanceEnrolment]]
) -> str:
    """The bank's bulk transfer file (대량이체): one line per payee, amounts in KRW."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["bank_code", "account_number", "holder_name", "amount", "memo"])
    for pay, e in rows:
        writer.writerow([e.bank_code, e.account_number, e.holder_name, pay.amount, f"{p.name} {period}"])
    return out.getvalue()
