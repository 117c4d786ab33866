"""aiokafka clients configured the way every service needs them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from heemang_common.outbox import OutboxMixin
from heemang_common.settings import ServiceSettings


def make_producer(bootstrap_servers: str, settings: ServiceSettings) -> AIOKafkaProducer:
    # acks=all: a row is marked published only once every in-sync replica has it.
    # Idempotence is a setting: real Kafka supports it, the embedded broker does not.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=settings.kafka_client_id,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )


def make_consumer(bootstrap_servers: str, group_id: str, settings: ServiceSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id=f"{settings.kafka_client_id}-{group_id}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 5, 500),
        request_timeout_ms=max(settings.kafka_request_timeout_ms, settings.kafka_session_timeout_ms + 5000),
        max_poll_records=settings.consumer_batch_size,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    )


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
            await admin.create_topics(
                [NewTopic(t, 1 if t.endswith(".dlq") else partitions, 1) for t in missing]
            )
    finally:
        await admin.close()


class KafkaPublisher:
    """The relay's publisher: sends a batch of outbox rows and waits for every ack."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    @classmethod
    async def start(cls, bootstrap_servers: str, settings: ServiceSettings) -> KafkaPublisher:
        producer = make_producer(bootstrap_servers, settings)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return cls(producer)

    async def publish(self, rows: Sequence[OutboxMixin]) -> None:
        futures = []
        for row in rows:
            headers = [("ce_type", row.event_type.encode()), ("ce_id", str(row.event_id).encode())]
            headers += [(name, value.encode()) for name, value in (row.headers or {}).items()]
            futures.append(
                await self.producer.send(
                    row.topic, row.payload.encode(), key=row.key.encode(), headers=headers
                )
            )
        await asyncio.gather(*futures)

    async def close(self) -> None:
        await self.producer.stop()
