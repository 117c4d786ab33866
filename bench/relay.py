"""Figure 1: outbox relay throughput next to a raw aiokafka producer.

Both send the same N ReferralAccepted envelopes (same payload bytes, keys and headers) with
the same producer configuration (``make_producer``: acks=all, linger 2 ms) to twin topics
of equal partition count. The raw producer sends everything and gathers the futures; the
relay reads committed outbox rows batch by batch, publishes each batch, waits for every ack
and marks the rows published. Producers are started and warmed before the clock starts,
so both figures are steady-state sending, not connection set-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.env import BenchEnv, Stopwatch, kafka_headers, referral_accepted, service_parts
from bench.phases import Phases
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.events.intake import ReferralAccepted
from heemang_common.kafka import KafkaPublisher, make_producer
from heemang_common.outbox import outbox_row
from heemang_common.relay import OutboxRelay, Publisher, leader_lock_for
from heemang_common.testing import fast_settings
from heemang_intake.db.models import OutboxMessage

WARMUP_MESSAGES = 200
STAGE_CHUNK = 2000
DEADLINE_S = 600.0


async def run(env: BenchEnv, *, events: int, batch_size: int) -> tuple[dict[str, float], dict[str, Any]]:
    ours_topic, raw_topic = await env.create_topics("relay.ours", "relay.raw")
    url = await env.fresh_database("intake")
    settings = fast_settings(service_parts("intake").settings_cls, database_url=url, bootstrap=env.bootstrap)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    batch = [referral_accepted() for _ in range(events)]
    try:
        await _stage_outbox(sessionmaker, batch, ours_topic)
        raw_s = await _raw_producer(make_producer(env.bootstrap, settings), raw_topic, batch)
        publisher = await KafkaPublisher.start(env.bootstrap, settings)
        await _warm(publisher.producer, ours_topic)
        relay_s, phases = await _relay(sessionmaker, engine, publisher, batch_size, events)
    finally:
        await engine.dispose()
    ours, raw = events / relay_s, events / raw_s
    figures = {
        "outbox_relay_events_per_s": round(ours),
        "raw_aiokafka_producer_events_per_s": round(raw),
        "outbox_relay_ratio": round(ours / raw, 3),
    }
    meta = {"events": events, "relay_batch_size": batch_size, "relay_s": relay_s, "raw_s": raw_s}
    return figures, {**meta, "relay_phases": phases}


async def _stage_outbox(
    sessionmaker: async_sessionmaker[AsyncSession], events: Sequence[ReferralAccepted], topic: str
) -> None:
    """Commit the events as outbox rows, exactly as ``add_event`` builds them (untimed)."""
    for start in range(0, len(events), STAGE_CHUNK):
        async with sessionmaker() as session, session.begin():
            for event in events[start : start + STAGE_CHUNK]:
                row = outbox_row(OutboxMessage, event)
                row.topic = topic  # a bench topic: the e2e figure's consumer must not see these
                session.add(row)


async def _warm(producer: AIOKafkaProducer, topic: str) -> None:
    # Fetch the topic's metadata and open the partition leaders' connections off the clock.
    await asyncio.gather(
        *[await producer.send(topic, b"warm-up", key=str(i).encode()) for i in range(WARMUP_MESSAGES)]
    )


async def _raw_producer(producer: AIOKafkaProducer, topic: str, events: Sequence[ReferralAccepted]) -> float:
    await producer.start()
    try:
        await _warm(producer, topic)
        # Serialise before the clock: the relay's rows already hold their JSON too.
        messages = [(e.to_json().encode(), e.partition_key().encode(), kafka_headers(e)) for e in events]
        watch = Stopwatch()
        futures = [
            await producer.send(topic, value, key=key, headers=headers)
            for value, key, headers in messages
        ]
        await asyncio.gather(*futures)
        return watch.elapsed()
    finally:
        await producer.stop()


async def _relay(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: Any,
    publisher: KafkaPublisher,
    batch_size: int,
    events: int,
) -> tuple[float, dict[str, float]]:
    async def publisher_factory() -> Publisher:
        return publisher  # already started and warmed, like the raw producer

    relay = OutboxRelay(
        sessionmaker=sessionmaker,
        model=OutboxMessage,
        publisher_factory=publisher_factory,
        lock=leader_lock_for(engine, "bench"),
        batch_size=batch_size,
    )
    phases = Phases()
    for method, label in [("_pending_batch", "select"), ("_mark_published", "mark")]:
        phases.wrap(relay, method, label)
    phases.wrap(publisher, "publish", "publish")
    try:
        watch = Stopwatch()
        # The relay's own drain loop (run() does the same while batches keep coming).
        while await relay.publish_pending_once():
            if watch.elapsed() > DEADLINE_S:
                raise TimeoutError(f"relay did not drain {events} rows in {DEADLINE_S}s")
        if (left := await relay.pending_count()) != 0:
            raise RuntimeError(f"relay stopped with {left} rows pending")
        elapsed = watch.elapsed()
    finally:
        await publisher.close()
        await relay.lock.release()
    if relay.published_total != events:
        raise RuntimeError(f"relay published {relay.published_total} of {events}")
    return elapsed, phases.summary(elapsed)
