"""Callbacks from the SMS gateway: replies (inbound messages). Authenticated by the
gateway's Standard Webhooks signature, not by a user token; each webhook id has one effect."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid, Unauthorized
from heemang_common.events.envelope import utcnow
from heemang_hotline import scheduler
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import WebhookSeen
from heemang_hotline.domain import checkins as rules
from heemang_hotline.domain import signatures
from heemang_hotline.settings import Settings

router = APIRouter(prefix="/sms", tags=["sms callbacks"])


class InboundMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", max_length=20, description="The replying number")
    text: str = Field(max_length=2000)
    received_at: datetime | None = None


class CallbackAck(BaseModel):
    duplicate: bool = Field(description="The webhook id was handled before: no second effect")
    effect: str = Field(description="What the callback did")


async def verified_body(request: Request) -> tuple[str, bytes]:
    """The webhook id and raw body, or 401 whatever is wrong with the signature headers."""
    settings: Settings = request.app.state.runtime.settings
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        key = signatures.secret_bytes(settings.webhook_secret())
        return signatures.verify(key, headers, body, time.time()), body
    except (signatures.BadSignature, ValueError) as exc:
        raise Unauthorized(f"The callback's signature does not verify: {exc}") from None


async def first_time(session: AsyncSession, webhook_id: str) -> bool:
    """Record the webhook id; False if it was seen before (a replay or a retry)."""
    seen = await session.execute(select(WebhookSeen.webhook_id).where(WebhookSeen.webhook_id == webhook_id))
    if seen.first():
        return False
    session.add(WebhookSeen(webhook_id=webhook_id, received_at=utcnow()))
    await session.flush()  # a concurrent duplicate fails here on the primary key (→ 409, retried)
    return True


@router.post(
    "/inbound",
    response_model=CallbackAck,
    summary="수신 문자: a reply from a recipient (check-in answers, 수신거부)",
    openapi_extra={"security": []},
)
async def inbound(request: Request, session: SessionDep) -> CallbackAck:
    webhook_id, body = await verified_body(request)
    try:
        message = InboundMessage.model_validate_json(body)
    except ValidationError as exc:
        raise Invalid("the inbound message is malformed", errors=exc.errors(include_url=False)) from None
    if not await first_time(session, webhook_id):
        return CallbackAck(duplicate=True, effect="none")
    runtime = request.app.state.runtime
    protector: ContactProtector = runtime.extras["contacts"]
    try:
        phone_hash = protector.lookup_hash(message.sender)
    except Invalid:
        return CallbackAck(duplicate=False, effect="unknown_sender")
    outcome = rules.reply_outcome(message.text)
    if outcome is not None:
        answered = await scheduler.close_by_reply(session, phone_hash, outcome, runtime.settings)
        return CallbackAck(
            duplicate=False, effect=f"checkin_{outcome.value}" if answered else "no_open_checkin"
        )
    return CallbackAck(duplicate=False, effect="ignored")
