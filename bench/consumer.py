"""Figure 2: EventConsumer + InboxProcessor next to raw aiokafka plus a bulk INSERT.

The same N ReferralAccepted messages are put on one topic before either clock starts; each
side reads them in its own consumer group with the same client configuration
(``make_consumer``: manual commit, max 500 records per poll) and writes into its own fresh
casework database, so neither sees the other's rows or offsets.

- ours: ``EventConsumer`` running an ``InboxProcessor`` whose handler does nothing, so what
  is measured is the consumer's own per-event work: parse and validate the envelope, skip
  ids already in the inbox, insert the inbox row, one transaction per partition batch,
  then commit the offset.
- raw: ``getmany`` loop, ``json.loads`` of each value for its id and type, one
  ``insert().values([...])`` of the same inbox columns per partition batch in one
  transaction, then ``commit({tp: offset})``.

Each is timed from the moment its consumer starts (group join included, as a restarted
service would see it) until all N are in the database and committed; the steady-state
rate from the first fetched batch is reported too, because the join is broker time that
neither side's code controls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.env import BenchEnv, Stopwatch, kafka_headers, referral_accepted, service_parts
from bench.phases import Phases
from heemang_casework.db.models import InboxMessage, OutboxMessage
from heemang_common.consumer import EventConsumer, InboxProcessor, Message
from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import ReferralAccepted
from heemang_common.kafka import make_consumer, make_producer
from heemang_common.testing import fast_settings

DEADLINE_S = 600.0
POLL_S = 0.002


class Timing:
    """Start, first fetched batch and end of one side's run."""

    def __init__(self) -> None:
        self.watch = Stopwatch()
        self.first_batch: float | None = None

    def saw_batch(self) -> None:
        if self.first_batch is None:
            self.first_batch = self.watch.elapsed()

    def check_deadline(self, what: str) -> None:
        if self.watch.elapsed() > DEADLINE_S:
            raise TimeoutError(f"{what} did not finish within {DEADLINE_S}s")


async def run(env: BenchEnv, *, events: int) -> tuple[dict[str, float], dict[str, Any]]:
    [topic] = await env.create_topics("consumer")
    settings_cls = service_parts("casework").settings_cls
    ours_url = await env.fresh_database("casework")
    raw_url = await env.fresh_database("casework")
    settings = fast_settings(settings_cls, database_url=ours_url, bootstrap=env.bootstrap)
    await _produce(env.bootstrap, settings, topic, [referral_accepted() for _ in range(events)])

    raw_total, raw_first = await _raw(env, settings, raw_url, topic, events)
    ours_total, ours_first, phases = await _ours(env, settings, ours_url, topic, events)

    ours, raw = events / ours_total, events / raw_total
    ours_steady, raw_steady = events / (ours_total - ours_first), events / (raw_total - raw_first)
    figures = {
        "inbox_consumer_events_per_s": round(ours),
        "raw_aiokafka_consumer_bulk_insert_events_per_s": round(raw),
        "inbox_consumer_ratio": round(ours / raw, 3),
        "inbox_consumer_steady_events_per_s": round(ours_steady),
        "raw_aiokafka_consumer_bulk_insert_steady_events_per_s": round(raw_steady),
        "inbox_consumer_steady_ratio": round(ours_steady / raw_steady, 3),
    }
    meta = {
        "events": events,
        "handler": "no-op (the inbox row is the per-event write)",
        "ours_s": ours_total,
        "ours_join_s": ours_first,
        "raw_s": raw_total,
        "raw_join_s": raw_first,
        "consumer_phases": phases,
    }
    return figures, meta


async def _produce(bootstrap: str, settings: Any, topic: str, events: Sequence[ReferralAccepted]) -> None:
    """Put the events on the topic before either clock starts."""
    producer = make_producer(bootstrap, settings)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic, e.to_json().encode(), key=e.partition_key().encode(), headers=kafka_headers(e)
            )
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _inbox_rows(engine: AsyncEngine, consumer: str) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(InboxMessage).where(InboxMessage.consumer == consumer)
        return int((await conn.execute(stmt)).scalar_one())


async def _ours(
    env: BenchEnv, settings: Any, url: str, topic: str, events: int
) -> tuple[float, float, dict[str, float]]:
    group = f"bench-{env.run_id}-ours"
    engine = create_engine(url)

    async def nothing(event: Any, session: AsyncSession) -> None:
        return None

    processor = InboxProcessor(
        name=group,
        handlers={ReferralAccepted.type_name(): nothing},
        sessionmaker=create_sessionmaker(engine),
        inbox_model=InboxMessage,
        outbox_model=OutboxMessage,
        max_attempts=settings.consumer_max_attempts,
        retry_base_s=settings.consumer_retry_base_s,
    )
    runner = EventConsumer(
        processor,
        topics=[topic],
        consumer_factory=lambda: make_consumer(env.bootstrap, group, settings),
        session_timeout_ms=settings.kafka_session_timeout_ms,
        max_records=settings.consumer_batch_size,
    )
    phases = Phases()
    phases.wrap(processor, "_already_handled", "inbox_lookup")
    phases.wrap(processor, "_apply", "apply_per_event")
    phases.wrap(processor, "handle_batch", "batch_transaction")
    phases.wrap(runner, "_commit", "offset_commit")
    stop = asyncio.Event()
    timing = Timing()  # the clock starts with the consumer
    _note_first_batch(processor, timing)
    try:
        task = asyncio.create_task(runner.run(stop))
        while processor.stats.processed < events:
            timing.check_deadline("EventConsumer")
            if task.done():
                task.result()
                raise RuntimeError("EventConsumer stopped early")
            await asyncio.sleep(POLL_S)
        async with runner.batch_lock:  # held over handle + offset commit: the last commit is done
            elapsed = timing.watch.elapsed()
        stop.set()
        await asyncio.wait_for(task, 30)
        if (rows := await _inbox_rows(engine, group)) != events:
            raise RuntimeError(f"inbox holds {rows} rows, expected {events}")
    finally:
        stop.set()
        await engine.dispose()
    assert timing.first_batch is not None
    return elapsed, timing.first_batch, phases.summary(elapsed - timing.first_batch)


def _note_first_batch(processor: InboxProcessor, timing: Timing) -> None:
    original = processor.handle_batch

    async def handle_batch(messages: Sequence[Message]) -> None:
        timing.saw_batch()
        await original(messages)

    processor.handle_batch = handle_batch  # type: ignore[method-assign]


async def _raw(
    env: BenchEnv, settings: Any, url: str, topic: str, events: int
) -> tuple[float, float]:
    group = f"bench-{env.run_id}-raw"
    engine = create_engine(url)
    consumer = make_consumer(env.bootstrap, group, settings)
    done = 0
    try:
        timing = Timing()
        consumer.subscribe([topic])
        await consumer.start()
        while done < events:
            timing.check_deadline("raw consumer")
            batches = await consumer.getmany(timeout_ms=100, max_records=settings.consumer_batch_size)
            for tp, messages in batches.items():
                timing.saw_batch()
                done += await _raw_batch(engine, consumer, group, tp, messages)
        elapsed = timing.watch.elapsed()
    finally:
        await consumer.stop()
    try:
        if (rows := await _inbox_rows(engine, group)) != events:
            raise RuntimeError(f"raw table holds {rows} rows, expected {events}")
    finally:
        await engine.dispose()
    assert timing.first_batch is not None
    return elapsed, timing.first_batch


async def _raw_batch(
    engine: AsyncEngine, consumer: AIOKafkaConsumer, group: str, tp: TopicPartition, messages: Any
) -> int:
    now = utcnow()
    rows = []
    for message in messages:
        envelope = json.loads(message.value)
        rows.append(
            {
                "consumer": group,
                "event_id": envelope["id"],
                "event_type": envelope["type"],
                "status": "processed",
                "processed_at": now,
            }
        )
    async with engine.begin() as conn:  # one transaction per partition batch, like ours
        await conn.execute(insert(InboxMessage.__table__).values(rows))
    await consumer.commit({tp: messages[-1].offset + 1})
    return len(rows)
