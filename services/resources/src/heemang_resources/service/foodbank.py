"""Food bank: goods in (a lot, booked into stock at appraised value) and out (first expiring
first, booked from stock to distributed), stock by item, expiring-soon list, people served."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import NotFound
from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import FoodIssue, FoodLot, FoodWriteOff
from heemang_resources.domain import foodbank as rules
from heemang_resources.domain.ledger import (
    JournalEntry,
    credit,
    debit,
    distributed_in_kind,
    donations_received,
    in_kind_stock,
    written_off,
)
from heemang_resources.service import ledger

STORE = "foodbank"


async def receive(
    session: AsyncSession,
    *,
    item: str,
    unit: str,
    quantity: int,
    unit_value: int,
    expires_on: date | None,
    received_on: date,
    donor_id: uuid.UUID | None,
    actor: str,
    token: uuid.UUID,
) -> FoodLot:
    now = utcnow()
    stock, source = in_kind_stock(STORE), donations_received("goods")
    await ledger.open_accounts(session, [stock, source], now)
    entry_id = uuid.uuid4()
    value = quantity * unit_value
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"food bank in: {item}",
            f"food-in:{token}",
            [debit(stock, value), credit(source, value)],
        ),
        kind="foodbank_in",
        created_by=actor,
        fresh_key=True,
    )
    lot = FoodLot(
        id=uuid.uuid4(),
        item=item,
        unit=unit,
        quantity=quantity,
        remaining=quantity,
        unit_value=unit_value,
        expires_on=expires_on,
        received_on=received_on,
        donor_id=donor_id,
        entry_id=entry_id,
    )
    session.add(lot)
    await session.flush()
    return lot


async def issue(
    session: AsyncSession,
    *,
    item: str,
    quantity: int,
    issued_on: date,
    household_id: uuid.UUID | None,
    facility: str | None,
    dong: str | None,
    actor: str,
    token: uuid.UUID,
) -> FoodIssue:
    lots = list(
        await session.scalars(
            select(FoodLot)
            .where(FoodLot.item == item, FoodLot.remaining > 0)
            .order_by(FoodLot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    takes = rules.pick(
        [rules.Lot(str(x.id), x.remaining, x.unit_value, x.expires_on) for x in lots], quantity, issued_on
    )
    by_id = {str(x.id): x for x in lots}
    for take in takes:
        by_id[take.lot_id].remaining -= take.quantity
    value = sum(t.value for t in takes)
    now = utcnow()
    sink, stock = distributed_in_kind(STORE), in_kind_stock(STORE)
    await ledger.open_accounts(session, [sink, stock], now)
    entry_id = uuid.uuid4()
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"food bank out: {item}",
            f"food-out:{token}",
            [debit(sink, value), credit(stock, value)],
        ),
        kind="foodbank_out",
        created_by=actor,
        fresh_key=True,
    )
    row = FoodIssue(
        id=uuid.uuid4(),
        item=item,
        quantity=quantity,
        value=value,
        household_id=household_id,
        facility=facility,
        dong=dong,
        issued_on=issued_on,
        entry_id=entry_id,
    )
    session.add(row)
    await session.flush()
    return row


async def write_off(
    session: AsyncSession,
    lot_id: uuid.UUID,
    *,
    quantity: int | None,
    reason: str,
    on: date,
    actor: str,
    token: uuid.UUID,
) -> FoodWriteOff:
    """Throw away goods of a lot (all that is left by default): stock → written off."""
    lot = await session.scalar(
        select(FoodLot)
        .where(FoodLot.id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if lot is None:
        raise NotFound(f"no lot {lot_id}")
    n = lot.remaining if quantity is None else quantity
    if n <= 0 or n > lot.remaining:
        raise rules.InsufficientStock(f"the lot has {lot.remaining} left, {n} asked", available=lot.remaining)
    lot.remaining -= n
    now = utcnow()
    sink, stock = written_off(STORE), in_kind_stock(STORE)
    await ledger.open_accounts(session, [sink, stock], now)
    entry_id = uuid.uuid4()
    value = n * lot.unit_value
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"food bank write-off: {lot.item}",
            f"food-off:{token}",
            [debit(sink, value), credit(stock, value)],
        ),
        kind="foodbank_write_off",
        created_by=actor,
        fresh_key=True,
    )
    row = FoodWriteOff(
        id=uuid.uuid4(),
        lot_id=lot.id,
        quantity=n,
        value=value,
        reason=reason,
        written_off_on=on,
        entry_id=entry_id,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class StockLine:
    item: str
    unit: str
    quantity: int
    value: int
    next_expiry: date | None


async def stock(session: AsyncSession) -> list[StockLine]:
    rows = await session.execute(
        select(
            FoodLot.item,
            func.min(FoodLot.unit),
            func.sum(FoodLot.remaining),
            func.sum(FoodLot.remaining * FoodLot.unit_value),
            func.min(FoodLot.expires_on),
        )
        .where(FoodLot.remaining > 0)
        .group_by(FoodLot.item)
        .order_by(FoodLot.item)
    )
    return [StockLine(i, u, int(q), int(v), e) for i, u, q, v, e in rows.all()]


async def expiring(session: AsyncSession, on: date, until: date) -> list[FoodLot]:
    lots = list(
        await session.scalars(select(FoodLot).where(FoodLot.remaining > 0, FoodLot.expires_on <= until))
    )
    wanted = {
        x.id
        for x in rules.expiring(
            [rules.Lot(str(x.id), x.remaining, x.unit_value, x.expires_on) for x in lots], on, until
        )
    }
    return sorted((x for x in lots if str(x.id) in wanted), key=lambda x: (x.expires_on or on, str(x.id)))


@dataclass(frozen=True)
class Served:
    households: int
    facilities: int
    issues: int
    quantity: int
    value: int


async def served(session: AsyncSession, start: date, end: date) -> Served:
    window = (FoodIssue.issued_on >= start, FoodIssue.issued_on <= end)
    households, facilities, issues, quantity, value = (
        await session.execute(
            select(
                func.count(func.distinct(FoodIssue.household_id)),
                func.count(func.distinct(FoodIssue.facility)),
                func.count(),
                func.coalesce(func.sum(FoodIssue.quantity), 0),
                func.coalesce(func.sum(FoodIssue.value), 0),
            ).where(*window)
        )
    ).one()
    return Served(int(households), int(facilities), int(issues), int(quantity), int(value))
