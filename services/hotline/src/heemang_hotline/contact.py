"""Do-not-contact: flags on a person or household, the gate every send passes, and the log
of refused sends. The gate runs before a provider is called; a refused send never reaches one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import NotFound
from heemang_common.events.envelope import utcnow
from heemang_hotline.db.models import ContactRefusal, DoNotContact

REASON = "do_not_contact"


async def set_flag(
    session: AsyncSession, kind: str, subject_id: uuid.UUID, *, dong: str | None, reason: str, by: str
) -> DoNotContact:
    flag = await get_flag(session, kind, subject_id)
    now = utcnow()
    if flag is None:
        flag = DoNotContact(id=uuid.uuid4(), subject_kind=kind, subject_id=subject_id)
        session.add(flag)
    flag.dong, flag.reason, flag.active, flag.set_by, flag.set_at = dong, reason, True, by, now
    flag.lifted_by = flag.lifted_at = None
    await session.flush()
    return flag


async def lift_flag(session: AsyncSession, kind: str, subject_id: uuid.UUID, *, by: str) -> DoNotContact:
    flag = await get_flag(session, kind, subject_id)
    if flag is None or not flag.active:
        raise NotFound("no active do-not-contact flag for this subject")
    flag.active, flag.lifted_by, flag.lifted_at = False, by, utcnow()
    await session.flush()
    return flag


async def get_flag(session: AsyncSession, kind: str, subject_id: uuid.UUID) -> DoNotContact | None:
    stmt = select(DoNotContact).where(
        DoNotContact.subject_kind == kind, DoNotContact.subject_id == subject_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def blocked(session: AsyncSession, household_id: uuid.UUID | None, person_id: uuid.UUID | None) -> bool:
    """Whether the household or the person carries an active do-not-contact flag."""
    subjects = []
    if household_id is not None:
        subjects.append(
            (DoNotContact.subject_kind == "household") & (DoNotContact.subject_id == household_id)
        )
    if person_id is not None:
        subjects.append((DoNotContact.subject_kind == "person") & (DoNotContact.subject_id == person_id))
    if not subjects:
        return False
    stmt = select(DoNotContact.id).where(DoNotContact.active.is_(True), or_(*subjects)).limit(1)
    return (await session.execute(stmt)).first() is not None


def log_refusal(
    session: AsyncSession,
    *,
    channel: str,
    reference_id: uuid.UUID,
    household_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
    at: datetime | None = None,
    reason: str = REASON,
) -> None:
    session.add(
        ContactRefusal(
            id=uuid.uuid4(),
            at=at or utcnow(),
            channel=channel,
            reference_id=reference_id,
            household_id=household_id,
            person_id=person_id,
            reason=reason,
        )
    )


async def refusals(
    session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[ContactRefusal]:
    stmt = select(ContactRefusal).order_by(ContactRefusal.at.desc(), ContactRefusal.id.desc()).limit(limit)
    if after is not None:
        at, last = after
        stmt = stmt.where(or_(ContactRefusal.at < at, (ContactRefusal.at == at) & (ContactRefusal.id < last)))
    return list((await session.execute(stmt)).scalars())
