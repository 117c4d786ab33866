"""libs/common's own test schema (outbox, inbox, effects), migrated like a service's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heemang_common.db import create_engine, create_sessionmaker, new_metadata
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin
from heemang_common.testing import DatabaseFactory

SCHEMA_ROOT = Path(__file__).parent / "schema"

class Base(DeclarativeBase):
    metadata = new_metadata()


class Outbox(OutboxMixin, Base):
    pass


class Inbox(InboxMixin, Base):
    pass


class RelayState(RelayStateMixin, Base):
    pass


class Effect(Base):
    """One row per handler effect: what exactly-once tests count."""

    __tablename__ = "effects"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(100))
    aggregate: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)


@dataclass
class CommonDb:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    backend: str
    # The test schema's models (test modules cannot import conftest under importlib mode).
    Outbox: type[Outbox] = Outbox
    Inbox: type[Inbox] = Inbox
    Effect: type[Effect] = Effect
    RelayState: type[RelayState] = RelayState


@pytest.fixture
async def common_db(databases: DatabaseFactory) -> AsyncIterator[CommonDb]:
    url = await databases.fresh_database("common", SCHEMA_ROOT)
    engine = create_engine(url)
    yield CommonDb(url, engine, create_sessionmaker(engine), databases.backend)
    await engine.dispose()
