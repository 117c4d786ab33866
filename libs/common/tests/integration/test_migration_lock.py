"""Replicas starting together all run `migrate`: on PostgreSQL they take turns (advisory
lock) and every one of them succeeds, instead of one failing on a half-created table."""

from __future__ import annotations

import asyncio
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from heemang_common.testing import DatabaseFactory

from ..conftest import SCHEMA_ROOT


async def test_concurrent_upgrades_all_succeed(databases: DatabaseFactory) -> None:
    if databases.backend != "postgresql":
        pytest.skip("the lock is PostgreSQL's; SQLite files are per process in make run")
    url = await databases.fresh_database("common", SCHEMA_ROOT, migrate=False)
    # Separate processes, as replicas are (alembic's context is per process).
    script = (
        "from pathlib import Path; from heemang_common.migrations import upgrade; "
        f"upgrade(Path({str(SCHEMA_ROOT)!r}), {url!r})"
    )
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE)
        for _ in range(4)
    ]
    outcomes = [
        (await child.wait(), (await child.stderr.read()).decode()[-500:])
        for child in children
        if child.stderr
    ]
    assert [err for code, err in outcomes if code != 0] == []
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert len(versions) == 1
