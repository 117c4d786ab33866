"""Intake's integration fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from heemang_common.broker import EmbeddedBroker


@pytest.fixture(scope="module")
async def intake_broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedBroker]:
    """A broker of the module's own. Intake consumes hotline's and casework's topics: on the
    session's shared broker it would turn other suites' check-ins and transfers into
    households and referrals in the middle of a test that counts them."""
    embedded = EmbeddedBroker(partitions=4, address_file=tmp_path_factory.mktemp("broker") / "broker.json")
    await embedded.start()
    yield embedded
    await embedded.stop()
