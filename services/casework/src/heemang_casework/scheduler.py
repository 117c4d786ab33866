"""The follow-up scheduler: publishes ``followup.due`` once per follow-up, when it falls due.

Each round claims due rows from the database and writes their events in the same
transaction (``UPDATE … SET claimed_at … WHERE claimed_at IS NULL … RETURNING``, with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so concurrent replicas take disjoint rows). Nothing is
kept in memory between rounds, so:

- a restart (or a crash mid-round) loses nothing: an uncommitted claim rolls back with its
  events and the next round claims the rows again;
- nothing fires twice: a committed claim has its outbox rows, and a claimed row is never
  claimed again — by this process, a restarted one, or another replica.

The clock is injected (tests drive it); "due" is the Seoul calendar day (domain.followup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_casework.db.models import Case, CaseTimelineEntry, FollowUp
from heemang_casework.domain.followup import FollowUpStatus, local_date
from heemang_casework.events.publish import publish
from heemang_common.db import transaction
from heemang_common.events.casework import FollowUpDue, FollowUpDueData
from heemang_common.events.envelope import utcnow

log = logging.getLogger("heemang.casework.scheduler")
Clock = Callable[[], datetime]


class FollowUpScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utcnow,
        interval_s: float = 60.0,
        batch_size: int = 100,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._interval = interval_s
        self._batch = batch_size

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop``; a failed round is logged and retried at the next tick."""
        while not stop.is_set():
            try:
                while await self.run_once() == self._batch:
                    pass  # a full batch: more may be due
            except Exception:
                log.exception("follow-up scheduler round failed; retrying next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def run_once(self) -> int:
        """Claim up to one batch of due follow-ups and publish their events; returns how many."""
        async with transaction(self._sessionmaker) as session:
            return await claim_due(session, self._clock(), self._batch)


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> int:
    today = local_date(now)
    due = (
        select(FollowUp.id)
        .where(
            FollowUp.claimed_at.is_(None),
            FollowUp.status == FollowUpStatus.scheduled.value,
            FollowUp.due_on <= today,
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # Materialised: as an IN (subquery) PostgreSQL may rescan it and claim more than a batch.
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    claim = (
        update(FollowUp)
        .where(FollowUp.id == due.c.id, FollowUp.claimed_at.is_(None))
        .values(claimed_at=now, status=FollowUpStatus.due.value)
        .returning(FollowUp.id, FollowUp.case_id, FollowUp.due_on, FollowUp.sequence)
        .execution_options(synchronize_session=False)
    )
    claimed = (await session.execute(claim)).all()
    for follow_up_id, case_id, due_on, sequence in claimed:
        case = await session.get(Case, case_id)
        assert case is not None  # follow-ups belong to cases (foreign key)
        number = sequence or await _sequence(session, case_id, due_on)
        data = FollowUpDueData(
            follow_up_id=follow_up_id,
            case_id=case_id,
            household_id=case.household_id,
            dong=case.dong,
            due_on=due_on,
            sequence=number,
        )
        publish(session, FollowUpDue.create(subject=case_id, data=data))
        session.add(
            CaseTimelineEntry(
                case_id=case_id, at=now, kind="follow_up_due", reason=f"follow-up {number} due {due_on}"
            )
        )
    await session.flush()
    return len(claimed)


async def _sequence(session: AsyncSession, case_id: uuid.UUID, due_on: object) -> int:
    """For rows scheduled before sequences were stored: their rank among the case's dates."""
    stmt = (
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.due_on <= due_on)
    )
    return max(1, int(await session.scalar(stmt) or 1))
