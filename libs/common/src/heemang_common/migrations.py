"""Alembic glue: each service's env.py calls ``run_env``; tools call ``upgrade``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from heemang_common.db import UtcDateTime, create_engine


def alembic_config(service_root: Path, database_url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(service_root: Path, database_url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; from async code run it in a thread)."""
    command.upgrade(alembic_config(service_root, database_url), revision)


def run_env(metadata: MetaData, default_url: str) -> None:
    """Body of every service's migrations/env.py."""
    url = context.config.attributes.get("database_url") or default_url
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))


#: Session advisory lock held while migrating (PostgreSQL): replicas starting together take
#: turns, and the later ones find the schema at head and do nothing.
MIGRATION_LOCK = 0x6865656D_6D6967  # "heem" "mig"


async def _run_online(url: str, metadata: MetaData) -> None:
    sqlite = url.startswith("sqlite")
    engine = create_engine(url) if sqlite else create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            if not sqlite:
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                await connection.commit()  # the lock outlives this transaction (session-level)
            try:
                await connection.run_sync(_migrate, metadata)
                await connection.commit()
            finally:
                if not sqlite:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    await connection.commit()
    finally:
        await engine.dispose()


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, never our decorators (same DDL)."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _migrate(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, render_item=_render_item
    )
    with context.begin_transaction():
        context.run_migrations()
