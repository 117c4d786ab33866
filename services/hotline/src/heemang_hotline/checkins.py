"""Check-in use cases: programmes, enrolment, recording outcomes, escalation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.hotline import CheckinMissed, CheckinMissedData, CheckinRecord
from heemang_common.masking import mask_phone
from heemang_hotline.api.checkin_schemas import CheckinCreate, EnrolmentCreate, ProgrammeCreate
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import CheckinCall, CheckinProgramme, CheckinSlot, Enrolment
from heemang_hotline.domain import checkins as rules
from heemang_hotline.domain import phones
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
    session: AsyncSession,
    data: EnrolmentCreate,
    settings: Settings,
    protector: ContactProtector,
    source: str = "manual",
) -> Enrolment:
    programme = await session.get(CheckinProgramme, data.programme_id)
    if programme is None:
        raise NotFound(f"programme {data.programme_id} not found")
    window = rules.Window(data.weekday, data.window_start, data.window_end)
    rules.validate_window(window, quiet_hours(settings))
    phone = phones.normalise(data.phone) if data.phone else None
    taken = select(Enrolment).where(
        Enrolment.programme_id == programme.id, Enrolment.household_id == data.household_id
    )
    if (await session.execute(taken)).first():
        raise Conflict("the household is already enrolled in this programme")
    enrolment = Enrolment(
        id=uuid.uuid4(),
        programme_id=programme.id,
        household_id=data.household_id,
        person_id=data.person_id,
        dong=data.dong,
        weekday=data.weekday,
        window_start=data.window_start,
        window_end=data.window_end,
        active=True,
        source=source,
        enrolled_at=utcnow(),
    )
    if phone is not None:
        _seal_phone(enrolment, phone, protector)
    session.add(enrolment)
    await session.flush()
    return enrolment


def _seal_phone(enrolment: Enrolment, phone: str, protector: ContactProtector) -> None:
    enrolment.phone_enc = protector.encrypt(phone, enrolment.id.bytes)
    enrolment.phone_hash = protector.lookup_hash(phone)


def masked_phone(enrolment: Enrolment, protector: ContactProtector) -> str | None:
    if enrolment.phone_enc is None:
        return None
    return mask_phone(protector.decrypt(enrolment.phone_enc, enrolment.id.bytes))


async def set_contact(
    session: AsyncSession, enrolment_id: uuid.UUID, phone: str, protector: ContactProtector
) -> Enrolment:
    """Give an enrolment its contact number (auto-enrolled people arrive without one)."""
    enrolment = await get_enrolment(session, enrolment_id)
    _seal_phone(enrolment, phones.normalise(phone), protector)
    await session.flush()
    return enrolment


async def list_enrolments(
    session: AsyncSession,
    *,
    programme_id: uuid.UUID | None,
    needs_contact: bool | None,
    dongs: frozenset[str] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    household_id: uuid.UUID | None = None,
) -> list[Enrolment]:
    stmt = select(Enrolment).order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc()).limit(limit)
    if programme_id is not None:
        stmt = stmt.where(Enrolment.programme_id == programme_id)
    if needs_contact is not None:
        stmt = stmt.where(
            Enrolment.phone_enc.is_(None) if needs_contact else Enrolment.phone_enc.is_not(None)
        )
    if dongs is not None:
        stmt = stmt.where(Enrolment.dong.in_(sorted(dongs)))
    if household_id is not None:
        stmt = stmt.where(Enrolment.household_id == household_id)
    if after is not None:
        at, last = after
        stmt = stmt.where(
            or_(Enrolment.enrolled_at < at, and_(Enrolment.enrolled_at == at, Enrolment.id < last))
        )
    return list((await session.execute(stmt)).scalars())


async def auto_enrol(session: AsyncSession, household_id: uuid.UUID, dong: str, settings: Settings) -> bool:
    """Enrol an elderly person living alone whose case closed in the configured programme,
    awaiting a counsellor for the contact number (events carry none). False if enrolled."""
    programme = await _auto_programme(session, settings)
    taken = select(Enrolment.id).where(
        Enrolment.programme_id == programme.id, Enrolment.household_id == household_id
    )
    if (await session.execute(taken)).first():
        return False
    session.add(
        Enrolment(
            id=uuid.uuid4(),
            programme_id=programme.id,
            household_id=household_id,
            dong=dong,
            weekday=settings.auto_enrol_weekday,
            window_start=settings.auto_enrol_window_start,
            window_end=settings.auto_enrol_window_end,
            active=True,
            source="case_closed",
            enrolled_at=utcnow(),
        )
    )
    await session.flush()
    return True


async def _auto_programme(session: AsyncSession, settings: Settings) -> CheckinProgramme:
    code = settings.auto_enrol_programme
    stmt = select(CheckinProgramme).where(CheckinProgramme.code == code)
    programme = (await session.execute(stmt)).scalar_one_or_none()
    if programme is None:  # first auto-enrolment on a fresh install: 헬로안심 by default
        programme = CheckinProgramme(
            id=uuid.uuid4(), code=code, name="헬로안심", kind=rules.ProgrammeKind.automated.value, active=True
        )
        session.add(programme)
        await session.flush()
    return programme


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
    _check_slot(enrolment, data.slot_at)
    return await record_outcome(session, enrolment, data.slot_at, data.outcome, data.attempts, settings)


async def record_outcome(
    session: AsyncSession,
    enrolment: Enrolment,
    slot_at: datetime,
    outcome: rules.Outcome,
    attempts: int,
    settings: Settings,
) -> CheckinSlot:
    """The one path by which a slot's outcome is recorded (by hand or by the scheduler)."""
    programme = await session.get(CheckinProgramme, enrolment.programme_id)
    assert programme is not None  # foreign key
    existing = select(CheckinSlot).where(
        CheckinSlot.enrolment_id == enrolment.id, CheckinSlot.slot_at == slot_at
    )
    if (await session.execute(existing)).first():
        raise Conflict("this check-in slot is already recorded")
    slot = CheckinSlot(
        id=uuid.uuid4(),
        enrolment_id=enrolment.id,
        slot_at=slot_at,
        outcome=outcome.value,
        attempts=attempts,
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


async def calls(session: AsyncSession, enrolment_id: uuid.UUID, limit: int = 100) -> list[CheckinCall]:
    """The scheduler's slots of an enrolment, newest first."""
    stmt = (
        select(CheckinCall)
        .where(CheckinCall.enrolment_id == enrolment_id)
        .order_by(CheckinCall.slot_at.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())
