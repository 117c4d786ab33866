"""Allocations: answering casework's service requests, and delivering what was approved."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, NotFound
from heemang_common.events.casework import ServiceRequestedData
from heemang_common.events.envelope import utcnow
from heemang_common.events.resources import (
    AllocationApproved,
    AllocationApprovedData,
    AllocationRejected,
    AllocationRejectedData,
    DistributionDelivered,
    DistributionDeliveredData,
)
from heemang_common.outbox import add_event
from heemang_resources.db.models import Allocation, LedgerAccount, OutboxMessage
from heemang_resources.domain import allocations as rules
from heemang_resources.domain.care_caps import CareUsage, catalogue_for
from heemang_resources.domain.errors import InvalidCareRequest
from heemang_resources.domain.ledger import (
    AccountKind,
    JournalEntry,
    credit,
    debit,
    disbursed,
    distributed_in_kind,
)
from heemang_resources.service import ledger

SEOUL = ZoneInfo("Asia/Seoul")
APPROVED, REJECTED, DELIVERED = "approved", "rejected", "delivered"


class AlreadyDelivered(Conflict):
    problem = "already-delivered"
    title = "Allocation already delivered"


class NotDeliverable(Conflict):
    problem = "not-deliverable"
    title = "Only an approved allocation can be delivered"


async def decide(session: AsyncSession, data: ServiceRequestedData) -> Allocation:
    """Approve or reject a service request (once per request id) and say so via the outbox."""
    existing = await session.scalar(select(Allocation).where(Allocation.request_id == data.request_id))
    if existing is not None:
        return existing
    year = data.requested_at.astimezone(SEOUL).year
    fund_code = data.fund or rules.default_fund(data.service_code)
    fund = await _lock_fund(session, fund_code)  # serialises decisions drawing on one fund
    request = rules.SupportRequest(data.service_code, data.amount, data.quantity, str(data.household_id))
    outcome = await _price(session, request, data, year)
    if isinstance(outcome, rules.Grant):
        available = await _available(session, fund) if fund is not None else 0
        refusal = (
            rules.check_fund(
                ledger.to_account(fund) if fund else None,
                fund_code or "(none)",
                str(data.household_id),
                outcome.amount,
                available,
            )
            if fund_code
            else rules.Refusal("fund_insufficient", f"no fund is set for {data.service_code}")
        )
        outcome = refusal or outcome
    return _record(session, data, year, fund_code, outcome)


async def _lock_fund(session: AsyncSession, code: str | None) -> LedgerAccount | None:
    if code is None:
        return None
    stmt = select(LedgerAccount).where(LedgerAccount.code == code).with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def _price(
    session: AsyncSession, request: rules.SupportRequest, data: ServiceRequestedData, year: int
) -> rules.Grant | rules.Refusal:
    if not data.service_code.startswith(rules.CARE_PREFIX):
        return rules.price(request, catalogue_for(2022), [])
    try:
        catalogue = catalogue_for(year)
    except InvalidCareRequest as exc:
        return rules.Refusal("unknown_service", exc.detail)
    return rules.price(request, catalogue, await care_history(session, data.household_id, year))


async def care_history(session: AsyncSession, household_id: uuid.UUID, year: int) -> list[CareUsage]:
    rows = await session.scalars(
        select(Allocation).where(
            Allocation.household_id == household_id,
            Allocation.year == year,
            Allocation.status.in_((APPROVED, DELIVERED)),
            Allocation.service_code.startswith(rules.CARE_PREFIX),
        )
    )
    usage = []
    for row in rows:
        service = rules.care_service(row.service_code)
        if service is not None:
            usage.append(CareUsage(service, row.quantity or 1, row.amount))
    return usage


async def _available(session: AsyncSession, fund: LedgerAccount) -> int:
    """The fund's balance less what approved, undelivered allocations already hold."""
    committed = await session.scalar(
        select(func.coalesce(func.sum(Allocation.amount), 0)).where(
            Allocation.fund == fund.code, Allocation.status == APPROVED
        )
    )
    return await ledger.balance(session, fund.code) - int(committed or 0)


def _record(
    session: AsyncSession,
    data: ServiceRequestedData,
    year: int,
    fund: str | None,
    outcome: rules.Grant | rules.Refusal,
) -> Allocation:
    now = utcnow()
    granted = isinstance(outcome, rules.Grant)
    allocation = Allocation(
        id=uuid.uuid4(),
        request_id=data.request_id,
        case_id=data.case_id,
        household_id=data.household_id,
        dong=data.dong,
        service_code=data.service_code,
        kind=data.kind,
        provider=data.provider[:200],
        quantity=outcome.units if isinstance(outcome, rules.Grant) else data.quantity,
        requested_amount=data.amount,
        amount=outcome.amount if isinstance(outcome, rules.Grant) else 0,
        fund=fund,
        status=APPROVED if granted else REJECTED,
        reason=None if isinstance(outcome, rules.Grant) else outcome.reason,
        detail=None if isinstance(outcome, rules.Grant) else outcome.detail[:500],
        year=year,
        requested_at=data.requested_at,
        decided_at=now,
    )
    session.add(allocation)
    if isinstance(outcome, rules.Grant):
        assert fund is not None
        event: AllocationApproved | AllocationRejected = AllocationApproved.create(
            subject=str(allocation.id),
            data=AllocationApprovedData(
                allocation_id=allocation.id,
                request_id=data.request_id,
                case_id=data.case_id,
                household_id=data.household_id,
                amount=outcome.amount,
                fund=fund,
                approved_at=now,
            ),
        )
    else:
        event = AllocationRejected.create(
            subject=str(data.request_id),
            data=AllocationRejectedData(
                request_id=data.request_id,
                case_id=data.case_id,
                household_id=data.household_id,
                reason=outcome.reason,
                detail=outcome.detail[:500],
                rejected_at=now,
            ),
        )
    add_event(session, OutboxMessage, event)
    return allocation


async def get(session: AsyncSession, allocation_id: uuid.UUID, *, lock: bool = False) -> Allocation:
    stmt = select(Allocation).where(Allocation.id == allocation_id).execution_options(populate_existing=True)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound(f"no allocation {allocation_id}")
    return row


async def deliver(
    session: AsyncSession, allocation_id: uuid.UUID, actor: str, at: datetime | None = None
) -> Allocation:
    """Post the delivery to the ledger (fund → disbursed or distributed) and say so, once."""
    allocation = await get(session, allocation_id, lock=True)
    if allocation.status == DELIVERED:
        raise AlreadyDelivered(f"allocation {allocation_id} was delivered at {allocation.delivered_at}")
    if allocation.status != APPROVED or allocation.fund is None:
        raise NotDeliverable(f"allocation {allocation_id} is {allocation.status}")
    now = at or utcnow()
    fund = await ledger.get_account(session, allocation.fund)
    if fund.kind == AccountKind.in_kind_stock.value:
        sink = distributed_in_kind(allocation.fund.rsplit(":", 1)[1])
    else:
        sink = disbursed(rules.purpose(allocation.service_code))
    entry_id = uuid.uuid4()
    if allocation.amount > 0:
        await ledger.open_accounts(session, [sink], now)
        await ledger.post(
            session,
            JournalEntry(
                id=str(entry_id),
                posted_at=now,
                memo=f"delivery of allocation {allocation.id} ({allocation.service_code})",
                idempotency_key=f"allocation:{allocation.id}:delivery",
                lines=[debit(sink, allocation.amount), credit(allocation.fund, allocation.amount)],
            ),
            kind="delivery",
            created_by=actor,
        )
        allocation.delivery_entry_id = entry_id
    allocation.status, allocation.delivered_at = DELIVERED, now
    add_event(
        session,
        OutboxMessage,
        DistributionDelivered.create(
            subject=str(allocation.id),
            data=DistributionDeliveredData(
                allocation_id=allocation.id,
                request_id=allocation.request_id,
                case_id=allocation.case_id,
                household_id=allocation.household_id,
                amount=allocation.amount,
                delivered_at=now,
            ),
        ),
    )
    await session.flush()
    return allocation
