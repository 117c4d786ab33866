"""Check-in use cases: programmes, enrolment, recording outcomes, escalation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.hotline import CheckinMissed, CheckinMissedData, CheckinRecord
from heemang_hotline.api.checkin_schemas import CheckinCreate, EnrolmentCreate, ProgrammeCreate
from heemang_hotline.db.models import CheckinProgramme, CheckinSlot, Enrolment
from heemang_hotline.domain import checkins as rules
from heemang_hotline.events.publish import publish
from heemang_hotline.settings import Settings

#: How many past check-ins travel with an escalation (enough to see the pattern).
HISTORY_IN_EVENT = 5


async def create_programme(session: AsyncSession, data: ProgrammeCreate) -> CheckinProgramme:
    if (await session.execute(select(CheckinProgramme).where(CheckinProgramme.code == data.code))).first():
        raise Conflict(f"programme {data.code!r} exists")
    programme = CheckinProgramme(id=uuid.uuid4(), code=data.code, name=data.name, kind=data.kind.value)
    session.add(programme)
    await session.flush()
    return programme


async def list_programmes(session: AsyncSession) -> list[CheckinProgramme]:
    return list((await session.execute(select(CheckinProgramme).order_by(CheckinProgramme.code))).scalars())


async def enrol(
    session: AsyncSession, data: EnrolmentCreate, settings: Settings, source: str = "manual"
) -> Enrolment:
    programme = await session.get(CheckinProgramme, data.programme_id)
    if programme is None:
        raise NotFound(f"programme {data.programme_id} not found")
    window = rules.Window(data.weekday, data.window_start, data.window_end)
    rules.validate_window(window, quiet_hours(settings))
    taken = select(Enrolment).where(
        Enrolment.programme_id == programme.id, Enrolment.household_id == data.household_id
    )
    if (await session.execute(taken)).first():
        raise Conflict("the household is already enrolled in this programme")
    enrolment = Enrolment(
        id=uuid.uuid4(),
        programme_id=programme.id,
        household_id=data.household_id,
        dong=data.dong,
        weekday=data.weekday,
        window_start=data.window_start,
        window_end=data.window_end,
        active=True,
        source=source,
        enrolled_at=utcnow(),
    )
    session.add(enrolment)
    await session.flush()
    return enrolment


async def get_enrolment(session: AsyncSession, enrolment_id: uuid.UUID) -> Enrolment:
    enrolment = await session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(f"enrolment {enrolment_id} not found")
    return enrolment


async def record_checkin(
    session: AsyncSession, enrolment_id: uuid.UUID, data: CheckinCreate, settings: Settings
) -> CheckinSlot:
    """Record a slot's outcome once; raise checkin.missed when the rule says so."""
    enrolment = await get_enrolment(session, enrolment_id)
    programme = await session.get(CheckinProgramme, enrolment.programme_id)
    assert programme is not None  # foreign key
    _check_slot(enrolment, data.slot_at)
    existing = select(CheckinSlot).where(
        CheckinSlot.enrolment_id == enrolment.id, CheckinSlot.slot_at == data.slot_at
    )
    if (await session.execute(existing)).first():
        raise Conflict("this check-in slot is already recorded")
    slot = CheckinSlot(
        id=uuid.uuid4(),
        enrolment_id=enrolment.id,
        slot_at=data.slot_at,
        outcome=data.outcome.value,
        attempts=data.attempts,
        escalated=False,
        recorded_at=utcnow(),
    )
    session.add(slot)
    await session.flush()
    if programme.kind != rules.ProgrammeKind.message:  # one-way messages cannot be missed
        await _escalate_if_needed(session, enrolment, programme, slot, settings)
    return slot


async def history(session: AsyncSession, enrolment_id: uuid.UUID, limit: int = 100) -> list[CheckinSlot]:
    await get_enrolment(session, enrolment_id)
    stmt = (
        select(CheckinSlot)
        .where(CheckinSlot.enrolment_id == enrolment_id)
        .order_by(CheckinSlot.slot_at.desc())
        .limit(limit)
    )
    return list(reversed((await session.execute(stmt)).scalars().all()))


def quiet_hours(settings: Settings) -> rules.QuietHours:
    return rules.QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)


def _check_slot(enrolment: Enrolment, slot_at: datetime) -> None:
    local = slot_at.astimezone(rules.KST)
    if local.weekday() != enrolment.weekday:
        raise Invalid("the slot is not on the enrolment's weekday", weekday=enrolment.weekday)
    if not enrolment.window_start <= local.time() <= enrolment.window_end:
        raise Invalid("the slot is outside the enrolment's call window")


async def _escalate_if_needed(
    session: AsyncSession,
    enrolment: Enrolment,
    programme: CheckinProgramme,
    slot: CheckinSlot,
    settings: Settings,
) -> None:
    recent = await history(
        session, enrolment.id, limit=max(HISTORY_IN_EVENT, settings.checkin_consecutive_misses + 1)
    )
    if recent[-1].id != slot.id:
        return  # a late record for an older slot does not decide today's escalation
    rule = rules.EscalationRule(settings.checkin_consecutive_misses)
    escalation = rules.assess([rules.Outcome(s.outcome) for s in recent], rule)
    if escalation is None:
        return
    slot.escalated = True
    publish(
        session,
        CheckinMissed.create(
            subject=enrolment.id,
            data=CheckinMissedData(
                enrolment_id=enrolment.id,
                household_id=enrolment.household_id,
                dong=enrolment.dong,
                programme=programme.code,
                reason=escalation.reason,
                consecutive_misses=escalation.consecutive_misses,
                urgent=escalation.urgent,
                history=[
                    CheckinRecord(slot_at=s.slot_at, outcome=s.outcome) for s in recent[-HISTORY_IN_EVENT:]
                ],
                at=utcnow(),
            ),
        ),
    )
