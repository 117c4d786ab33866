"""T5 — outbox atomicity under crash injection (RELIABILITY.md).

A hypothesis state machine over the real database (PostgreSQL, or SQLite when that is what
the suite runs on) interleaves:
- business transactions that write an effect row and an outbox row together and then
  commit, roll back, die before commit, or fail on a constraint at commit;
- (PostgreSQL) business transactions left open across relay steps, finished later;
- relay steps with crash points: before publish, part of a batch sent then crash, whole
  batch sent but the ack lost, crash inside the mark-published transaction — optionally
  followed by a "process restart" (lock released, new relay and publisher).
The fake publisher records what reached the broker. After each relay step no row may be
marked published that the broker has not got; nothing may reach the broker that has no
committed row. After a final crash-free drain every committed row must have reached it.
Duplicates are allowed. Pass: ≥ 500 histories with 0 lost and 0 phantom events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.outbox import OutboxMixin, add_event
from heemang_common.relay import OutboxRelay, leader_lock_for

pytestmark = pytest.mark.slow

T = TypeVar("T")
HISTORIES = 500


class Crash(Exception):
    """The process dies at this point (raised where the crash is injected)."""


def make_event() -> ReferralAccepted:
    data = ReferralAcceptedData(
        referral_id=uuid.uuid4(), household_id=uuid.uuid4(), dong="d1",
        channel="phone", priority=3, accepted_at=datetime.now(UTC),
    )
    return ReferralAccepted.create(subject=data.referral_id, data=data)


class Broker:
    """What reached the broker, and anything that reached it without a committed row."""

    def __init__(self) -> None:
        self.received: list[uuid.UUID] = []
        self.phantoms: list[uuid.UUID] = []


class CrashingPublisher:
    def __init__(self, broker: Broker, committed: set[uuid.UUID]) -> None:
        self.broker = broker
        self.committed = committed
        self.mode = "ok"  # ok | before_publish | partial | ack_lost
        self.partial = 0

    def _deliver(self, rows: Sequence[OutboxMixin]) -> None:
        for row in rows:
            if row.event_id not in self.committed:
                self.broker.phantoms.append(row.event_id)
            self.broker.received.append(row.event_id)

    async def publish(self, rows: Sequence[OutboxMixin]) -> None:
        ids = [row.id for row in rows]
        assert ids == sorted(ids), "a batch must be read in id order"
        if self.mode == "before_publish":
            raise Crash("died before sending")
        if self.mode == "partial":
            self._deliver(rows[: self.partial % max(len(rows), 1)])
            raise Crash("died mid-batch")
        self._deliver(rows)
        if self.mode == "ack_lost":
            raise Crash("died after sending, before the ack")

    async def close(self) -> None:
        return None


class CrashableRelay(OutboxRelay):
    """The real relay, with a crash point inside its mark-published transaction."""

    crash_in_mark = False

    async def _mark_published(self, ids: list[int]) -> None:
        if self.crash_in_mark:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    update(self.model).where(self.model.id.in_(ids)).values(published_at=utcnow())
                )
                raise Crash("died before the mark committed")
        await super()._mark_published(ids)


class Harness:
    """An event loop and engine shared by every history (one database, emptied per history)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self.engine: AsyncEngine = self.runner.run(self._engine())
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.histories = 0
        self.steps = 0
        self.crashes: dict[str, int] = {}

    async def _engine(self) -> AsyncEngine:
        return create_engine(self.db.url)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.runner.close()


def build_machine(h: Harness) -> type[RuleBasedStateMachine]:
    db = h.db
    postgres = db.backend == "postgresql"

    class OutboxHistory(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            h.histories += 1
            h.run(self._wipe())
            self.committed: set[uuid.UUID] = set()
            self.broker = Broker()
            self.open_txs: list[tuple[AsyncSession, list[uuid.UUID]]] = []
            self.relays: list[CrashableRelay] = []
            self.relay = self._new_relay()

        # -- helpers -------------------------------------------------------------------
        async def _wipe(self) -> None:
            async with h.sessionmaker() as session, session.begin():
                for model in (db.Outbox, db.Effect, db.Inbox):
                    await session.execute(delete(model))

        def _new_relay(self) -> CrashableRelay:
            publisher = CrashingPublisher(self.broker, self.committed)

            async def factory() -> CrashingPublisher:
                return publisher

            relay = CrashableRelay(
                sessionmaker=h.sessionmaker, model=db.Outbox, publisher_factory=factory,
                lock=leader_lock_for(h.engine, "t5"), batch_size=4,
            )
            relay.fake = publisher  # type: ignore[attr-defined]
            self.relays.append(relay)
            return relay

        def _stage(self, session: AsyncSession, events: list[ReferralAccepted]) -> None:
            for event in events:
                session.add(
                    db.Effect(consumer="t5", event_id=str(event.id), aggregate=event.subject, seq=0)
                )
                add_event(session, db.Outbox, event)

        def _crashed(self, where: str) -> None:
            h.crashes[where] = h.crashes.get(where, 0) + 1

        # -- business transactions -------------------------------------------------------
        @rule(
            n=st.integers(1, 3),
            outcome=st.sampled_from(
                ["commit", "commit", "rollback", "crash_before_flush", "crash_after_flush",
                 "constraint_at_commit"]
            ),
        )
        def business_tx(self, n: int, outcome: str) -> None:
            h.steps += 1
            h.run(self._business_tx(n, outcome))

        async def _business_tx(self, n: int, outcome: str) -> None:
            events = [make_event() for _ in range(n)]
            session = h.sessionmaker()
            try:
                self._stage(session, events)
                if outcome == "crash_before_flush":
                    raise Crash("died before anything reached the database")
                await session.flush()
                if outcome == "crash_after_flush":
                    raise Crash("died before commit")
                if outcome == "rollback":
                    await session.rollback()
                    return
                if outcome == "constraint_at_commit" and self.committed:
                    # A second outbox row reusing a committed event id: the unique constraint
                    # fails the whole transaction, effects included.
                    twin = make_event().model_copy(update={"id": next(iter(self.committed))})
                    add_event(session, db.Outbox, twin)
                    with pytest.raises(IntegrityError):
                        await session.commit()
                    return
                await session.commit()
                self.committed.update(event.id for event in events)
            except Crash:
                self._crashed(f"business:{outcome}")
            finally:
                await session.close()  # an uncommitted transaction is rolled back

        @precondition(lambda self: postgres and len(self.open_txs) < 2)
        @rule(n=st.integers(1, 2))
        def begin_open_tx(self, n: int) -> None:
            """A transaction that has its outbox ids but commits only after later relay steps."""
            h.steps += 1
            h.run(self._begin_open_tx(n))

        async def _begin_open_tx(self, n: int) -> None:
            events = [make_event() for _ in range(n)]
            session = h.sessionmaker()
            self._stage(session, events)
            await session.flush()
            self.open_txs.append((session, [event.id for event in events]))

        @precondition(lambda self: bool(self.open_txs))
        @rule(commit=st.booleans(), which=st.integers(0, 1))
        def finish_open_tx(self, commit: bool, which: int) -> None:
            h.steps += 1
            session, ids = self.open_txs.pop(which % len(self.open_txs))
            h.run(self._finish(session, ids, commit))

        async def _finish(self, session: AsyncSession, ids: list[uuid.UUID], commit: bool) -> None:
            try:
                if commit:
                    await session.commit()
                    self.committed.update(ids)
            finally:
                await session.close()

        # -- relay -----------------------------------------------------------------------
        @rule(
            crash=st.sampled_from(
                ["none", "none", "before_publish", "partial", "ack_lost", "in_mark"]
            ),
            partial=st.integers(0, 5),
            batch_size=st.integers(1, 6),
            restart=st.booleans(),
        )
        def relay_step(self, crash: str, partial: int, batch_size: int, restart: bool) -> None:
            h.steps += 1
            h.run(self._relay_step(crash, partial, batch_size, restart))

        async def _relay_step(self, crash: str, partial: int, batch_size: int, restart: bool) -> None:
            relay = self.relay
            fake: CrashingPublisher = relay.fake  # type: ignore[attr-defined]
            relay.batch_size = batch_size
            fake.mode = crash if crash in {"before_publish", "partial", "ack_lost"} else "ok"
            fake.partial = partial
            relay.crash_in_mark = crash == "in_mark"
            try:
                await relay.publish_pending_once()
            except Crash:
                self._crashed(f"relay:{crash}")
                if restart:  # the process dies: its lock goes with its connection
                    await relay.lock.release()
                    self.relay = self._new_relay()
            finally:
                fake.mode, relay.crash_in_mark = "ok", False
            await self._check_marks()

        async def _check_marks(self) -> None:
            """Marked published ⇒ the broker has it (a mark before the ack loses events)."""
            async with h.sessionmaker() as session:
                stmt = select(db.Outbox.event_id).where(db.Outbox.published_at.is_not(None))
                marked = set((await session.execute(stmt)).scalars())
            lost = marked - set(self.broker.received)
            assert not lost, f"{len(lost)} rows marked published that never reached the broker"

        @invariant()
        def no_phantoms(self) -> None:
            assert not self.broker.phantoms, f"phantom events reached the broker: {self.broker.phantoms}"

        # -- end of the history ------------------------------------------------------------
        def teardown(self) -> None:
            h.run(self._teardown())

        async def _teardown(self) -> None:
            try:
                for session, _ids in self.open_txs:
                    await session.close()
                self.open_txs.clear()
                for relay in self.relays[:-1]:
                    await relay.lock.release()
                # Final drain by the surviving relay, no crashes.
                for _ in range(10_000):
                    if await self.relay.publish_pending_once() == 0:
                        break
                assert await self.relay.pending_count() == 0
                received = set(self.broker.received)
                lost = self.committed - received
                phantoms = received - self.committed
                assert not lost, f"{len(lost)} committed events never published"
                assert not phantoms and not self.broker.phantoms, f"phantom events: {phantoms}"
                async with h.sessionmaker() as session:
                    outbox = set((await session.execute(select(db.Outbox.event_id))).scalars())
                    effects = set((await session.execute(select(db.Effect.event_id))).scalars())
                # Atomicity: an effect committed iff its outbox row committed.
                assert outbox == self.committed
                assert effects == {str(i) for i in self.committed}
            finally:
                for relay in self.relays:
                    await relay.lock.release()

    return OutboxHistory


def test_t5_outbox_atomicity_under_crash_injection(common_db: Any) -> None:
    h = Harness(common_db)
    try:
        machine = build_machine(h)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=HISTORIES,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        h.close()
    print(f"\nT5: {h.histories} histories, {h.steps} steps, crashes injected: {h.crashes}")
    assert h.histories >= HISTORIES
    for point in ("relay:before_publish", "relay:partial", "relay:ack_lost", "relay:in_mark",
                  "business:crash_after_flush"):
        assert h.crashes.get(point, 0) > 0, f"crash point {point} never exercised"
