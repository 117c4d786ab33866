"""The local provider for `make run` and tests: records what it would have sent, and can
be told to fail (transiently or permanently) or to be slow, to rehearse outages.

Like the real gateway with its `ref`, it is idempotent by our message id: a send retried
after a crash (same id) is the message already sent, not a second one. Sends arriving
together are written together (one INSERT per flush, group commit), so a campaign's
batch is not limited by one database round trip per message.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.events.envelope import utcnow
from heemang_common.masking import mask_phone
from heemang_hotline.db.models import LocalSms
from heemang_hotline.sms.base import OutboundSms, SendResult

FLUSH_MAX = 500
LINGER_S = 0.002


@dataclass
class Faults:
    fail_next: int = 0
    permanent: bool = False
    delay_s: float = 0.0
    invalid_numbers: set[str] = field(default_factory=set)


class LocalSmsProvider:
    name = "local"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.faults = Faults()
        self._queue: list[tuple[OutboundSms, asyncio.Future[str]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def send(self, message: OutboundSms) -> SendResult:
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if message.to in self.faults.invalid_numbers:
            return SendResult(accepted=False, permanent=True, error="invalid number")
        if self.faults.fail_next:
            self.faults.fail_next -= 1
            return SendResult(accepted=False, permanent=self.faults.permanent, error="told to fail")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="local-sms-flush")
        return SendResult(accepted=True, provider_message_id=await future)

    async def _flush(self) -> None:
        await asyncio.sleep(LINGER_S)  # let the sends arriving together join this write
        while self._queue:
            batch, self._queue = self._queue[:FLUSH_MAX], self._queue[FLUSH_MAX:]
            try:
                ids = await self._write([m for m, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for message, future in batch:
                if not future.done():  # its sender may have died meanwhile: the message left anyway
                    future.set_result(ids[message.id])
            await asyncio.sleep(LINGER_S)

    async def _write(self, messages: list[OutboundSms]) -> dict[uuid.UUID, str]:
        """Insert the new messages; the provider ids of all (new or sent before)."""
        rows: dict[uuid.UUID, dict[str, Any]] = {}
        now = utcnow()
        for m in messages:
            rows.setdefault(
                m.id,
                {
                    "id": m.id,
                    "provider_message_id": uuid.uuid4().hex,
                    "to_masked": mask_phone(m.to),  # even the fake keeps no full number
                    "kind": m.kind.value,
                    "body": m.body,
                    "sent_at": now,
                },
            )
        async with self.sessionmaker() as session, session.begin():
            insert = _insert_for(session)
            stmt = insert(LocalSms).values(list(rows.values())).on_conflict_do_nothing(index_elements=["id"])
            await session.execute(stmt)
            found = await session.execute(
                select(LocalSms.id, LocalSms.provider_message_id).where(LocalSms.id.in_(list(rows)))
            )
            return {row_id: provider_id for row_id, provider_id in found.all()}


def _insert_for(session: AsyncSession) -> Any:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
