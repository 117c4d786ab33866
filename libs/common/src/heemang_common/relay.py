"""The outbox relay: publishes committed outbox rows to Kafka, in commit order.

Order per key needs one publisher at a time per database. Rather than let several relays
take disjoint batches with ``SKIP LOCKED`` (which keeps rows exclusive but lets relay B
publish a key's later row before relay A has published its earlier one), every relay
instance competes for a leader lock and only the holder publishes:
- PostgreSQL: a session-level advisory lock held on a dedicated connection; if the leader
  dies its connection closes and a standby takes over within one poll.
- SQLite: an exclusive ``flock`` on a file beside the database.
Within the leader, a batch is read in id order, sent with acks=all (aiokafka keeps one
request in flight per partition, so retries cannot reorder), and marked published only
after every message in it was acknowledged. A crash between ack and mark republishes the
batch: consumers' inboxes absorb the duplicates.

An embedded broker forgets everything when it restarts. Re-queueing the outbox window from
outside (a command run after the restart) races the running relay: the relay may already
have sent newer rows to the new broker, and the re-queued older rows would land behind
them — a household's events out of order. So the relay itself follows the broker's
incarnation (broker.py): before publishing anything to an incarnation other than the one
recorded in ``relay_state``, it re-queues the window and records the new incarnation in
one transaction, then publishes in id order from the oldest row. A configured broker has
no incarnation (a durable Kafka keeps its log), and the first incarnation a database ever
sees is only recorded. ``replay_since`` stays for operators who rebuilt a Kafka cluster:
stop the relays (scale to zero), replay, start them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from heemang_common.aio import reraise_if_we_are_cancelled
from heemang_common.events.envelope import utcnow
from heemang_common.outbox import OutboxMixin, RelayStateMixin

log = logging.getLogger("heemang.relay")


class Publisher(Protocol):
    """What the relay needs from a Kafka producer (a fake in unit tests)."""

    async def publish(self, rows: Sequence[OutboxMixin]) -> None: ...

    async def close(self) -> None: ...


class LeaderLock(Protocol):
    async def acquire(self) -> bool: ...

    async def release(self) -> None: ...


class PostgresAdvisoryLock:
    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        self._conn: AsyncConnection | None = None

    async def acquire(self) -> bool:
        if self._conn is not None:
            try:  # still holding it? (a restarted server drops the session and the lock)
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                await self.release()
        conn = await self.engine.connect()
        try:
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
            await conn.commit()
        except Exception:
            await conn.close()
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await conn.commit()
            with contextlib.suppress(Exception):
                await conn.close()


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    async def acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")  # noqa: SIM115, ASYNC230 - held while we lead; local file
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    async def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def leader_lock_for(engine: AsyncEngine, name: str) -> LeaderLock:
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(engine, f"heemang-outbox-relay:{name}")
    database = url.database or "memory"
    return FileLock(Path(f"{database}.relay.lock"))


class OutboxRelay:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        publisher_factory: Callable[[], Awaitable[Publisher]],
        lock: LeaderLock,
        batch_size: int = 500,
        poll_interval_s: float = 0.05,
        max_backoff_s: float = 10.0,
        retention: timedelta = timedelta(days=7),
        broker_incarnation: Callable[[], str | None] | None = None,
        state_model: type[RelayStateMixin] | None = None,
        name: str = "outbox",
    ) -> None:
        self.broker_incarnation = broker_incarnation
        self.state_model = state_model
        self.name = name
        self._incarnation: str | None = None
        self.sessionmaker = sessionmaker
        self.model = model
        self.publisher_factory = publisher_factory
        self.lock = lock
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.retention = retention
        self._publisher: Publisher | None = None
        self._wake = asyncio.Event()
        self.published_total = 0
        self.failures_total = 0
        self.last_error: str | None = None
        self.is_leader = False
        self._last_purge = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._loop(stop)
        finally:  # stopped or cancelled: never keep holding the leader lock
            await self._drop_publisher()
            await self.lock.release()
            self.is_leader = False

    async def _loop(self, stop: asyncio.Event) -> None:
        backoff = self.poll_interval_s
        while not stop.is_set():
            try:
                published = await self.publish_pending_once()
                backoff = self.poll_interval_s
                if published:
                    continue  # there may be more: drain before sleeping
                await self._maybe_purge()
            except (Exception, asyncio.CancelledError) as exc:  # broker or db down: rows wait
                reraise_if_we_are_cancelled(exc)
                self.failures_total += 1
                if self.last_error != repr(exc):
                    log.warning("outbox relay cannot publish yet: %r", exc)
                self.last_error = repr(exc)
                await self._drop_publisher()
                backoff = min(max(backoff * 2, 0.1), self.max_backoff_s)
            await self._sleep(stop, backoff)

    async def publish_pending_once(self) -> int:
        """Publish one batch if this instance leads; return how many rows were published."""
        self.is_leader = await self.lock.acquire()
        if not self.is_leader:
            return 0
        await self._follow_broker()
        rows = await self._pending_batch()
        if not rows:
            return 0
        if self._publisher is None:
            self._publisher = await self.publisher_factory()
        await self._publisher.publish(rows)
        await self._mark_published([row.id for row in rows])
        self.published_total += len(rows)
        self.last_error = None
        return len(rows)

    async def _follow_broker(self) -> None:
        current = self.broker_incarnation() if self.broker_incarnation else None
        if current is None or self.state_model is None or current == self._incarnation:
            return
        await self._drop_publisher()  # it may still point at the previous incarnation
        async with self.sessionmaker() as session, session.begin():
            state = await session.get(self.state_model, self.name)
            if state is None:
                session.add(
                    self.state_model(relay=self.name, broker_incarnation=current, updated_at=utcnow())
                )
            elif state.broker_incarnation != current:
                since = utcnow() - self.retention
                result: Any = await session.execute(
                    update(self.model).where(self.model.created_at >= since).values(published_at=None)
                )
                state.broker_incarnation = current
                state.updated_at = utcnow()
                log.warning(
                    "new broker incarnation %s: %d outbox rows re-queued for publishing",
                    current,
                    int(result.rowcount or 0),
                )
        self._incarnation = current

    async def pending_count(self) -> int:
        async with self.sessionmaker() as session:
            stmt = select(func.count()).select_from(self.model).where(self.model.published_at.is_(None))
            return int((await session.execute(stmt)).scalar_one())

    async def _pending_batch(self) -> list[Any]:
        """The next rows to publish, as plain rows: building ORM objects for rows we only
        read once cost a fifth of the relay's time."""
        model = self.model
        columns = (
            model.id,
            model.event_id,
            model.event_type,
            model.topic,
            model.key,
            model.payload,
            model.headers,
        )
        async with self.sessionmaker() as session:
            stmt = (
                select(*columns).where(model.published_at.is_(None)).order_by(model.id).limit(self.batch_size)
            )
            return list((await session.execute(stmt)).all())

    async def _mark_published(self, ids: list[int]) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(self.model).where(self.model.id.in_(ids)).values(published_at=utcnow())
            )

    async def _maybe_purge(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge < 3600:
            return
        self._last_purge = loop.time()
        await purge_published(self.sessionmaker, self.model, utcnow() - self.retention)

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            with contextlib.suppress(Exception):
                await publisher.close()

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        self._wake.clear()
        stop_wait = asyncio.ensure_future(stop.wait())
        wake_wait = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stop_wait, wake_wait}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            wake_wait.cancel()


async def replay_since(
    sessionmaker: async_sessionmaker[AsyncSession], model: type[OutboxMixin], since: datetime
) -> int:
    """Mark every row created since ``since`` unpublished so the relay sends it again, in
    its original order. Used after an embedded-broker restart (its log is in memory) and by
    operators who rebuilt a Kafka cluster; consumers' inboxes drop the duplicates."""
    async with sessionmaker() as session, session.begin():
        result: Any = await session.execute(
            update(model).where(model.created_at >= since).values(published_at=None)
        )
        return int(result.rowcount or 0)


async def purge_published(
    sessionmaker: async_sessionmaker[AsyncSession], model: type[OutboxMixin], before: datetime
) -> int:
    async with sessionmaker() as session, session.begin():
        result: Any = await session.execute(
            delete(model).where(model.published_at.is_not(None), model.created_at < before)
        )
        return int(result.rowcount or 0)
