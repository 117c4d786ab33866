"""OutboxRelay with a fake publisher against the real test schema (PostgreSQL or SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from heemang_common.db import transaction
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.outbox import OutboxMixin, add_event
from heemang_common.relay import OutboxRelay, leader_lock_for, purge_published, replay_since


class FakePublisher:
    """Records what reached "the broker"; fails the next ``fail_next`` publishes."""

    def __init__(self) -> None:
        self.sent: list[uuid.UUID] = []
        self.calls: list[list[int]] = []
        self.fail_next = 0
        self.closed = False

    async def publish(self, rows: Sequence[OutboxMixin]) -> None:
        self.calls.append([row.id for row in rows])
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.sent.extend(row.event_id for row in rows)

    async def close(self) -> None:
        self.closed = True


def make_event(household: uuid.UUID | None = None) -> ReferralAccepted:
    data = ReferralAcceptedData(
        referral_id=uuid.uuid4(), household_id=household or uuid.uuid4(), dong="d1",
        channel="phone", priority=3, accepted_at=datetime.now(UTC),
    )
    return ReferralAccepted.create(subject=data.referral_id, data=data)


async def write_events(db: Any, n: int) -> list[uuid.UUID]:
    events = [make_event() for _ in range(n)]
    async with transaction(db.sessionmaker) as session:
        for event in events:
            add_event(session, db.Outbox, event)
    return [event.id for event in events]


def relay_for(db: Any, publisher: FakePublisher, name: str = "unit", **kwargs: Any) -> OutboxRelay:
    async def factory() -> FakePublisher:
        return publisher

    return OutboxRelay(
        sessionmaker=db.sessionmaker, model=db.Outbox, publisher_factory=factory,
        lock=leader_lock_for(db.engine, name), **kwargs,
    )


async def published_flags(db: Any) -> dict[uuid.UUID, bool]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(db.Outbox.event_id, db.Outbox.published_at))).all()
    return {event_id: published_at is not None for event_id, published_at in rows}


async def test_rows_are_marked_only_after_publish_succeeds(common_db: Any) -> None:
    ids = await write_events(common_db, 3)
    marked_during_publish: list[dict[uuid.UUID, bool]] = []

    class Observing(FakePublisher):
        async def publish(self, rows: Sequence[OutboxMixin]) -> None:
            marked_during_publish.append(await published_flags(common_db))
            await super().publish(rows)

    publisher = Observing()
    relay = relay_for(common_db, publisher)
    try:
        assert await relay.pending_count() == 3
        assert await relay.publish_pending_once() == 3
        # While the publisher was still sending, nothing was marked yet.
        assert marked_during_publish == [dict.fromkeys(ids, False)]
        assert publisher.sent == ids
        assert await published_flags(common_db) == dict.fromkeys(ids, True)
        assert await relay.pending_count() == 0
        assert await relay.publish_pending_once() == 0
        assert len(publisher.calls) == 1
    finally:
        await relay.lock.release()


async def test_failed_publish_leaves_rows_pending_and_retries_in_id_order(common_db: Any) -> None:
    ids = await write_events(common_db, 5)
    publisher = FakePublisher()
    publisher.fail_next = 1
    relay = relay_for(common_db, publisher, batch_size=3)
    try:
        with pytest.raises(ConnectionError):
            await relay.publish_pending_once()
        assert await relay.pending_count() == 5
        assert publisher.sent == []
        assert await relay.publish_pending_once() == 3
        assert await relay.publish_pending_once() == 2
        assert await relay.publish_pending_once() == 0
        assert publisher.sent == ids
        first, retry, second = publisher.calls
        assert first == retry == sorted(first) and len(first) == 3
        assert second == sorted(second) and min(second) > max(first)
    finally:
        await relay.lock.release()


async def test_run_retries_after_failures_and_drains(common_db: Any) -> None:
    ids = await write_events(common_db, 7)
    publisher = FakePublisher()
    publisher.fail_next = 2
    relay = relay_for(common_db, publisher, batch_size=2, poll_interval_s=0.01, max_backoff_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for _ in range(500):
            if await relay.pending_count() == 0:
                break
            await asyncio.sleep(0.01)
        assert await relay.pending_count() == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert publisher.sent == ids
    assert relay.failures_total == 2
    assert publisher.closed  # a failing publisher is dropped (and a fresh one made)


async def test_only_the_leader_publishes(common_db: Any) -> None:
    await write_events(common_db, 4)
    leader_pub, standby_pub = FakePublisher(), FakePublisher()
    leader = relay_for(common_db, leader_pub, name="shared")
    standby = relay_for(common_db, standby_pub, name="shared")
    try:
        assert await leader.publish_pending_once() == 4
        await write_events(common_db, 2)
        assert await standby.publish_pending_once() == 0
        assert not standby.is_leader and standby_pub.calls == []
        assert await standby.pending_count() == 2
        # The leader goes away (its connection / file lock is released): the standby takes over.
        await leader.lock.release()
        assert await standby.publish_pending_once() == 2
        assert standby.is_leader and len(standby_pub.sent) == 2
        assert await leader.publish_pending_once() == 0 and not leader.is_leader
    finally:
        await leader.lock.release()
        await standby.lock.release()


async def test_replay_since_requeues_rows_in_original_order(common_db: Any) -> None:
    old = await write_events(common_db, 3)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.01)
    recent = await write_events(common_db, 3)
    publisher = FakePublisher()
    relay = relay_for(common_db, publisher)
    try:
        assert await relay.publish_pending_once() == 6
        assert await replay_since(common_db.sessionmaker, common_db.Outbox, cutoff) == 3
        flags = await published_flags(common_db)
        assert [flags[i] for i in old] == [True] * 3
        assert [flags[i] for i in recent] == [False] * 3
        assert await relay.publish_pending_once() == 3
        assert publisher.sent == old + recent + recent
    finally:
        await relay.lock.release()


async def test_purge_deletes_only_published_rows_older_than_cutoff(common_db: Any) -> None:
    db = common_db
    old_published = await write_events(db, 2)
    old_pending = await write_events(db, 2)
    new_published = await write_events(db, 2)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    now = datetime.now(UTC)
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(db.Outbox).where(db.Outbox.event_id.in_(old_published + old_pending))
            .values(created_at=long_ago)
        )
        await session.execute(
            update(db.Outbox).where(db.Outbox.event_id.in_(old_published + new_published))
            .values(published_at=now)
        )
    deleted = await purge_published(db.sessionmaker, db.Outbox, now - timedelta(days=7))
    assert deleted == 2
    assert set(await published_flags(db)) == set(old_pending + new_published)


async def test_producer_is_replaced_after_out_of_order_sequence(common_db: Any) -> None:
    """T8: an idempotent producer that hits OutOfOrderSequenceNumber is fatal for that
    producer; the relay must build a new one and go on, without a manual restart."""
    from aiokafka.errors import OutOfOrderSequenceNumber

    ids = await write_events(common_db, 4)
    made: list[FakePublisher] = []

    class Poisoned(FakePublisher):
        async def publish(self, rows: Sequence[OutboxMixin]) -> None:
            raise OutOfOrderSequenceNumber()

    async def factory() -> FakePublisher:
        made.append(Poisoned() if not made else FakePublisher())
        return made[-1]

    relay = OutboxRelay(
        sessionmaker=common_db.sessionmaker, model=common_db.Outbox, publisher_factory=factory,
        lock=leader_lock_for(common_db.engine, "oosn"), poll_interval_s=0.01, max_backoff_s=0.05,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for _ in range(500):
            if await relay.pending_count() == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await relay.pending_count() == 0
    assert made[0].closed and len(made) == 2
    assert made[1].sent == ids
