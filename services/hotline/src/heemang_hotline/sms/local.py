"""The local provider for `make run` and tests: records what it would have sent, and can
be told to fail (transiently or permanently) or to be slow, to rehearse outages."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.events.envelope import utcnow
from heemang_common.masking import mask_phone
from heemang_hotline.db.models import LocalSms
from heemang_hotline.sms.base import OutboundSms, SendResult


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

    async def send(self, message: OutboundSms) -> SendResult:
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if message.to in self.faults.invalid_numbers:
            return SendResult(accepted=False, permanent=True, error="invalid number")
        if self.faults.fail_next:
            self.faults.fail_next -= 1
            return SendResult(accepted=False, permanent=self.faults.permanent, error="told to fail")
        # Idempotent by our message id, as the real gateway is by `ref`: a send retried after
        # a crash (same id) is the message already sent, not a second one.
        async with self.sessionmaker() as session:
            sent = await session.get(LocalSms, message.id)
        if sent is not None:
            return SendResult(accepted=True, provider_message_id=sent.provider_message_id)
        provider_id = uuid.uuid4().hex
        async with self.sessionmaker() as session, session.begin():
            session.add(
                LocalSms(
                    id=message.id,
                    provider_message_id=provider_id,
                    to_masked=mask_phone(message.to),  # even the fake keeps no full number
                    kind=message.kind.value,
                    body=message.body,
                    sent_at=utcnow(),
                )
            )
        return SendResult(accepted=True, provider_message_id=provider_id)
