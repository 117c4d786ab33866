"""The gateway service's tables."""

from __future__ import annotations

from heemang_common.db import make_base
from heemang_common.outbox import InboxMixin, OutboxMixin

Base = make_base()


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass
