"""Corporate agreements (기업 협약): in-kind service offers used for households. A use is a
gift of a service and its delivery at once: booked at its appraised value from
`ext:donations:goods` to `ext:distributed:agreement-<service>`, so the value reaches reports."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_resources.db.models import AgreementUse, CorporateAgreement
from heemang_resources.domain.ledger import (
    JournalEntry,
    credit,
    debit,
    distributed_in_kind,
    donations_received,
)
from heemang_resources.service import ledger


class AgreementExhausted(Conflict):
    problem = "agreement-exhausted"
    title = "The agreement's uses for the year are used up"


async def get(session: AsyncSession, agreement_id: uuid.UUID, *, lock: bool = False) -> CorporateAgreement:
    stmt = select(CorporateAgreement).where(CorporateAgreement.id == agreement_id)
    found = await session.scalar(
        (stmt.with_for_update() if lock else stmt).execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(f"no agreement {agreement_id}")
    return found


async def use(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    *,
    household_id: uuid.UUID,
    dong: str,
    used_on: date,
    actor: str,
    token: uuid.UUID,
) -> AgreementUse:
    a = await get(session, agreement_id, lock=True)  # uses of one agreement take turns (capacity)
    if not a.starts_on <= used_on <= a.ends_on:
        raise Invalid(f"the agreement runs {a.starts_on}–{a.ends_on}")
    if a.uses_per_year is not None:
        year = (date(used_on.year, 1, 1), date(used_on.year, 12, 31))
        used = await session.scalar(
            select(func.count()).where(
                AgreementUse.agreement_id == a.id,
                AgreementUse.used_on >= year[0],
                AgreementUse.used_on <= year[1],
            )
        )
        if int(used or 0) >= a.uses_per_year:
            raise AgreementExhausted(f"{a.uses_per_year} uses in {used_on.year} are used up")
    now = utcnow()
    sink, source = distributed_in_kind(f"agreement-{a.service}"), donations_received("goods")
    await ledger.open_accounts(session, [sink, source], now)
    entry_id = uuid.uuid4()
    await ledger.post(
        session,
        JournalEntry(
            str(entry_id),
            now,
            f"agreement {a.service} used",
            f"agreement:{token}",
            [debit(sink, a.unit_value), credit(source, a.unit_value)],
        ),
        kind="agreement_use",
        created_by=actor,
        fresh_key=True,
    )
    row = AgreementUse(
        id=uuid.uuid4(),
        agreement_id=a.id,
        household_id=household_id,
        dong=dong,
        used_on=used_on,
        value=a.unit_value,
        entry_id=entry_id,
    )
    session.add(row)
    await session.flush()
    return row
