"""Live updates: a server-sent-events stream per user of the events within their scope
(a new referral in my 동, an alert on a case of my 동), so frontends need not poll.

Best effort by design: each gateway process reads the topics from their end without a
consumer group (every process must see every event) and keeps the last ``BUFFER`` events
so a client reconnecting with ``Last-Event-ID`` misses nothing recent. The lists in the API
remain the truth; a client that was away longer re-reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from heemang_common.aio import reraise_if_we_are_cancelled
from heemang_common.auth import Clearance, Principal, Role
from heemang_common.events import topics
from heemang_common.events.catalogue import parse_event
from heemang_common.events.envelope import Event

log = logging.getLogger("heemang.gateway.live")

LIVE_TOPICS = [topics.INTAKE_REFERRAL, topics.CASEWORK_CASE, topics.HOTLINE_CHECKIN]
BUFFER = 1_000
QUEUE = 200  # a client further behind than this is disconnected (it reconnects and resumes)
#: Fields a live message may carry: identifiers, codes and dates, never personal data.
THIN_FIELDS = frozenset(
    {
        "referral_id",
        "household_id",
        "case_id",
        "alert_id",
        "enrolment_id",
        "dong",
        "channel",
        "priority",
        "stage",
        "from_stage",
        "to_stage",
        "kind",
        "urgent",
        "reason",
        "selection",
        "raised_at",
        "at",
        "received_at",
        "accepted_at",
        "opened_at",
        "closed_at",
        "programme",
        "consecutive_misses",
    }
)


@dataclass(frozen=True)
class LiveEvent:
    seq: int
    type: str
    dong: str | None
    restricted: bool
    data: dict[str, Any]

    def visible_to(self, principal: Principal) -> bool:
        if principal.role in (Role.PARTNER_AGENCY, Role.AUDITOR):
            return False  # partners get signed webhooks; auditors read the access log
        if self.restricted and not principal.has(Clearance.RESTRICTED):
            return False
        return principal.sees_dong(self.dong)

    def frame(self) -> str:
        body = json.dumps({"type": self.type, "data": self.data}, ensure_ascii=False, default=str)
        return f"id: {self.seq}\nevent: {self.type}\ndata: {body}\n\n"


def thin(event: Event) -> LiveEvent | None:
    data = event.data.model_dump(mode="json")
    dong = data.get("dong")
    if dong is None:
        return None  # without a 동 nobody's scope can be decided: not streamed
    return LiveEvent(
        seq=0,
        type=event.type,
        dong=dong,
        restricted=bool(data.get("restricted", False)),
        data={k: v for k, v in data.items() if k in THIN_FIELDS},
    )


@dataclass
class LiveHub:
    buffer: deque[LiveEvent] = field(default_factory=lambda: deque(maxlen=BUFFER))
    queues: set[asyncio.Queue[LiveEvent | None]] = field(default_factory=set)
    seq: int = 0
    reading: bool = False  # the feed is assigned and reading (readiness, tests)

    def publish(self, event: LiveEvent) -> None:
        self.seq += 1
        stamped = LiveEvent(self.seq, event.type, event.dong, event.restricted, event.data)
        self.buffer.append(stamped)
        for queue in list(self.queues):
            try:
                queue.put_nowait(stamped)
            except asyncio.QueueFull:
                self.queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)  # tell the stream to end; the client resumes

    async def stream(
        self, principal: Principal, *, last_seen: int | None, heartbeat_s: float, lifetime_s: float
    ) -> AsyncIterator[str]:
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=QUEUE)
        backlog = [e for e in self.buffer if last_seen is not None and e.seq > last_seen]
        self.queues.add(queue)
        loop = asyncio.get_running_loop()
        ends = loop.time() + lifetime_s  # the token's life: the client reconnects with a fresh one
        try:
            yield "retry: 3000\n\n"
            for event in backlog:
                if event.visible_to(principal):
                    yield event.frame()
            while loop.time() < ends:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=min(heartbeat_s, ends - loop.time()))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                if item.visible_to(principal):
                    yield item.frame()
        finally:
            self.queues.discard(queue)


async def feed(hub: LiveHub, bootstrap: Callable[[], str], stop: asyncio.Event) -> None:
    """Read the live topics from their end into the hub, reconnecting after failures."""
    while not stop.is_set():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap(), group_id=None, enable_auto_commit=False)
        try:
            await asyncio.wait_for(consumer.start(), timeout=10)
            await _assign_from_end(consumer, stop)
            hub.reading = True
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for record in records:
                        _publish_record(hub, record.value)
        except Exception as exc:  # a broker outage: retry; the stream is best effort
            reraise_if_we_are_cancelled(exc)
            log.warning("live feed interrupted: %s", exc)
        finally:
            hub.reading = False
            with contextlib.suppress(Exception):
                await consumer.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=2.0)


async def _assign_from_end(consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await consumer.topics()  # refreshes metadata
        partitions = [
            TopicPartition(topic, p)
            for topic in LIVE_TOPICS
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        if partitions:
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            return
        await asyncio.sleep(1.0)  # topics appear with the first events


def _publish_record(hub: LiveHub, value: bytes | None) -> None:
    if not value:
        return
    try:
        event = parse_event(value)
    except Exception:
        return  # unknown or malformed: the owning consumers dead-letter it; not ours to judge
    if (live := thin(event)) is not None:
        hub.publish(live)
