"""Subscriptions and notice campaigns: use cases (the sending itself is campaign_sender)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.errors import Conflict, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import CampaignSend, SmsCampaign, Subscriber
from heemang_hotline.domain import campaigns as rules
from heemang_hotline.domain import phones
from heemang_hotline.domain.checkins import KST

FINAL = ("sent", "failed", "refused", "opted_out")


async def subscribe(
    session: AsyncSession,
    protector: ContactProtector,
    *,
    topic: str,
    phone: str,
    consent_at: datetime,
    **facts: Any,
) -> Subscriber:
    digits = phones.normalise(phone)
    if not phones.is_mobile(digits):
        raise Invalid("notices go by text message: a mobile number (01x) is needed")
    phone_hash = protector.lookup_hash(digits)
    stmt = select(Subscriber).where(Subscriber.topic == topic, Subscriber.phone_hash == phone_hash)
    existing = (await session.execute(stmt)).scalar_one_or_none()
    if existing is not None and existing.opted_out_at is None:
        raise Conflict("this number already subscribes to this topic", subscriber_id=str(existing.id))
    subscriber = existing or Subscriber(
        id=uuid.uuid4(), topic=topic, phone_hash=phone_hash, created_at=utcnow()
    )
    subscriber.phone_enc = protector.encrypt(digits, subscriber.id.bytes)
    subscriber.channel, subscriber.consent_at, subscriber.opted_out_at = "sms", consent_at, None
    for name, value in facts.items():
        setattr(subscriber, name, value)
    if existing is None:
        session.add(subscriber)
    await session.flush()
    return subscriber


async def opt_out(session: AsyncSession, subscriber_id: uuid.UUID) -> Subscriber:
    subscriber = await session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"subscriber {subscriber_id} not found")
    subscriber.opted_out_at = subscriber.opted_out_at or utcnow()
    await session.flush()
    return subscriber


async def opt_out_number(session: AsyncSession, phone_hash: str) -> int:
    """수신거부 by reply: every topic the number subscribes to."""
    stmt = (
        update(Subscriber)
        .where(Subscriber.phone_hash == phone_hash, Subscriber.opted_out_at.is_(None))
        .values(opted_out_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_subscribers(
    session: AsyncSession, *, topic: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Subscriber]:
    stmt = select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc()).limit(limit)
    if topic is not None:
        stmt = stmt.where(Subscriber.topic == topic)
    if after is not None:
        at, last = after
        stmt = stmt.where(
            or_(Subscriber.created_at < at, and_(Subscriber.created_at == at, Subscriber.id < last))
        )
    return list((await session.execute(stmt)).scalars())


def audience_of(campaign: SmsCampaign) -> rules.Audience:
    f = campaign.filters
    return rules.Audience(
        dongs=tuple(f.get("dongs") or ()),  # type: ignore[arg-type]
        age_min=f.get("age_min"),  # type: ignore[arg-type]
        age_max=f.get("age_max"),  # type: ignore[arg-type]
        household_types=tuple(f.get("household_types") or ()),  # type: ignore[arg-type]
    )


def _recipients(topic: str, audience: rules.Audience, now: datetime) -> list[ColumnElement[bool]]:
    """Consenting subscribers of the topic within the audience (the set a send targets)."""
    where: list[ColumnElement[bool]] = [Subscriber.topic == topic, Subscriber.opted_out_at.is_(None)]
    if audience.dongs:
        where.append(Subscriber.dong.in_(audience.dongs))
    if audience.household_types:
        where.append(Subscriber.household_type.in_(audience.household_types))
    earliest, latest = audience.birth_years(now.astimezone(KST).year)
    if earliest is not None:
        where.append(Subscriber.birth_year >= earliest)
    if latest is not None:
        where.append(Subscriber.birth_year <= latest)
    return where


async def create_campaign(
    session: AsyncSession,
    *,
    topic: str,
    title: str,
    body: str,
    audience: rules.Audience,
    urgent: bool,
    by: str,
) -> SmsCampaign:
    kind = rules.message_kind(body)
    campaign = SmsCampaign(
        id=uuid.uuid4(),
        topic=topic,
        title=title,
        body=body,
        kind=kind.value,
        filters={
            "dongs": list(audience.dongs),
            "age_min": audience.age_min,
            "age_max": audience.age_max,
            "household_types": list(audience.household_types),
        },
        urgent=urgent,
        status="draft",
        recipients=0,
        created_by=by,
        created_at=utcnow(),
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: uuid.UUID) -> SmsCampaign:
    campaign = await session.get(SmsCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


async def count_recipients(session: AsyncSession, campaign: SmsCampaign) -> int:
    stmt = (
        select(func.count())
        .select_from(Subscriber)
        .where(*_recipients(campaign.topic, audience_of(campaign), utcnow()))
    )
    return int((await session.execute(stmt)).scalar_one())


async def start(session: AsyncSession, campaign: SmsCampaign, *, dialect: str) -> int:
    """Write one send row per consenting recipient (set-based), then the sender takes over.
    Refused (422, nothing written) when no one consents."""
    # Lock the campaign: of two concurrent sends the second waits, then sees it started.
    locked = await session.get(SmsCampaign, campaign.id, with_for_update=True, populate_existing=True)
    if locked is None or locked.status != "draft":
        raise Conflict(f"the campaign is already {locked.status if locked else 'gone'}")
    now = utcnow()
    new_id = func.gen_random_uuid() if dialect == "postgresql" else func.lower(func.hex(func.randomblob(16)))
    chosen: Select[Any] = select(
        new_id,
        literal(campaign.id),
        Subscriber.id,
        literal("pending"),
        literal(0),
        literal(now, type_=CampaignSend.updated_at.type),
    ).where(*_recipients(campaign.topic, audience_of(campaign), now))
    insert_stmt = insert(CampaignSend).from_select(
        ["id", "campaign_id", "subscriber_id", "status", "attempts", "updated_at"], chosen
    )
    result = await session.execute(insert_stmt)
    written = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if written == 0:
        raise Invalid("no consenting subscriber matches this campaign: nothing to send")
    campaign.status, campaign.recipients, campaign.started_at = "sending", written, now
    await session.flush()
    return written


async def report(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    by_status = (
        select(CampaignSend.status, func.count())
        .where(CampaignSend.campaign_id == campaign_id)
        .group_by(CampaignSend.status)
    )
    counts = {status: int(n) for status, n in (await session.execute(by_status)).all()}
    by_delivery = (
        select(CampaignSend.delivery, func.count())
        .where(CampaignSend.campaign_id == campaign_id, CampaignSend.delivery.is_not(None))
        .group_by(CampaignSend.delivery)
    )
    deliveries = {str(d): int(n) for d, n in (await session.execute(by_delivery)).all()}
    return {
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "refused": counts.get("refused", 0),
        "opted_out": counts.get("opted_out", 0),
        "delivered": deliveries.get("delivered", 0),
        "undelivered": deliveries.get("failed", 0),
    }


async def delivery_report(session: AsyncSession, ref: uuid.UUID, status: str) -> bool:
    """The carrier's verdict on one message (our id as the gateway's `ref`)."""
    stmt = (
        update(CampaignSend)
        .where(CampaignSend.id == ref)
        .values(delivery=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
