"""T11 for intake: schemathesis' CLI against the served app (real HTTP, migrated database),
fixed seed, examples + coverage + fuzzing phases, as a district admin with every clearance.

Checked: not_a_server_error, response_schema_conformance, negative_data_rejection,
ignored_auth, use_after_free, ensure_resource_availability. (status_code_conformance and
content_type_conformance need the app factory to document 400 and problem+json on every
operation: a libs/common change, reported.)"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from heemang_common.broker import EmbeddedBroker
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT
from heemang_intake.settings import Settings

CHECKS = (
    "not_a_server_error,response_schema_conformance,negative_data_rejection,"
    "ignored_auth,use_after_free,ensure_resource_availability"
)


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    settings = fast_settings(
        Settings, database_url=url, bootstrap=intake_broker.bootstrap_servers, red_postbox_burst=100_000
    )
    running = await serve("intake", create_app(settings), settings.port)
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.slow
async def test_schemathesis_finds_nothing(intake: RunningService, tmp_path: Path) -> None:
    token = TEST_MINT.token("district_admin", clearances=["restricted", "rrn_reveal"], ttl_s=3600)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{intake.url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "6",
        "--seed",
        "20211",
        "--exclude-path",
        "/ops/dead-letters",
        "-H",
        f"Authorization: Bearer {token}",
        cwd=tmp_path,  # its cache directory goes there, not into the repository
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    assert "generated" in text and "passed" in text
