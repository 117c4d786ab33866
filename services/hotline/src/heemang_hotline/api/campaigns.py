from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from heemang_common.deps import SessionDep
from heemang_common.masking import mask_phone
from heemang_common.types import IsoDateTime, StrictBool, StrictInt
from heemang_hotline import campaigns as service
from heemang_hotline.api.access import ManagerDep, StaffDep, decode_cursor, encode_cursor, log_read
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import SmsCampaign, Subscriber
from heemang_hotline.domain import campaigns as rules
from heemang_hotline.settings import Settings

router = APIRouter(tags=["notices"])

TOPIC = r"^[a-z0-9_]{1,40}$"
DONG = r"^[0-9A-Za-z_-]{1,20}$"


def _protector(request: Request) -> ContactProtector:
    protector: ContactProtector = request.app.state.runtime.extras["contacts"]
    return protector


class SubscriberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(pattern=TOPIC, description="Notice topic", examples=["rental_housing"])
    phone: str = Field(max_length=20, description="Mobile number", examples=["010-1234-5678"])
    channel: str = Field("sms", pattern="^sms$", description="How notices reach them")
    consent_at: IsoDateTime = Field(description="When they consented (수신동의), with timezone")
    dong: str | None = Field(None, pattern=DONG)
    birth_year: int | None = Field(None, ge=1900, le=2100, description="For age-band targeting")
    household_type: str | None = Field(None, max_length=30, examples=["elderly_alone"])
    household_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    @field_validator("consent_at")
    @classmethod
    def _consent_has_a_timezone(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("consent_at needs a timezone (e.g. +09:00)")
        return value


class SubscriberRead(BaseModel):
    id: uuid.UUID
    topic: str
    phone_masked: str = Field(description="010-****-5678")
    channel: str
    consent_at: IsoDateTime
    opted_out_at: IsoDateTime | None
    dong: str | None
    household_type: str | None


class SubscriberPage(BaseModel):
    items: list[SubscriberRead]
    next_cursor: str | None


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dongs: list[str] = Field(default_factory=list, description="Only these 동 (empty: all)")
    age_min: StrictInt | None = Field(None, ge=0, le=130)
    age_max: StrictInt | None = Field(None, ge=0, le=130)
    household_types: list[str] = Field(default_factory=list, description="Only these household types")


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(pattern=TOPIC, examples=["rental_housing"])
    title: str = Field(min_length=1, max_length=100, examples=["행복주택 입주자 모집"])
    body: str = Field(
        min_length=1,
        max_length=4000,
        description="Up to 90 EUC-KR bytes: SMS; up to 2,000: LMS; longer is refused",
    )
    audience: AudienceIn = Field(default_factory=AudienceIn)
    urgent: StrictBool = Field(False, description="Urgent notices are sent in quiet hours too")


class CampaignRead(BaseModel):
    id: uuid.UUID
    topic: str
    title: str
    kind: str = Field(description="sms | lms")
    urgent: bool
    status: str = Field(description="draft | sending | completed")
    recipients: int
    created_at: IsoDateTime
    started_at: IsoDateTime | None
    completed_at: IsoDateTime | None
    report: dict[str, int] = Field(
        description="pending, sent, failed, refused (do-not-contact), opted_out, delivered, undelivered"
    )


class PreviewRead(BaseModel):
    recipients: int = Field(description="Consenting subscribers the campaign would reach now")
    kind: str
    cost_krw: int = Field(description="Estimated cost at the configured unit price")


def _subscriber(sub: Subscriber, protector: ContactProtector) -> SubscriberRead:
    return SubscriberRead(
        id=sub.id,
        topic=sub.topic,
        phone_masked=mask_phone(protector.decrypt(sub.phone_enc, sub.id.bytes)),
        channel=sub.channel,
        consent_at=sub.consent_at,
        opted_out_at=sub.opted_out_at,
        dong=sub.dong,
        household_type=sub.household_type,
    )


async def _campaign(session: SessionDep, campaign: SmsCampaign) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        topic=campaign.topic,
        title=campaign.title,
        kind=campaign.kind,
        urgent=campaign.urgent,
        status=campaign.status,
        recipients=campaign.recipients,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        report=await service.report(session, campaign.id),
    )


@router.post(
    "/subscribers",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriberRead,
    summary="문자 알림 수신 동의: subscribe a number to a notice topic",
)
async def subscribe(
    body: SubscriberCreate, session: SessionDep, request: Request, principal: StaffDep
) -> SubscriberRead:
    facts = body.model_dump(exclude={"topic", "phone", "channel", "consent_at"})
    sub = await service.subscribe(
        session, _protector(request), topic=body.topic, phone=body.phone, consent_at=body.consent_at, **facts
    )
    return _subscriber(sub, _protector(request))


@router.get("/subscribers", response_model=SubscriberPage, summary="수신자 목록: subscribers (masked)")
async def list_subscribers(
    session: SessionDep,
    request: Request,
    principal: StaffDep,
    topic: str | None = Query(None, pattern=TOPIC),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(100, ge=1, le=500),
) -> SubscriberPage:
    items = await service.list_subscribers(
        session, topic=topic, after=decode_cursor(cursor) if cursor else None, limit=limit + 1
    )
    page, more = items[:limit], len(items) > limit
    for sub in page:
        log_read(
            session,
            request,
            principal,
            record_type="subscriber",
            record_id=sub.id,
            household_id=sub.household_id,
            action="list",
        )
    return SubscriberPage(
        items=[_subscriber(s, _protector(request)) for s in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


@router.post(
    "/subscribers/{subscriber_id}/opt-out",
    response_model=SubscriberRead,
    summary="수신거부: opt a subscriber out (takes effect before the next batch)",
)
async def opt_out(
    subscriber_id: uuid.UUID, session: SessionDep, request: Request, principal: StaffDep
) -> SubscriberRead:
    return _subscriber(await service.opt_out(session, subscriber_id), _protector(request))


@router.post(
    "/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignRead,
    summary="문자 알림 작성: draft a notice campaign",
)
async def create_campaign(body: CampaignCreate, session: SessionDep, principal: ManagerDep) -> CampaignRead:
    audience = rules.Audience(
        dongs=tuple(body.audience.dongs),
        age_min=body.audience.age_min,
        age_max=body.audience.age_max,
        household_types=tuple(body.audience.household_types),
    )
    campaign = await service.create_campaign(
        session,
        topic=body.topic,
        title=body.title,
        body=body.body,
        audience=audience,
        urgent=body.urgent,
        by=principal.subject,
    )
    return await _campaign(session, campaign)


@router.get(
    "/campaigns/{campaign_id}", response_model=CampaignRead, summary="문자 알림 현황: campaign and its report"
)
async def read_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: StaffDep) -> CampaignRead:
    return await _campaign(session, await service.get_campaign(session, campaign_id))


@router.get(
    "/campaigns/{campaign_id}/preview",
    response_model=PreviewRead,
    summary="발송 미리보기: recipient count and cost",
)
async def preview(
    campaign_id: uuid.UUID, session: SessionDep, request: Request, principal: ManagerDep
) -> PreviewRead:
    settings: Settings = request.app.state.runtime.settings
    campaign = await service.get_campaign(session, campaign_id)
    count = await service.count_recipients(session, campaign)
    unit = rules.unit_cost(rules.Kind(campaign.kind), settings.sms_cost_krw, settings.lms_cost_krw)
    return PreviewRead(recipients=count, kind=campaign.kind, cost_krw=count * unit)


@router.post(
    "/campaigns/{campaign_id}/send",
    response_model=CampaignRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="발송: start sending (batches through the rate limit)",
)
async def send(
    campaign_id: uuid.UUID, session: SessionDep, request: Request, principal: ManagerDep
) -> CampaignRead:
    settings: Settings = request.app.state.runtime.settings
    campaign = await service.get_campaign(session, campaign_id)
    await service.start(session, campaign, dialect="sqlite" if settings.is_sqlite else "postgresql")
    return await _campaign(session, campaign)
