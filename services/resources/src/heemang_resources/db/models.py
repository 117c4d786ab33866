"""The resources service's tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from heemang_common.db import new_metadata
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class RelayState(RelayStateMixin, Base):
    pass
