"""What every benchmark shares: a database factory, a broker and real ReferralAccepted events."""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heemang_common.broker import EmbeddedBroker
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData
from heemang_common.kafka import ensure_topics
from heemang_common.testing import DEFAULT_ADMIN_URL, DatabaseFactory, start_broker

#: Partitions of the bench topics: the same as the catalogue's topics on the embedded broker.
PARTITIONS = 4


@dataclass
class ServiceParts:
    create_app: Callable[..., Any]
    settings_cls: type[Any]
    root: Path


def service_parts(name: str) -> ServiceParts:
    """A service's app factory, Settings class and root (for its alembic migrations)."""
    app_module = importlib.import_module(f"heemang_{name}.app")
    settings_module = importlib.import_module(f"heemang_{name}.settings")
    cli_module = importlib.import_module(f"heemang_{name}.cli")
    return ServiceParts(app_module.create_app, settings_module.Settings, cli_module.SERVICE_ROOT)


@dataclass
class BenchEnv:
    databases: DatabaseFactory
    broker: EmbeddedBroker | None
    bootstrap: str
    run_id: str

    @classmethod
    async def open(cls, *, force_sqlite: bool) -> BenchEnv:
        databases = await _database_factory(force_sqlite)
        broker, bootstrap = await start_broker()
        return cls(databases, broker, bootstrap, uuid.uuid4().hex[:8])

    @property
    def broker_name(self) -> str:
        return "embedded tansu" if self.broker is not None else f"external {self.bootstrap}"

    def topic(self, name: str) -> str:
        # A topic per run and per figure: no figure reads another's messages, and a rerun
        # against an external broker never sees an earlier run's.
        return f"bench.{self.run_id}.{name}"

    async def create_topics(self, *names: str) -> list[str]:
        topics = [self.topic(n) for n in names]
        await ensure_topics(self.bootstrap, topics, PARTITIONS)
        return topics

    async def fresh_database(self, service: str) -> str:
        return await self.databases.fresh_database(service, service_parts(service).root)

    async def close(self) -> None:
        try:
            await self.databases.drop_all()
        finally:
            if self.broker is not None:
                await self.broker.stop()


async def _database_factory(force_sqlite: bool) -> DatabaseFactory:
    if not force_sqlite:
        return await DatabaseFactory.detect()
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)
    return DatabaseFactory("sqlite", admin_url, Path(tempfile.mkdtemp(prefix="heemang-bench-")), [])


def referral_accepted() -> ReferralAccepted:
    """One real, small event as intake publishes it (about 600 bytes of JSON)."""
    referral_id, household_id = uuid.uuid4(), uuid.uuid4()
    return ReferralAccepted.create(
        subject=referral_id,
        data=ReferralAcceptedData(
            referral_id=referral_id,
            household_id=household_id,
            dong="yeoksam1",
            channel="walk_in",
            priority=2,
            accepted_at=utcnow(),
        ),
        correlationid=f"bench-{referral_id.hex[:8]}",
    )


def kafka_headers(event: ReferralAccepted) -> list[tuple[str, bytes]]:
    """The headers KafkaPublisher adds, so the raw baseline sends the same bytes."""
    return [("ce_type", event.type.encode()), ("ce_id", str(event.id).encode())]


def load_average() -> float:
    return os.getloadavg()[0]


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
