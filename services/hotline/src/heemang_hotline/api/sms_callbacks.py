"""Callbacks from the SMS gateway: replies (inbound messages). Authenticated by the
gateway's Standard Webhooks signature, not by a user token; each webhook id has one effect."""

from __future__ import annotations

import time
import uuid
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid, Unauthorized
from heemang_common.events.envelope import utcnow
from heemang_common.types import IsoDateTime
from heemang_hotline import campaigns, scheduler
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
    received_at: IsoDateTime | None = None


#: The reply keyword that stops notices (수신거부), as carriers and the law expect.
OPT_OUT_WORDS = frozenset({"수신거부", "거부", "STOP", "stop"})


class DeliveryReport(BaseModel):
    ref: uuid.UUID = Field(description="Our message id, sent to the gateway as `ref`")
    status: Literal["delivered", "failed"]
    provider_message_id: str | None = Field(None, max_length=64)


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
        now = request.app.state.runtime.extras.get("wall_clock", time.time)()  # tests pin it
        return signatures.verify(key, headers, body, now), body
    except (signatures.BadSignature, ValueError) as exc:
        raise Unauthorized(f"The callback's signature does not verify: {exc}") from None


async def first_time(session: AsyncSession, webhook_id: str) -> bool:
    """Record the webhook id; False if it was seen before (a replay or a retry). A
    concurrent duplicate waits for the first one's commit and then inserts nothing."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(WebhookSeen)
        .values(webhook_id=webhook_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(WebhookSeen.webhook_id)
    )
    return (await session.execute(stmt)).first() is not None


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
    if message.text.strip().replace(" ", "") in OPT_OUT_WORDS:
        stopped = await campaigns.opt_out_number(session, phone_hash)
        return CallbackAck(duplicate=False, effect=f"opted_out:{stopped}")
    outcome = rules.reply_outcome(message.text)
    if outcome is not None:
        answered = await scheduler.close_by_reply(session, phone_hash, outcome, runtime.settings)
        return CallbackAck(
            duplicate=False, effect=f"checkin_{outcome.value}" if answered else "no_open_checkin"
        )
    return CallbackAck(duplicate=False, effect="ignored")


@router.post(
    "/delivery-reports",
    response_model=CallbackAck,
    summary="전송 결과: the carrier's delivery report for one message",
    openapi_extra={"security": []},
)
async def delivery_report(request: Request, session: SessionDep) -> CallbackAck:
    webhook_id, body = await verified_body(request)
    try:
        report = DeliveryReport.model_validate_json(body)
    except ValidationError as exc:
        raise Invalid("the delivery report is malformed", errors=exc.errors(include_url=False)) from None
    if not await first_time(session, webhook_id):
        return CallbackAck(duplicate=True, effect="none")
    known = await campaigns.delivery_report(session, report.ref, report.status)
    return CallbackAck(duplicate=False, effect=report.status if known else "unknown_message")
