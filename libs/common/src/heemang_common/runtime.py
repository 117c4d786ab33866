"""A service's running parts: engine, sessions, outbox relay, consumers. Built in the
lifespan (no import-time resources) and stopped in order: consumers drain their batch,
the relay flushes, the engine closes."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from heemang_common.broker import BrokerLocator
from heemang_common.consumer import EventConsumer, Handler, InboxProcessor
from heemang_common.db import create_engine
from heemang_common.kafka import KafkaPublisher, make_consumer
from heemang_common.outbox import OUTBOX_PENDING, InboxMixin, OutboxMixin, RelayStateMixin
from heemang_common.relay import OutboxRelay, Publisher, leader_lock_for
from heemang_common.settings import ServiceSettings

log = logging.getLogger("heemang.runtime")


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group: its name is the group id and the inbox's consumer column."""

    name: str
    topics: Sequence[str]
    handlers: Mapping[str, Handler]


@dataclass
class Runtime:
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    consumers: list[EventConsumer]
    broker: BrokerLocator
    inbox_model: type[InboxMixin]
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def bootstrap_servers(self) -> str:
        return self.broker.current().bootstrap_servers

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop_event), name="outbox-relay"))
        for consumer in self.consumers:
            self.tasks.append(
                asyncio.create_task(consumer.run(self.stop_event), name=f"consumer-{consumer.name}")
            )

    async def stop(self, timeout_s: float = 15.0) -> None:
        self.stop_event.set()
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception():
                    log.error("background task %s failed: %r", task.get_name(), task.exception())
        await self.engine.dispose()

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def broker_ok(self) -> bool:
        try:
            servers = self.bootstrap_servers()
        except RuntimeError:
            return False
        for server in servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                await asyncio.wait_for(asyncio.to_thread(_tcp_probe, host, int(port)), 2.0)
                return True
            except Exception:
                continue
        return False


def _tcp_probe(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=1.0):
        pass


def build_runtime(
    settings: ServiceSettings,
    *,
    outbox_model: type[OutboxMixin],
    inbox_model: type[InboxMixin],
    relay_state_model: type[RelayStateMixin],
    consumers: Sequence[ConsumerSpec] = (),
) -> Runtime:
    engine = create_engine(settings.database_url, echo=settings.database_echo)
    broker = BrokerLocator(settings.kafka_bootstrap_servers, Path(settings.kafka_address_file))
    session_class: type[Session] = type(f"{settings.service_name.title()}Session", (Session,), {})
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class)

    async def publisher_factory() -> Publisher:
        return await KafkaPublisher.start(broker.current().bootstrap_servers, settings)

    def incarnation() -> str | None:
        return broker.current().incarnation

    relay = OutboxRelay(
        sessionmaker=sessionmaker,
        model=outbox_model,
        publisher_factory=publisher_factory,
        lock=leader_lock_for(engine, settings.service_name),
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
        max_backoff_s=settings.outbox_max_backoff_s,
        retention=timedelta(days=settings.outbox_retention_days),
        broker_incarnation=incarnation,
        state_model=relay_state_model,
    )

    @event.listens_for(session_class, "after_commit")
    def _wake_relay(session: Session) -> None:
        if session.info.pop(OUTBOX_PENDING, False):
            relay.wake()

    runners = [
        _event_consumer(spec, settings, sessionmaker, inbox_model, outbox_model, broker) for spec in consumers
    ]
    return Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        relay=relay,
        consumers=runners,
        broker=broker,
        inbox_model=inbox_model,
    )


def _event_consumer(
    spec: ConsumerSpec,
    settings: ServiceSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    inbox_model: type[InboxMixin],
    outbox_model: type[OutboxMixin],
    broker: BrokerLocator,
) -> EventConsumer:
    processor = InboxProcessor(
        name=spec.name,
        handlers=spec.handlers,
        sessionmaker=sessionmaker,
        inbox_model=inbox_model,
        outbox_model=outbox_model,
        max_attempts=settings.consumer_max_attempts,
        retry_base_s=settings.consumer_retry_base_s,
    )

    def consumer_factory() -> Any:
        return make_consumer(broker.current().bootstrap_servers, spec.name, settings)

    return EventConsumer(
        processor,
        topics=spec.topics,
        consumer_factory=consumer_factory,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        max_records=settings.consumer_batch_size,
        broker_incarnation=lambda: broker.current().incarnation,
    )
