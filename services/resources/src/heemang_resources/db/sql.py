"""Small portable SQL helpers (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def table_of(model: Any) -> Table:
    """A mapped class's Table, typed as one (``__table__`` is a FromClause to mypy)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def insert_ignore(
    session: AsyncSession, table: Table, values: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; the number of rows inserted."""
    builder = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    result = await session.execute(builder(table).values(values).on_conflict_do_nothing())
    return int(getattr(result, "rowcount", 0) or 0)


async def upsert_add(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], keys: list[str], counters: list[str]
) -> None:
    """INSERT the rows, or add their counters to the existing row with the same keys."""
    builder = postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
    stmt = builder(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + getattr(stmt.excluded, c) for c in counters}
    )
    await session.execute(stmt, rows)
