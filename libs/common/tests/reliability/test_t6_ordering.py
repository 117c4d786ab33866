"""T6 — per-aggregate ordering through the outbox relay (RELIABILITY.md).

1,000 aggregates × 20 events are written to the outbox (interleaved, so each aggregate's
events are spread over the whole table). Four OutboxRelay instances, each with its own
leader lock and its own KafkaPublisher, run concurrently against a fresh broker; midway the
leader is stopped cleanly, later the next leader is killed mid-flight (task cancelled, its
producer closed, its lock released as a dead process's connection would). The topic is then
read back from the start. Pass: after dedup by event id, 0 per-aggregate sequence inversions
(sequence = outbox id order); every message sits on the partition murmur2(key) names —
per aiokafka's DefaultPartitioner and per an independent port of the Java client's /
librdkafka's ``murmur2_random`` — so any other producer of these topics would agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import insert, select

from heemang_common.broker import EmbeddedBroker
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.kafka import KafkaPublisher
from heemang_common.relay import OutboxRelay, leader_lock_for
from heemang_common.settings import ServiceSettings
from heemang_common.testing import fast_settings

AGGREGATES = 1_000
EVENTS_PER_AGGREGATE = 20
RELAYS = 4
TOPIC = ReferralAccepted.topic


# -- an independent murmur2 (Java client Utils.murmur2 = librdkafka rd_murmur2) ---------------

def murmur2(data: bytes) -> int:
    """Kafka's murmur2 as an unsigned 32-bit value."""
    mask = 0xFFFFFFFF
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    full = length - length % 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = data[full:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def murmur2_random_partition(key: bytes, partitions: int) -> int:
    """librdkafka ``partitioner=murmur2_random`` / the Java default partitioner for a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_port_matches_the_java_client_and_librdkafka_vectors() -> None:
    def signed(value: int) -> int:
        return value - (1 << 32) if value >= 1 << 31 else value

    java = {  # org.apache.kafka.common.utils.UtilsTest.testMurmur2
        b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829, b"abc": 479470107,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    }
    librdkafka = {  # rdmurmur2.c unittest_murmur2 (java_murmur2_results)
        b"kafka": 0xD067CF64, b"giberish123456789": 0x8F552B0C, b"1234": 0x9FC97B14,
        b"234": 0xE7C009CA, b"34": 0x873930DA, b"4": 0x5A4B5CA1,
        b"PreAmbleWillBeRemoved,ThePrePartThatIs": 0x78424F1C,
        b"reAmbleWillBeRemoved,ThePrePartThatIs": 0x4A62B377,
        b"eAmbleWillBeRemoved,ThePrePartThatIs": 0xE0E4E09E,
        b"AmbleWillBeRemoved,ThePrePartThatIs": 0x62B8B43F, b"": 0x106E08D9,
    }
    for key, expected in java.items():
        assert signed(murmur2(key)) == expected, key
    for key, expected in librdkafka.items():
        assert murmur2(key) == expected, key
    partitioner = DefaultPartitioner()
    for n in (1, 3, 4, 12, 50):
        parts = list(range(n))
        for i in range(2_000):
            key = str(uuid.UUID(int=i * 7919 + n)).encode()
            assert partitioner(key, parts, parts) == murmur2_random_partition(key, n)


# -- the ordering run ----------------------------------------------------------------------------

class T6Settings(ServiceSettings):
    service_name: ClassVar[str] = "t6"


def outbox_rows(aggregates: list[uuid.UUID]) -> tuple[list[dict[str, Any]], dict[uuid.UUID, tuple[str, int]]]:
    """The aggregates' events interleaved in a sliding window: each aggregate's 20 events
    spread over ~2,000 consecutive rows (several relay batches, several per batch)."""
    rng = random.Random(len(aggregates))
    window = 100
    slots = sorted(
        (i + rng.uniform(0, window), i) for i in range(len(aggregates)) for _ in range(EVENTS_PER_AGGREGATE)
    )
    next_seq = [0] * len(aggregates)
    rows: list[dict[str, Any]] = []
    meaning: dict[uuid.UUID, tuple[str, int]] = {}
    now = utcnow()
    for _slot, index in slots:
        household, seq = aggregates[index], next_seq[index]
        next_seq[index] += 1
        data = ReferralAcceptedData(
            referral_id=uuid.uuid4(), household_id=household, dong=f"seq-{seq:02d}",
            channel="phone", priority=1 + seq % 9, accepted_at=datetime.now(UTC),
        )
        event = ReferralAccepted.create(subject=data.referral_id, data=data)
        rows.append({
            "event_id": event.id, "event_type": event.type, "topic": event.topic,
            "key": event.partition_key(), "payload": event.to_json(),
            "headers": {"t6-seq": str(seq)}, "created_at": now,
        })
        meaning[event.id] = (str(household), seq)
    return rows, meaning


async def consume_everything(bootstrap: str, expected_ids: int) -> tuple[list[Any], int]:
    """Read the topic from the start until every event id was seen and a poll comes back
    empty. (The embedded broker's ListOffsets LATEST answers the last batch's base offset + 1
    rather than the log end, so ``end_offsets()`` cannot say when to stop.)"""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=2_000,
    )
    await consumer.start()
    try:
        partitions = sorted(consumer.partitions_for_topic(TOPIC) or set())
        tps = [TopicPartition(TOPIC, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        ids: set[bytes] = set()
        deadline = time.monotonic() + 60
        while True:
            batches = await consumer.getmany(*tps, timeout_ms=500)
            if not batches and len(ids) >= expected_ids:
                break
            assert time.monotonic() < deadline, f"read back only {len(ids)} of {expected_ids} events"
            for batch in batches.values():
                records.extend(batch)
                ids.update(dict(r.headers)["ce_id"] for r in batch)
        for tp in tps:  # read up to the high watermark fetch responses report
            assert await consumer.position(tp) == consumer.highwater(tp)
        return records, len(partitions)
    finally:
        await consumer.stop()


@pytest.mark.slow
async def test_t6_per_aggregate_order_with_four_relays(
    common_db: Any, private_broker: EmbeddedBroker
) -> None:
    db = common_db
    started = time.monotonic()
    aggregates = [uuid.uuid4() for _ in range(AGGREGATES)]
    rows, meaning = outbox_rows(aggregates)
    async with db.sessionmaker() as session, session.begin():
        for i in range(0, len(rows), 2_000):
            await session.execute(insert(db.Outbox), rows[i : i + 2_000])
    # The sequence each aggregate must be seen in: its outbox id order (commit order).
    async with db.sessionmaker() as session:
        ordered = (await session.execute(select(db.Outbox.event_id).order_by(db.Outbox.id))).scalars()
        expected: dict[str, list[uuid.UUID]] = defaultdict(list)
        for event_id in ordered:
            expected[meaning[event_id][0]].append(event_id)
    total = AGGREGATES * EVENTS_PER_AGGREGATE
    assert sum(map(len, expected.values())) == total
    assert all([meaning[e][1] for e in ids] == list(range(EVENTS_PER_AGGREGATE)) for ids in expected.values())
    written = time.monotonic()

    settings = fast_settings(T6Settings, database_url=db.url, bootstrap=private_broker.bootstrap_servers)

    in_flight: set[int] = set()  # ids of relays whose publisher is inside publish()

    class TrackedPublisher(KafkaPublisher):
        owner = -1

        async def publish(self, rows: Any) -> None:
            in_flight.add(self.owner)
            try:
                await super().publish(rows)
            finally:
                in_flight.discard(self.owner)

    def publisher_for(owner: int) -> Any:
        async def publisher() -> KafkaPublisher:
            started = await TrackedPublisher.start(private_broker.bootstrap_servers, settings)
            started.owner = owner  # type: ignore[attr-defined]
            return started

        return publisher

    relays = [
        OutboxRelay(
            sessionmaker=db.sessionmaker, model=db.Outbox, publisher_factory=publisher_for(i),
            lock=leader_lock_for(db.engine, "t6"), batch_size=500, poll_interval_s=0.05,
            max_backoff_s=0.5,
        )
        for i in range(RELAYS)
    ]
    stops = [asyncio.Event() for _ in relays]
    tasks = [
        asyncio.create_task(relay.run(stop), name=f"t6-relay-{i}")
        for i, (relay, stop) in enumerate(zip(relays, stops, strict=True))
    ]
    probe = relays[0]
    leaders: list[int] = []
    events_log: list[str] = []

    async def current_leader() -> int:
        for _ in range(400):
            found = [i for i, r in enumerate(relays) if r.is_leader and not tasks[i].done()]
            if found:
                return found[0]
            await asyncio.sleep(0.01)
        raise AssertionError("no relay became leader")

    try:
        # Phase 1: let the first leader publish a third, then stop it cleanly.
        deadline = time.monotonic() + 90
        while await probe.pending_count() > total * 2 // 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        first = await current_leader()
        leaders.append(first)
        stops[first].set()
        await asyncio.wait_for(tasks[first], 30)
        events_log.append(f"stopped leader {first} at pending={await probe.pending_count()}")
        # Phase 2: the next leader is killed mid-batch.
        while await probe.pending_count() > total // 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        second = await current_leader()
        leaders.append(second)
        for _ in range(1_000):  # kill it while a batch is on the wire
            if second in in_flight:
                break
            await asyncio.sleep(0.001)
        mid_flight = second in in_flight
        tasks[second].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[second]
        victim = relays[second]
        await victim._drop_publisher()  # the dead process's producer is gone
        await victim.lock.release()  # and its database session (with the lock) too
        events_log.append(
            f"killed leader {second} (mid-batch: {mid_flight}) at pending={await probe.pending_count()}"
        )
        # Phase 3: the survivors drain the rest.
        while await probe.pending_count() > 0:
            assert time.monotonic() < deadline, "outbox not drained"
            await asyncio.sleep(0.02)
        leaders.append(await current_leader())
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for relay in relays:
            await relay.lock.release()
    drained = time.monotonic()

    records, partition_count = await consume_everything(private_broker.bootstrap_servers, total)
    consumed = time.monotonic()
    assert partition_count == private_broker.partitions == 4

    # Key → partition: aiokafka's murmur2 and the independent port agree with where it landed.
    partitioner = DefaultPartitioner()
    parts = list(range(partition_count))
    mismatches = [
        r for r in records
        if partitioner(r.key, parts, parts) != r.partition
        or murmur2_random_partition(r.key, partition_count) != r.partition
    ]
    assert not mismatches, f"{len(mismatches)} key→partition mismatches"
    partitions_of: dict[str, set[int]] = defaultdict(set)

    # Dedup by event id (first arrival wins), then compare each aggregate's order.
    seen: set[uuid.UUID] = set()
    arrived: dict[str, list[uuid.UUID]] = defaultdict(list)
    by_partition = sorted(records, key=lambda r: (r.partition, r.offset))
    for record in by_partition:
        event_id = uuid.UUID(dict(record.headers)["ce_id"].decode())
        aggregate, _seq = meaning[event_id]
        assert record.key.decode() == aggregate
        partitions_of[aggregate].add(record.partition)
        if event_id in seen:
            continue
        seen.add(event_id)
        arrived[aggregate].append(event_id)
    assert len(seen) == total, f"{total - len(seen)} events lost"
    assert all(len(p) == 1 for p in partitions_of.values()), "an aggregate spans partitions"
    inversions = 0
    for aggregate, ids in expected.items():
        position = {event_id: i for i, event_id in enumerate(ids)}
        got = [position[e] for e in arrived[aggregate]]
        inversions += sum(1 for a, b in itertools.pairwise(got) if b < a)
    duplicates = len(records) - total
    print(
        f"\nT6 ({db.backend}): {total} events, {duplicates} duplicates, leaders {leaders}, "
        f"{events_log}; write {written - started:.1f}s, relay {drained - written:.1f}s, "
        f"consume {consumed - drained:.1f}s"
    )
    assert inversions == 0, f"{inversions} per-aggregate sequence inversions"
