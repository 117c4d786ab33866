"""T7 — inbox / idempotent consumer under redelivery and rebalance (RELIABILITY.md).

Part 1 (InboxProcessor over the real database): 10,000 unique messages, each delivered
1–5 times, shuffled, handled in random batch sizes, with
- crashes after the transaction but before the offset commit (the batch comes again),
- crashes inside the transaction (the process dies mid-batch: nothing of it commits, the
  batch comes again),
- rebalances mid-batch: the partition's new owner — a second InboxProcessor with the same
  consumer name — handles an overlapping batch concurrently with the old owner.
Pass: effects = exactly #unique messages.

Part 2 (through the broker): ~2,000 messages with duplicates on a fresh broker, two
EventConsumer instances in one group (the second joins midway, the first leaves midway), and
every ``commit()`` call recorded by an AIOKafkaConsumer subclass. Pass: effects = #unique;
0 commits without an explicit offsets dict; 0 commits of a partition not assigned at the
time of the call.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select

import heemang_common.kafka as kafka_module
from heemang_common.broker import EmbeddedBroker
from heemang_common.consumer import EventConsumer, InboxProcessor
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.kafka import make_consumer, make_producer
from heemang_common.settings import ServiceSettings
from heemang_common.testing import FakeMessage, fast_settings

pytestmark = pytest.mark.slow

TOPIC = ReferralAccepted.topic
UNIQUE = 10_000


Msg = FakeMessage


class Crash(BaseException):
    """The consumer process dies here (BaseException: no ``except Exception`` survives it)."""


def make_event(household: uuid.UUID | None = None) -> ReferralAccepted:
    data = ReferralAcceptedData(
        referral_id=uuid.uuid4(), household_id=household or uuid.uuid4(), dong="d1",
        channel="phone", priority=2, accepted_at=datetime.now(UTC),
    )
    return ReferralAccepted.create(subject=data.referral_id, data=data)


async def count(db: Any, *columns: Any) -> int:
    async with db.sessionmaker() as session:
        return int((await session.execute(select(*columns))).scalar_one())


async def effect_counts(db: Any) -> tuple[int, int]:
    """(effect rows, distinct events with an effect)."""
    rows = await count(db, func.count(db.Effect.id))
    distinct = await count(db, func.count(func.distinct(db.Effect.event_id)))
    return rows, distinct


class Effects:
    """The handler: one effect row per handled event, with a crash point for the tests."""

    def __init__(self, db: Any, consumer: str) -> None:
        self.db = db
        self.consumer = consumer
        self.crash_in: int | None = None  # crash when this many more calls have been made
        self.delay_s = 0.0  # time each effect takes (keeps work in flight during rebalances)

    async def __call__(self, event: ReferralAccepted, session: Any) -> None:
        if self.crash_in is not None:
            self.crash_in -= 1
            if self.crash_in < 0:
                self.crash_in = None
                raise Crash("killed mid-transaction")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        session.add(
            self.db.Effect(
                consumer=self.consumer, event_id=str(event.id),
                aggregate=str(event.data.household_id), seq=0,
            )
        )


def processor(db: Any, handler: Effects, name: str = "t7") -> InboxProcessor:
    return InboxProcessor(
        name=name, handlers={ReferralAccepted.type_name(): handler}, sessionmaker=db.sessionmaker,
        inbox_model=db.Inbox, outbox_model=db.Outbox, max_attempts=5, retry_base_s=0.001,
    )


# -- part 1: the processor under redelivery, crashes and rebalances ----------------------------

async def test_t7_exactly_one_effect_per_message_under_redelivery(
    common_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    db = common_db
    caplog.set_level(logging.INFO, logger="heemang.consumer")
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    started = time.monotonic()
    unique = []
    for i in range(UNIQUE):
        event = make_event()
        key = str(event.data.household_id).encode()
        unique.append(Msg(TOPIC, i % 4, i, key, event.to_json().encode()))
    stream = [m for m in unique for _ in range(rng.randint(1, 5))]
    rng.shuffle(stream)

    handler = Effects(db, "t7")
    old_owner = processor(db, handler)
    new_owner = processor(db, handler)  # same consumer name: the partition's next owner
    tally = {"batches": 0, "crash_before_commit": 0, "crash_mid_tx": 0, "rebalance": 0}
    cursor = 0  # the committed offset
    while cursor < len(stream):
        tally["batches"] += 1
        size = rng.choice([1, 2, 5, 20, 50, 100, 200, 400])
        batch = stream[cursor : cursor + size]
        roll = rng.random()
        if roll < 0.08:
            # Handled and committed in the database, then the process dies before the offset
            # commit: the group redelivers from the old offset (in another batch size).
            await old_owner.handle_batch(batch)
            tally["crash_before_commit"] += 1
        elif roll < 0.16:
            handler.crash_in = rng.randrange(len(batch))
            try:
                await old_owner.handle_batch(batch)
            except Crash:
                tally["crash_mid_tx"] += 1
            handler.crash_in = None
        elif roll < 0.22:
            # Rebalance while the old owner is mid-batch: the new owner starts from the last
            # committed offset and runs concurrently; the old owner's offset commit is refused.
            takeover = stream[cursor : cursor + rng.randint(1, size + 100)]
            await asyncio.gather(old_owner.handle_batch(batch), new_owner.handle_batch(takeover))
            cursor += len(takeover)
            old_owner, new_owner = new_owner, old_owner
            tally["rebalance"] += 1
        else:
            await old_owner.handle_batch(batch)
            cursor += len(batch)

    rows, distinct = await effect_counts(db)
    inbox = await count(db, func.count(db.Inbox.event_id))
    processed = old_owner.stats.processed + new_owner.stats.processed
    # Batches that hit the (consumer, event_id) key held by the other owner's transaction.
    collisions = sum("handling one by one" in r.getMessage() for r in caplog.records)
    print(
        f"\nT7/processor ({db.backend}, seed {seed}): {len(stream)} deliveries of {UNIQUE} messages, "
        f"{tally}, {collisions} batches rolled back on an inbox-key collision, "
        f"{time.monotonic() - started:.1f}s"
    )
    assert old_owner.stats.dead_lettered == new_owner.stats.dead_lettered == 0
    assert rows == distinct == inbox == UNIQUE, f"effects {rows} / distinct {distinct} / inbox {inbox}"
    assert processed == UNIQUE
    assert all(tally[k] > 0 for k in tally)
    if db.backend == "postgresql":  # (SQLite serialises writers: the second sees the first's rows)
        assert collisions > 0, "the concurrent owners never raced on the same inbox key"


# -- part 2: real consumers, a real group, recorded commits ------------------------------------

class T7Settings(ServiceSettings):
    service_name: ClassVar[str] = "t7"


class Lazy:
    def __init__(self, render: Any) -> None:
        self.render = render

    def __str__(self) -> str:
        return str(self.render())


@dataclass
class CommitCall:
    consumer: int
    offsets: Any
    assignment: frozenset[TopicPartition]


COMMITS: list[CommitCall] = []


class RecordingConsumer(AIOKafkaConsumer):  # type: ignore[misc]
    """aiokafka's consumer, recording every commit() with the assignment at that moment."""

    async def commit(self, offsets: Any = None) -> None:
        snapshot = dict(offsets) if isinstance(offsets, dict) else offsets
        COMMITS.append(CommitCall(id(self), snapshot, frozenset(self.assignment())))
        await super().commit(offsets)


#: Log end offset per partition, from the produce acks. (The embedded broker's ListOffsets
#: LATEST answers the last batch's base offset + 1, not the log end, so end_offsets() is not
#: used here; fetch responses' high watermark is right.)
PRODUCED_END: dict[int, int] = {}


async def produce(bootstrap: str, settings: ServiceSettings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer(bootstrap, settings)
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, value, key=key) for key, value in messages]
        for meta in await asyncio.gather(*futures):
            PRODUCED_END[meta.partition] = max(PRODUCED_END.get(meta.partition, 0), meta.offset + 1)
    finally:
        await producer.stop()


async def wait_for(probe: Any, what: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_t7_two_consumers_in_a_group_with_rebalances(
    common_db: Any, private_broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = common_db
    bootstrap = private_broker.bootstrap_servers
    settings = fast_settings(T7Settings, database_url=db.url, bootstrap=bootstrap, consumer_batch_size=50)
    rng = random.Random()
    started = time.monotonic()
    unique = [make_event(uuid.UUID(int=rng.randrange(1 << 128))) for _ in range(1_200)]
    def deliveries_of(events: list[ReferralAccepted]) -> list[ReferralAccepted]:
        out = [e for e in events for _ in range(rng.choice([1, 1, 2, 3]))]
        rng.shuffle(out)
        return out

    # The last 50 events are produced only after the first member has left, so it always
    # leaves with work outstanding.
    deliveries = deliveries_of(unique[:-50]) + deliveries_of(unique[-50:])
    tail = sum(1 for e in deliveries if e in unique[-50:])
    messages = [(str(e.data.household_id).encode(), e.to_json().encode()) for e in deliveries]
    half = len(messages) // 2

    COMMITS.clear()
    PRODUCED_END.clear()
    monkeypatch.setattr(kafka_module, "AIOKafkaConsumer", RecordingConsumer)
    group = f"t7-{uuid.uuid4().hex[:8]}"
    handler = Effects(db, "t7")
    handler.delay_s = 0.003
    consumers = [
        EventConsumer(
            processor(db, handler), topics=[TOPIC], max_records=50,
            consumer_factory=lambda: make_consumer(bootstrap, group, settings),
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )
        for _ in range(2)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    assignments: list[list[frozenset[TopicPartition]]] = [[], []]

    async def watch() -> None:  # the assignments each consumer goes through
        while True:
            for i, c in enumerate(consumers):
                inner = c._consumer
                if inner is not None:
                    current = frozenset(inner.assignment())
                    if not assignments[i] or assignments[i][-1] != current:
                        assignments[i].append(current)
            await asyncio.sleep(0.01)

    async def effects_at_least(n: int) -> bool:
        return (await effect_counts(db))[0] >= n

    watcher = asyncio.create_task(watch())
    tasks: list[asyncio.Task[None]] = []
    try:
        await produce(bootstrap, settings, messages[:half])
        tasks.append(asyncio.create_task(consumers[0].run(stops[0])))
        await wait_for(lambda: effects_at_least(100), "the first consumer to make progress")
        # The second member joins while the first is busy: the group rebalances.
        tasks.append(asyncio.create_task(consumers[1].run(stops[1])))

        async def trickle() -> None:  # the second half arrives while the group rebalances
            for i in range(half, len(messages) - tail, 50):
                await produce(bootstrap, settings, messages[i : min(i + 50, len(messages) - tail)])
                await asyncio.sleep(0.1)
            await first_left.wait()
            await produce(bootstrap, settings, messages[len(messages) - tail :])
            trickled.set()

        trickled, first_left = asyncio.Event(), asyncio.Event()
        tasks.append(asyncio.create_task(trickle()))

        async def second_member_working() -> bool:
            return consumers[1].stats.processed + consumers[1].stats.duplicates > 0

        await wait_for(second_member_working, "the second consumer to get partitions")
        # The first member leaves midway: its partitions move to the second.
        left_at = (await effect_counts(db))[0]
        stops[0].set()
        await asyncio.wait_for(tasks[0], 30)
        first_left.set()

        async def survivor_owns_all() -> bool:
            return bool(assignments[1]) and len(assignments[1][-1]) == private_broker.partitions

        await wait_for(survivor_owns_all, "the survivor to take over every partition")
        await wait_for(lambda: effects_at_least(len(unique)), "every message to be handled", 90)
        # Let the survivor commit everything before stopping it.
        tps = [TopicPartition(TOPIC, p) for p in range(private_broker.partitions)]

        async def all_committed() -> bool:
            inner = consumers[1]._consumer
            if inner is None:
                return False
            if not trickled.is_set():
                return False
            progress[:] = [(await inner.committed(tp) or 0, PRODUCED_END.get(tp.partition, 0)) for tp in tps]
            return all(done == last for done, last in progress)

        progress: list[tuple[int, int]] = []

        await wait_for(all_committed, Lazy(lambda: f"all offsets committed; (committed, end): {progress}"))
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        watcher.cancel()

    rows, distinct = await effect_counts(db)
    total_processed = sum(c.stats.processed for c in consumers)
    duplicates = sum(c.stats.duplicates for c in consumers)
    print(
        f"\nT7/group ({db.backend}): {len(messages)} deliveries of {len(unique)} events, "
        f"{len(COMMITS)} commits, {duplicates} duplicates skipped, assignments "
        f"{[[sorted(tp.partition for tp in a) for a in seq] for seq in assignments]}, "
        f"first member left at {left_at} effects, {time.monotonic() - started:.1f}s"
    )
    assert left_at < len(unique), "the first member should leave with work outstanding"
    assert rows == distinct == len(unique), f"effects {rows}, distinct {distinct}"
    assert total_processed == len(unique)
    # Every commit: an explicit {partition: offset} dict, only partitions assigned right then.
    assert COMMITS, "no commits recorded"
    implicit = [c for c in COMMITS if not isinstance(c.offsets, dict) or not c.offsets]
    assert not implicit, f"{len(implicit)} commit() calls without explicit offsets"
    foreign = [c for c in COMMITS if not set(c.offsets) <= c.assignment]
    assert not foreign, f"{len(foreign)} commits of partitions not assigned at the time: {foreign[:3]}"
    assert len({c.consumer for c in COMMITS}) >= 2, "expected commits from both members"
    # The group really rebalanced: the first member owned all four, then shared them.
    assert any(len(a) == 4 for a in assignments[0])
    assert any(0 < len(a) < 4 for a in assignments[0] + assignments[1])
    # The group's committed offsets reached the log end of every partition (checked above
    # through the survivor's committed() before it stopped).
    assert progress and all(done == end for done, end in progress)
