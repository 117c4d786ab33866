"""Transactional outbox: an event is a row written in the same transaction as the change.

The relay (relay.py) publishes the rows; nothing publishes from a request handler directly.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, Uuid, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from heemang_common.db import UtcDateTime
from heemang_common.events.envelope import Event, utcnow

#: session.info flag the relay's after-commit hook looks for, to publish without waiting.
OUTBOX_PENDING = "heemang.outbox_pending"


class OutboxMixin:
    """Columns of a service's ``outbox`` table; mix into the service's Base."""

    if TYPE_CHECKING:  # the mapped subclass gets SQLAlchemy's keyword constructor

        def __init__(self, **kwargs: Any) -> None: ...

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        pending = text("published_at IS NULL")
        return (
            Index("ix_outbox_pending", "id", postgresql_where=pending, sqlite_where=pending),
            Index("ix_outbox_created_at", "created_at"),
        )


class InboxMixin:
    """Columns of a service's ``inbox`` table: one row per (consumer, event) handled."""

    if TYPE_CHECKING:  # the mapped subclass gets SQLAlchemy's keyword constructor

        def __init__(self, **kwargs: Any) -> None: ...

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # processed | dead_lettered
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class RelayStateMixin:
    """Which broker incarnation the relay last published to (see relay.py)."""

    if TYPE_CHECKING:  # the mapped subclass gets SQLAlchemy's keyword constructor

        def __init__(self, **kwargs: Any) -> None: ...

    __tablename__ = "relay_state"

    relay: Mapped[str] = mapped_column(String(100), primary_key=True)
    broker_incarnation: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def outbox_row(model: type[OutboxMixin], event: Event) -> OutboxMixin:
    return model(
        event_id=event.id,
        event_type=event.type,
        topic=event.topic,
        key=event.partition_key(),
        payload=event.to_json(),
        headers={},
        created_at=utcnow(),
    )


def add_event(session: AsyncSession, model: type[OutboxMixin], event: Event) -> None:
    """Stage an event in the caller's transaction; it is published once that commits."""
    if not event.topic:
        raise ValueError(f"{type(event).__name__} names no topic")
    session.add(outbox_row(model, event))
    session.info[OUTBOX_PENDING] = True
