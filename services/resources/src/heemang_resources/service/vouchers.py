"""Vouchers (e.g. the side-dish voucher 다함께 찬찬찬): wallets topped up monthly from a budget
line, charged by member shops. A month's top-up run is a row keyed by (programme, month), so
it can never run twice; a charge is one ledger entry, refused if the wallet would go negative."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, Forbidden, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.resources import VoucherCharged, VoucherChargedData
from heemang_common.outbox import add_event
from heemang_resources.db.models import (
    OutboxMessage,
    VoucherCharge,
    VoucherHolder,
    VoucherProgramme,
    VoucherShop,
    VoucherTopUpRun,
)
from heemang_resources.db.sql import insert_ignore, table_of
from heemang_resources.domain.ledger import JournalEntry, credit, debit, voucher_redeemed, voucher_wallet
from heemang_resources.service import ledger
from heemang_resources.service.allocations import SEOUL


class AlreadyToppedUp(Conflict):
    problem = "topup-already-run"
    title = "This month's top-up has already run"


async def programme(session: AsyncSession, code: str) -> VoucherProgramme:
    found = await session.get(VoucherProgramme, code)
    if found is None:
        raise NotFound(f"no voucher programme {code}")
    return found


async def holder(session: AsyncSession, programme_code: str, holder_id: uuid.UUID) -> VoucherHolder:
    found = await session.get(VoucherHolder, holder_id)
    if found is None or found.programme != programme_code:
        raise NotFound(f"no holder {holder_id} in {programme_code}")
    return found


def wallet_of(h: VoucherHolder) -> str:
    return voucher_wallet(h.programme, str(h.id)).code


async def enrol(
    session: AsyncSession, p: VoucherProgramme, household_id: uuid.UUID, dong: str
) -> VoucherHolder:
    now = utcnow()
    h = VoucherHolder(
        id=uuid.uuid4(), programme=p.code, household_id=household_id, dong=dong, active=True, enrolled_at=now
    )
    session.add(h)
    await session.flush()
    await ledger.open_accounts(session, [voucher_wallet(p.code, str(h.id))], now)
    return h


@dataclass(frozen=True)
class TopUp:
    run: VoucherTopUpRun
    per_holder: int


async def top_up(session: AsyncSession, p: VoucherProgramme, month: str, holiday: bool, actor: str) -> TopUp:
    """Credit every active wallet for `month` from the programme's budget line, once."""
    now = utcnow()
    inserted = await insert_ignore(
        session,
        table_of(VoucherTopUpRun),
        {"programme": p.code, "month": month, "holiday": holiday, "holders": 0, "total": 0, "ran_at": now},
    )
    if not inserted:
        raise AlreadyToppedUp(f"{p.code} was topped up for {month} already", month=month)
    per_holder = p.monthly_amount + (p.holiday_bonus if holiday else 0)
    holders = list(
        await session.scalars(
            select(VoucherHolder)
            .where(VoucherHolder.programme == p.code, VoucherHolder.active)
            .order_by(VoucherHolder.id)
        )
    )
    for h in holders:
        await ledger.post(
            session,
            JournalEntry(
                str(uuid.uuid4()),
                now,
                f"{p.code} top-up {month}",
                f"topup:{p.code}:{month}:{h.id}",
                [debit(wallet_of(h), per_holder), credit(p.budget_line, per_holder)],
            ),
            kind="topup",
            created_by=actor,
        )
    run = await session.get(VoucherTopUpRun, (p.code, month), populate_existing=True)
    assert run is not None
    run.holders, run.total = len(holders), per_holder * len(holders)
    await session.flush()
    return TopUp(run, per_holder)


async def charge(
    session: AsyncSession,
    p: VoucherProgramme,
    holder_id: uuid.UUID,
    amount: int,
    shop: str | None,
    token: uuid.UUID,
) -> VoucherCharge:
    """A member shop charges a holder's wallet (never below zero: the ledger refuses)."""
    if shop is None or await session.get(VoucherShop, (p.code, shop)) is None:
        raise Forbidden(f"agency {shop} is not a member shop of {p.code}")
    h = await holder(session, p.code, holder_id)
    now = utcnow()
    sink = voucher_redeemed(shop)
    await ledger.open_accounts(session, [sink], now)
    entry_id = uuid.uuid4()
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"{p.code} charge by {shop}",
            f"charge:{token}",
            [debit(sink, amount), credit(wallet_of(h), amount)],
        ),
        kind="charge",
        created_by=shop,
        fresh_key=True,
    )
    row = VoucherCharge(
        id=uuid.uuid4(),
        programme=p.code,
        holder_id=h.id,
        shop=shop,
        amount=amount,
        month=now.astimezone(SEOUL).strftime("%Y-%m"),
        entry_id=entry_id,
        charged_at=now,
    )
    session.add(row)
    add_event(
        session,
        OutboxMessage,
        VoucherCharged.create(
            subject=str(row.id),
            data=VoucherChargedData(
                charge_id=row.id, programme=p.code, shop=shop, amount=amount, month=row.month, charged_at=now
            ),
        ),
    )
    await session.flush()
    return row


@dataclass(frozen=True)
class MonthUsage:
    month: str
    topped_up: int
    charged: int

    @property
    def rate_permille(self) -> int:
        return (self.charged * 2000 + self.topped_up) // (2 * self.topped_up) if self.topped_up else 0


async def usage(session: AsyncSession, p: VoucherProgramme) -> list[MonthUsage]:
    """Usage rate per month (이용률) = charged that month ÷ topped up that month."""
    runs = {
        r.month: r.total
        for r in await session.scalars(select(VoucherTopUpRun).where(VoucherTopUpRun.programme == p.code))
    }
    charges = dict(
        (m, int(t))
        for m, t in (
            await session.execute(
                select(VoucherCharge.month, func.sum(VoucherCharge.amount))
                .where(VoucherCharge.programme == p.code)
                .group_by(VoucherCharge.month)
            )
        ).all()
    )
    return [MonthUsage(m, runs.get(m, 0), charges.get(m, 0)) for m in sorted(set(runs) | set(charges))]
