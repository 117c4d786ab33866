"""Fixtures for every suite in the workspace (services/*/tests, libs/common/tests, tests/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from heemang_common.broker import EmbeddedBroker
from heemang_common.testing import DatabaseFactory, in_ci, start_broker


@pytest.fixture(scope="session")
async def databases() -> AsyncIterator[DatabaseFactory]:
    factory = await DatabaseFactory.detect()
    yield factory
    await factory.drop_all()


@pytest.fixture(scope="session")
async def bootstrap() -> AsyncIterator[str]:
    """A broker shared by the tests that never stop it."""
    broker, servers = await start_broker()
    yield servers
    if broker is not None:
        await broker.stop()


@pytest.fixture
async def private_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that stop and restart it. It publishes its
    address (and incarnation) in a file, as `make run` does."""
    broker = EmbeddedBroker(partitions=4, address_file=tmp_path / "broker.json")
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture(scope="session", autouse=True)
def _ci_requirements(request: pytest.FixtureRequest) -> None:
    """Under CI the suite must run on PostgreSQL and the embedded broker: check both at
    the start, so a missing one fails the run at once instead of being skipped around."""
    if in_ci():
        factory = request.getfixturevalue("databases")
        assert factory.backend == "postgresql", "CI=true requires PostgreSQL"
        request.getfixturevalue("bootstrap")
