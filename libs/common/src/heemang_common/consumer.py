"""Idempotent event consumer: inbox row and handler effect in one transaction.

Per partition batch: one transaction that skips event ids already in the inbox, runs each
handler and inserts its inbox row, then commits; only then is the Kafka offset committed
(explicitly, and only for partitions this consumer still owns). If anything in the batch
fails, the batch is rolled back and its messages are handled one by one, each retried with
backoff; a message that fails ``max_attempts`` times is dead-lettered: an inbox row marks
it, and an outbox row carries it to ``<topic>.dlq`` with the error in its headers, both in
one transaction — so a dead letter is never lost and never handled twice. The consumer
then moves on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.aio import reraise_if_we_are_cancelled
from heemang_common.context import correlation_id_var
from heemang_common.db import transaction
from heemang_common.events.catalogue import parse_event
from heemang_common.events.envelope import Event, UnknownEventType, utcnow
from heemang_common.events.topics import dlq_topic
from heemang_common.outbox import OUTBOX_PENDING, InboxMixin, OutboxMixin

log = logging.getLogger("heemang.consumer")

Handler = Callable[[Any, AsyncSession], Awaitable[None]]


class Message(Protocol):
    """The parts of an aiokafka ConsumerRecord the consumer reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class PermanentFailure(Exception):
    """A message that can never succeed (not JSON, not a valid event): no retries."""


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_progress: float = 0.0
    positions: dict[TopicPartition, int] = field(default_factory=dict)


def message_id(message: Message) -> str:
    """The event id if the message has one, else its coordinates (for dead letters)."""
    try:
        envelope = json.loads(message.value or b"")
        if isinstance(envelope, dict) and isinstance(envelope.get("id"), str):
            return envelope["id"]
    except ValueError:
        pass
    return f"{message.topic}:{message.partition}:{message.offset}"


class InboxProcessor:
    """The transactional part of consuming, independent of Kafka (unit-testable)."""

    def __init__(
        self,
        *,
        name: str,
        handlers: Mapping[str, Handler],
        sessionmaker: async_sessionmaker[AsyncSession],
        inbox_model: type[InboxMixin],
        outbox_model: type[OutboxMixin],
        max_attempts: int = 5,
        retry_base_s: float = 0.05,
    ) -> None:
        self.name = name
        self.handlers = dict(handlers)
        self.sessionmaker = sessionmaker
        self.inbox_model = inbox_model
        self.outbox_model = outbox_model
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.stats = ConsumerStats()

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        try:
            await self._handle_together(messages)
        except Exception as exc:
            log.info("batch of %d failed (%r); handling one by one", len(messages), exc)
            for message in messages:
                await self._handle_alone(message)

    async def _handle_together(self, messages: Sequence[Message]) -> None:
        ids = [message_id(m) for m in messages]
        async with transaction(self.sessionmaker) as session:
            seen = await self._already_handled(session, ids)
            counted = duplicates = 0
            for message, event_id in zip(messages, ids, strict=True):
                if event_id in seen:
                    duplicates += 1
                    continue
                seen.add(event_id)
                event = self._parse(message)
                if event is not None:
                    # One flush for the whole batch (at commit): a round trip per event would
                    # cost more than the work itself. A clash still fails the batch, which
                    # is then retried one message at a time.
                    await self._apply(session, event, event_id, flush=False)
                counted += 1
        self.stats.processed += counted
        self.stats.duplicates += duplicates

    async def _handle_alone(self, message: Message) -> None:
        event_id = message_id(message)
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with transaction(self.sessionmaker) as session:
                    if await self._already_handled(session, [event_id]):
                        self.stats.duplicates += 1
                        return
                    event = self._parse(message)
                    if event is not None:
                        await self._apply(session, event, event_id)
                self.stats.processed += 1
                return
            except PermanentFailure as exc:
                error = exc
                break
            except Exception as exc:
                error = exc
                self.stats.retries += 1
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_base_s * 2 ** (attempt - 1))
        await self._dead_letter(message, event_id, error, attempt)

    def _parse(self, message: Message) -> Event | None:
        """The event to handle, or None if this consumer has no handler for its type."""
        try:
            event = parse_event(message.value or b"")
        except UnknownEventType:
            return None  # a type we do not handle (e.g. a newer version): not ours
        except (ValueError, ValidationError) as exc:
            raise PermanentFailure(f"not a valid event: {exc}") from exc
        return event if event.type in self.handlers else None

    async def _apply(self, session: AsyncSession, event: Event, event_id: str, flush: bool = True) -> None:
        token = correlation_id_var.set(event.correlationid)
        try:
            session.add(
                self.inbox_model(
                    consumer=self.name,
                    event_id=event_id,
                    event_type=event.type,
                    status="processed",
                    processed_at=utcnow(),
                )
            )
            if flush:  # alone: tie an inbox clash to this message before its handler runs
                await session.flush()
            await self.handlers[event.type](event, session)
            if flush:
                await session.flush()
        finally:
            correlation_id_var.reset(token)

    async def _already_handled(self, session: AsyncSession, ids: list[str]) -> set[str]:
        model = self.inbox_model
        stmt = select(model.event_id).where(model.consumer == self.name, model.event_id.in_(ids))
        return set((await session.execute(stmt)).scalars())

    async def _dead_letter(
        self, message: Message, event_id: str, error: Exception | None, attempts: int
    ) -> None:
        raw = message.value or b""
        try:
            payload, encoding = raw.decode(), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(raw).decode(), "base64"
        headers = {
            "dlq_error": repr(error)[:2000],
            "dlq_consumer": self.name,
            "dlq_attempts": str(attempts),
            "dlq_original_topic": message.topic,
            "dlq_original_partition": str(message.partition),
            "dlq_original_offset": str(message.offset),
            "dlq_encoding": encoding,
        }
        async with transaction(self.sessionmaker) as session:
            if await self._already_handled(session, [event_id]):
                return
            session.add(
                self.inbox_model(
                    consumer=self.name,
                    event_id=event_id,
                    event_type=_type_of(raw),
                    status="dead_lettered",
                    processed_at=utcnow(),
                )
            )
            session.add(
                self.outbox_model(
                    event_id=_dlq_event_id(self.name, event_id),
                    event_type=_type_of(raw),
                    topic=dlq_topic(message.topic),
                    key=(message.key or b"").decode(errors="replace") or event_id,
                    payload=payload,
                    headers=headers,
                    created_at=utcnow(),
                )
            )
            session.info[OUTBOX_PENDING] = True
        self.stats.dead_lettered += 1
        log.error(
            "dead-lettered %s from %s after %d attempts: %r",
            event_id,
            message.topic,
            attempts,
            error,
            extra={"event_id": event_id, "consumer": self.name},
        )


def _type_of(raw: bytes) -> str:
    try:
        envelope = json.loads(raw)
        return str(envelope.get("type", "unknown"))[:200] if isinstance(envelope, dict) else "unknown"
    except ValueError:
        return "unknown"


def _dlq_event_id(consumer: str, event_id: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"heemang-dlq:{consumer}:{event_id}")


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, runner: EventConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Wait for the batch in hand to finish and its offset to be committed, so the next
        # owner starts after it (the inbox would absorb a redelivery anyway).
        async with self.runner.batch_lock:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class EventConsumer:
    """Runs an InboxProcessor against a Kafka consumer group until stopped."""

    def __init__(
        self,
        processor: InboxProcessor,
        *,
        topics: Sequence[str],
        consumer_factory: Callable[[], AIOKafkaConsumer],
        session_timeout_ms: int = 10_000,
        max_records: int = 500,
        broker_incarnation: Callable[[], str | None] | None = None,
    ) -> None:
        self.broker_incarnation = broker_incarnation
        self.processor = processor
        self.max_records = max_records
        self.topics = list(topics)
        self.consumer_factory = consumer_factory
        self.session_timeout_ms = session_timeout_ms
        self.batch_lock = asyncio.Lock()
        self.running = False
        self.last_error: str | None = None
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def name(self) -> str:
        return self.processor.name

    @property
    def stats(self) -> ConsumerStats:
        return self.processor.stats

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            consumer: AIOKafkaConsumer | None = None
            try:
                consumer = self.consumer_factory()
                consumer.subscribe(self.topics, listener=_Rebalance(self))
                await self._start(consumer)
                self._consumer = consumer
                self.running = True
                self.last_error = None
                backoff = 0.2
                log.info("consumer %s started on %s", self.name, self.topics)
                await self._poll(consumer, stop)
            except (Exception, asyncio.CancelledError) as exc:  # the loop outlives any trouble
                reraise_if_we_are_cancelled(exc)
                if self.last_error != repr(exc):
                    log.warning("consumer %s cannot consume yet: %r", self.name, exc, exc_info=True)
                self.last_error = repr(exc)
            finally:
                self.running = False
                self._consumer = None
                if consumer is not None:
                    await _stop_quietly(consumer)
            if not stop.is_set():
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 10.0)

    async def _start(self, consumer: AIOKafkaConsumer, timeout_s: float = 30.0) -> None:
        """consumer.start(), abandoned if it takes too long or the broker it was aimed at is
        replaced meanwhile (aiokafka would keep retrying the old address forever)."""
        loop = asyncio.get_running_loop()
        incarnation, deadline = self._incarnation(), loop.time() + timeout_s
        starting = asyncio.ensure_future(consumer.start())
        while not starting.done():
            await asyncio.wait({starting}, timeout=0.25)
            if not starting.done() and (self._incarnation() != incarnation or loop.time() > deadline):
                starting.cancel()
                with contextlib.suppress(BaseException):
                    await starting
                raise TimeoutError("consumer start abandoned: broker replaced or unreachable")
        starting.result()

    def _incarnation(self) -> str | None:
        return self.broker_incarnation() if self.broker_incarnation else None

    async def _poll(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self.stats.last_progress = loop.time()
        incarnation = self._incarnation()
        while not stop.is_set():
            if self._incarnation() != incarnation:
                # A new, empty broker: reconnect; its group has no offsets, so we read from the
                # start of the replayed log and the inbox drops what we already handled.
                log.warning("consumer %s: broker restarted, reconnecting", self.name)
                self.stats.positions.clear()
                return
            batches = await consumer.getmany(timeout_ms=100, max_records=self.max_records)
            async with self.batch_lock:
                owned = {tp: ms for tp, ms in batches.items() if tp in consumer.assignment()}
                if owned:  # (a partition revoked while fetched is its new owner's to handle)
                    for tp, messages in owned.items():
                        # Where we stand while handling: a consumer stuck on its first batch shows lag.
                        self.stats.positions.setdefault(tp, messages[0].offset)
                    # One transaction for the whole fetch, partitions kept in their own order.
                    await self.processor.handle_batch([m for ms in owned.values() for m in ms])
                    await self._commit(consumer, {tp: ms[-1].offset + 1 for tp, ms in owned.items()})
            self.stats.last_progress = loop.time()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit explicit offsets, only for partitions still ours (never a revoked one)."""
        self.stats.positions.update(offsets)
        still_ours = {tp: offset for tp, offset in offsets.items() if tp in consumer.assignment()}
        if not still_ours:
            return
        try:
            await consumer.commit(still_ours)
        except KafkaError as exc:  # rebalancing: the new owner re-reads, the inbox dedups
            log.info("commit of %s skipped: %r", still_ours, exc)

    def lag(self) -> int:
        consumer = self._consumer
        if consumer is None:
            return 0
        total = 0
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            total += max(highwater - self.stats.positions.get(tp, highwater), 0)
        return total

    def is_stuck(self) -> bool:
        """Lag and no progress for 2 × the session timeout: a wedged handler or loop."""
        since = asyncio.get_running_loop().time() - self.stats.last_progress
        return self.running and self.lag() > 0 and since > 2 * self.session_timeout_ms / 1000


async def _stop_quietly(consumer: AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(consumer.stop(), 10)
    except (Exception, asyncio.CancelledError) as exc:
        reraise_if_we_are_cancelled(exc)
        log.info("consumer stop after broker loss: %r", exc)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
