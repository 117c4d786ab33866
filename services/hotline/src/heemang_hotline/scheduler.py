"""The automated check-in scheduler (헬로안심 and message programmes).

Durable state lives in ``checkin_calls``, one row per enrolment and slot:
1. ``plan`` inserts the slots of the next days in one set-based statement (PostgreSQL:
   ``INSERT … SELECT … ON CONFLICT DO NOTHING``): planning again plans nothing twice.
2. ``claim`` leases due rows in one ``UPDATE … RETURNING`` over ``FOR UPDATE SKIP LOCKED``:
   two workers never hold one slot; a worker that dies leaves a lease that expires.
3. each claimed slot passes the do-not-contact gate, then ``domain.checkins.next_step``
   decides: send (attempt n), wait out quiet hours, close (answer / miss) or skip.
   Attempt n is committed *before* the provider is called, and its message id is derived
   from (slot, n): a slot retaken after a crash resends the same message id, which the
   provider deduplicates, so one slot's attempt reaches the person once.
4. closing goes through ``checkins.record_outcome``: the escalation rule applies as for
   outcomes recorded by hand.

Time is passed in (``tick(now)``) so tests drive it; ``run`` uses the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.events.envelope import utcnow
from heemang_hotline import checkins, contact
from heemang_hotline.crypto import ContactDecryptionError, ContactProtector
from heemang_hotline.db.models import CheckinCall, CheckinProgramme, Enrolment
from heemang_hotline.domain import checkins as rules
from heemang_hotline.domain.sms import retry_delay_s
from heemang_hotline.settings import Settings
from heemang_hotline.sms.base import OutboundSms, SendResult, SmsProvider

log = logging.getLogger("heemang.hotline.scheduler")

#: Namespace of attempt message ids: uuid5(namespace, "<call id>:<attempt>").
ATTEMPT_NS = uuid.UUID("5d6c1f0e-8a4b-4e8e-9d3c-7b2a1f0e9c8d")
#: Programme kinds the scheduler contacts itself (희망콜 is called by counsellors).
SCHEDULED_KINDS = (rules.ProgrammeKind.automated.value, rules.ProgrammeKind.message.value)
OPEN = ("planned", "calling", "awaiting")


def attempt_id(call_id: uuid.UUID, attempt: int) -> uuid.UUID:
    return uuid.uuid5(ATTEMPT_NS, f"{call_id}:{attempt}")


@dataclass
class TickReport:
    planned: int = 0
    claimed: int = 0
    sent: int = 0
    closed: int = 0
    refused: int = 0
    skipped: int = 0
    waiting: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    enrolment_id: uuid.UUID
    slot_at: datetime
    window_end_at: datetime
    status: str
    attempts: int


class CheckinScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: SmsProvider,
        protector: ContactProtector,
        settings: Settings,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.protector = protector
        self.settings = settings
        self.quiet = checkins.quiet_hours(settings)
        self._planned_through: date | None = None

    # ---------------------------------------------------------------- planning

    async def plan(self, now: datetime, days: int | None = None) -> int:
        """Plan the slots of the ``days`` KST days from ``now``'s (set-based, idempotent)."""
        first = now.astimezone(rules.KST).date()
        last = first + timedelta(days=(days or self.settings.scheduler_plan_days) - 1)
        async with self.sessionmaker() as session, session.begin():
            if self.settings.is_sqlite:
                planned = await _plan_portable(session, first, last, now)
            else:
                planned = await _plan_postgresql(session, first, last, now)
        self._planned_through = first
        return planned

    # ---------------------------------------------------------------- running

    async def tick(self, now: datetime) -> TickReport:
        report = TickReport()
        if self._planned_through != now.astimezone(rules.KST).date():
            report.planned = await self.plan(now)
        claimed = await self.claim(now)
        report.claimed = len(claimed)
        for call in claimed:
            await self._process(call, now, report)
        return report

    async def run(self, stop: asyncio.Event, clock: Callable[[], datetime] = utcnow) -> None:
        while not stop.is_set():
            try:
                report = await self.tick(clock())
                busy = report.claimed >= self.settings.scheduler_batch_size
            except Exception:
                log.exception("check-in scheduler tick failed; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.scheduler_interval_s)

    async def claim(self, now: datetime) -> list[Claimed]:
        lease = now + timedelta(seconds=self.settings.scheduler_lease_s)
        free = or_(CheckinCall.lease_until.is_(None), CheckinCall.lease_until < now)
        due = or_(
            and_(CheckinCall.status.in_(("planned", "awaiting")), CheckinCall.next_attempt_at <= now),
            CheckinCall.status == "calling",  # a worker's lease ran out mid-send
        )
        pick = (
            select(CheckinCall.id)
            .where(CheckinCall.status.in_(OPEN), free, due)
            .order_by(CheckinCall.next_attempt_at)
            .limit(self.settings.scheduler_batch_size)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(CheckinCall)
            .where(CheckinCall.id.in_(pick.scalar_subquery()))
            .values(lease_until=lease, updated_at=now)
            .returning(
                CheckinCall.id,
                CheckinCall.enrolment_id,
                CheckinCall.slot_at,
                CheckinCall.window_end_at,
                CheckinCall.status,
                CheckinCall.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        async with self.sessionmaker() as session, session.begin():
            rows = (await session.execute(stmt)).all()
        return [Claimed(*row) for row in rows]

    # ---------------------------------------------------------------- one slot

    async def _process(self, call: Claimed, now: datetime, report: TickReport) -> None:
        async with self.sessionmaker() as session, session.begin():
            enrolment = await session.get(Enrolment, call.enrolment_id)
            programme = await session.get(CheckinProgramme, enrolment.programme_id) if enrolment else None
            if enrolment is None or programme is None or not enrolment.active or enrolment.phone_enc is None:
                await self._finish(session, call, "skipped", note="enrolment inactive or without number")
                report.skipped += 1
                return
            if await contact.blocked(session, enrolment.household_id, enrolment.person_id):
                contact.log_refusal(
                    session,
                    channel="checkin",
                    reference_id=call.id,
                    household_id=enrolment.household_id,
                    person_id=enrolment.person_id,
                    at=now,
                )
                await self._finish(session, call, "refused", note="do_not_contact")
                report.refused += 1
                return
            state = rules.CallState(call.slot_at, call.window_end_at, call.attempts, call.status == "calling")
            step = rules.next_step(state, now, self.quiet, self.settings.checkin_max_attempts)
            if isinstance(step, rules.Close):
                await self._close(session, call, enrolment, step.outcome, call.attempts, report)
                return
            if isinstance(step, rules.Skip):
                await self._finish(session, call, "skipped", note=step.reason)
                report.skipped += 1
                return
            if isinstance(step, rules.Wait):
                status = "awaiting" if call.status == "calling" else call.status
                await _set(session, call.id, status=status, next_attempt_at=step.until, lease_until=None)
                report.waiting += 1
                return
            try:
                phone = self.protector.decrypt(enrolment.phone_enc, enrolment.id.bytes)
            except ContactDecryptionError:  # a key missing from the settings: say so, do not loop
                log.error("enrolment %s: contact number cannot be decrypted", enrolment.id)
                await self._finish(session, call, "skipped", note="contact number unreadable")
                report.skipped += 1
                return
            # Send: commit "attempt n is being made" before the provider hears of it.
            await _set(session, call.id, status="calling", attempts=step.attempt)
            body = self.settings.checkin_message
            kind = programme.kind
        result = await self._send(OutboundSms(attempt_id(call.id, step.attempt), phone, body))
        report.sent += 1
        async with self.sessionmaker() as session, session.begin():
            await self._after_send(session, call, enrolment, kind, step.attempt, result, now, report)

    async def _send(self, message: OutboundSms) -> SendResult:
        try:
            return await self.sender.send(message)
        except Exception as exc:  # an adapter bug must not stop the other slots
            log.exception("SMS provider raised")
            return SendResult(accepted=False, error=f"provider raised {type(exc).__name__}")

    async def _after_send(
        self,
        session: AsyncSession,
        call: Claimed,
        enrolment: Enrolment,
        kind: str,
        attempt: int,
        result: SendResult,
        now: datetime,
        report: TickReport,
    ) -> None:
        current = await session.get(CheckinCall, call.id, with_for_update=True)
        if current is None or current.status != "calling":
            return  # a reply closed it meanwhile
        if result.accepted and kind == rules.ProgrammeKind.message.value:
            await self._close(session, call, enrolment, rules.Outcome.ok, attempt, report)
        elif result.accepted:
            retry = timedelta(minutes=self.settings.checkin_retry_after_min)
            nxt = rules.after_send(now, call.window_end_at, retry)
            await _set(session, call.id, status="awaiting", next_attempt_at=nxt, lease_until=None)
        elif result.permanent:
            await self._close(session, call, enrolment, rules.Outcome.wrong_number, attempt, report)
        else:
            nxt = min(now + timedelta(seconds=retry_delay_s(attempt, 60.0, 1800.0)), call.window_end_at)
            await _set(
                session, call.id, status="awaiting", next_attempt_at=nxt, lease_until=None, note=result.error
            )

    async def _close(
        self,
        session: AsyncSession,
        call: Claimed,
        enrolment: Enrolment,
        outcome: rules.Outcome,
        attempts: int,
        report: TickReport,
    ) -> None:
        await checkins.record_outcome(
            session, enrolment, call.slot_at, outcome, max(attempts, 1), self.settings
        )
        await self._finish(session, call, "done", outcome=outcome.value)
        report.closed += 1
        report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1

    async def _finish(
        self,
        session: AsyncSession,
        call: Claimed,
        status: str,
        *,
        note: str | None = None,
        outcome: str | None = None,
    ) -> None:
        await _set(session, call.id, status=status, lease_until=None, note=note, outcome=outcome)


async def _set(session: AsyncSession, call_id: uuid.UUID, **values: Any) -> None:
    values.setdefault("updated_at", utcnow())
    await session.execute(
        update(CheckinCall)
        .where(CheckinCall.id == call_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def close_by_reply(
    session: AsyncSession, phone_hash: str, outcome: rules.Outcome, settings: Settings
) -> int:
    """A reply from an enrolled number answers its open check-ins (usually one)."""
    stmt = (
        select(CheckinCall, Enrolment)
        .join(Enrolment, Enrolment.id == CheckinCall.enrolment_id)
        .where(Enrolment.phone_hash == phone_hash, CheckinCall.status.in_(("calling", "awaiting")))
        .with_for_update(of=CheckinCall)
    )
    rows = (await session.execute(stmt)).all()
    for call, enrolment in rows:
        await checkins.record_outcome(
            session, enrolment, call.slot_at, outcome, max(call.attempts, 1), settings
        )
        call.status, call.outcome, call.lease_until, call.updated_at = "done", outcome.value, None, utcnow()
    await session.flush()
    return len(rows)


_PLAN_POSTGRESQL = text(
    """
    INSERT INTO checkin_calls
        (id, enrolment_id, slot_at, window_end_at, status, attempts, next_attempt_at, updated_at)
    SELECT gen_random_uuid(), e.id,
           (d.day + e.window_start) AT TIME ZONE 'Asia/Seoul',
           (d.day + e.window_end) AT TIME ZONE 'Asia/Seoul',
           'planned', 0,
           (d.day + e.window_start) AT TIME ZONE 'Asia/Seoul',
           :now
    FROM checkin_enrolments e
    JOIN checkin_programmes p ON p.id = e.programme_id
    JOIN (
        SELECT g::date AS day, EXTRACT(ISODOW FROM g)::int - 1 AS weekday
        FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS g
    ) d ON d.weekday = e.weekday
    WHERE e.active AND p.active AND p.kind IN ('automated', 'message') AND e.phone_enc IS NOT NULL
      AND (d.day + e.window_end) AT TIME ZONE 'Asia/Seoul' > :now
    ON CONFLICT (enrolment_id, slot_at) DO NOTHING
    """
)


async def _plan_postgresql(session: AsyncSession, first: date, last: date, now: datetime) -> int:
    result = await session.execute(_PLAN_POSTGRESQL, {"first": first, "last": last, "now": now})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def plan_enrolment(
    session: AsyncSession, enrolment: Enrolment, settings: Settings, now: datetime
) -> int:
    """Plan one new or changed enrolment at once (the daily set-based plan would otherwise
    pick it up only tomorrow, missing a slot later today)."""
    programme = await session.get(CheckinProgramme, enrolment.programme_id)
    if programme is None or not (programme.active and enrolment.active and enrolment.phone_enc):
        return 0
    if programme.kind not in SCHEDULED_KINDS:
        return 0
    first = now.astimezone(rules.KST).date()
    window = rules.Window(enrolment.weekday, enrolment.window_start, enrolment.window_end)
    values = []
    for offset in range(settings.scheduler_plan_days):
        day = first + timedelta(days=offset)
        slot = rules.slot_for(window, day)
        window_end = datetime.combine(day, enrolment.window_end, rules.KST)
        if slot is not None and window_end > now:
            values.append(_call_row(enrolment.id, slot, window_end, now))
    return await _insert_calls(session, values)


def _call_row(enrolment_id: uuid.UUID, slot: datetime, window_end: datetime, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "enrolment_id": enrolment_id,
        "slot_at": slot,
        "window_end_at": window_end,
        "status": "planned",
        "attempts": 0,
        "next_attempt_at": slot,
        "updated_at": now,
    }


async def _insert_calls(session: AsyncSession, values: list[dict[str, Any]]) -> int:
    if not values:
        return 0
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    connection = await session.connection()
    result = await connection.execute(insert(CheckinCall).on_conflict_do_nothing(), values)
    return max(int(result.rowcount or 0), 0)


async def _plan_portable(session: AsyncSession, first: date, last: date, now: datetime) -> int:
    """SQLite (`make run`): the same plan, computed per day in Python (small districts)."""
    stmt = (
        select(Enrolment.id, Enrolment.weekday, Enrolment.window_start, Enrolment.window_end)
        .join(CheckinProgramme, CheckinProgramme.id == Enrolment.programme_id)
        .where(
            Enrolment.active.is_(True),
            CheckinProgramme.active.is_(True),
            CheckinProgramme.kind.in_(SCHEDULED_KINDS),
            Enrolment.phone_enc.is_not(None),
        )
    )
    rows = (await session.execute(stmt)).all()
    values: list[dict[str, Any]] = []
    day = first
    while day <= last:
        for enrolment_id, weekday, start, end in rows:
            slot = rules.slot_for(rules.Window(weekday, start, end), day)
            window_end = datetime.combine(day, end, rules.KST)
            if slot is not None and window_end > now:
                values.append(_call_row(enrolment_id, slot, window_end, now))
        day += timedelta(days=1)
    return await _insert_calls(session, values)
