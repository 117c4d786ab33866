"""Partner webhook API (웹훅): endpoints, secrets, delivery log, replays, test events.

Partner agencies manage their own agency's endpoints (another agency's are 404); the
district admin manages all. The event-types page is public: it holds no personal data.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from heemang_common.auth import PrincipalDep, Role, require_roles
from heemang_common.deps import SessionDep
from heemang_common.errors import Conflict, Invalid
from heemang_gateway.webhooks import payloads
from heemang_gateway.webhooks import repository as repo
from heemang_gateway.webhooks.context import WebhooksDep
from heemang_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from heemang_gateway.webhooks.ssrf import UnsafeTarget, check_target

TAG = "webhooks"
MANAGERS = (Role.DISTRICT_ADMIN, Role.PARTNER_AGENCY)


class Problem(BaseModel):
    """RFC 9457 problem details, as every Heemang error is rendered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    correlation_id: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not JSON"),
    401: _problem("No valid gateway token"),
    403: _problem("The role may not manage webhooks, or not for that agency"),
    404: _problem("No such endpoint or delivery within the caller's agency"),
    409: _problem("The endpoint is disabled, or the delivery is still pending"),
    422: _problem("Invalid input, including a refused (private or loopback) URL"),
    429: _problem("Too many test events waiting for the endpoint"),
}

public_router = APIRouter(prefix="/webhooks", tags=[TAG])
router = APIRouter(
    prefix="/webhooks", tags=[TAG], dependencies=[require_roles(*MANAGERS)], responses=PROBLEMS
)

AgencyCode = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z_.-]+$")]
DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]


def _known_types(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - payloads.SUBSCRIBABLE)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown fields are refused (mass assignment)


class EndpointIn(Strict):
    url: str = Field(
        max_length=2000,
        description="https (or http) URL the deliveries are POSTed to; private and loopback "
        "addresses are refused",
        examples=["https://partner.example/heemang/webhooks"],
    )
    event_types: list[str] = Field(
        min_length=1, max_length=20, description="Partner event types to receive (GET /webhooks/event-types)"
    )
    description: str = Field("", max_length=200, description="A label for the partner's own use")
    agency_id: AgencyCode | None = Field(
        None, description="Agency the endpoint belongs to (district admin only; partners get their own)"
    )

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        return _known_types(value)


class EndpointUpdate(Strict):
    url: str | None = Field(None, max_length=2000, description="A new URL (checked like at registration)")
    event_types: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=200)

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        return _known_types(value) if value is not None else None


class NoticeOut(BaseModel):
    kind: str
    message: str
    created_at: datetime


class NoticeListItem(NoticeOut):
    id: int
    endpoint_id: uuid.UUID
    agency_id: str


class NoticePage(BaseModel):
    items: list[NoticeListItem]
    next_cursor: str | None


class EndpointOut(BaseModel):
    id: uuid.UUID
    agency_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled (by hand, 410, or failing)")
    failing_since: datetime | None = Field(description="First failure since the last success")
    previous_secret_valid_until: datetime | None = Field(
        description="End of the rotation overlap: until then deliveries carry both signatures"
    )
    created_at: datetime
    updated_at: datetime
    notices: list[NoticeOut] = Field(default_factory=list)


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_…); shown only now and at rotation")


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None


class RotateIn(Strict):
    overlap_s: int | None = Field(
        None, ge=0, le=7 * 24 * 3600, description="How long the old secret keeps signing (default 24 h)"
    )


class SecretOut(BaseModel):
    secret: str
    previous_secret_valid_until: datetime | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    webhook_timestamp: int
    status_code: int | None
    outcome: str
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    message_id: str = Field(description="The webhook-id header: the same on every attempt")
    endpoint_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayRangeIn(Strict):
    since: datetime
    until: datetime
    include_delivered: bool = Field(False, description="Also resend deliveries that succeeded")


class ReplayOut(BaseModel):
    requeued: int


class EventTypeOut(BaseModel):
    type: str
    description: str
    fields: list[str]
    example: dict[str, Any]


class EventTypesOut(BaseModel):
    signing: str
    items: list[EventTypeOut]


def _endpoint_out(endpoint: WebhookEndpoint, notices: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "agency_id": endpoint.agency_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_valid_until": endpoint.previous_secret_until if endpoint.previous_secret else None,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "notices": [
            {"kind": n.kind, "message": n.message, "created_at": n.created_at} for n in notices or []
        ],
    }


def _delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        message_id=delivery.message_id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == repo.PENDING else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
        attempts=[
            AttemptOut(
                attempted_at=a.attempted_at,
                webhook_timestamp=a.webhook_timestamp,
                status_code=a.status_code,
                outcome=a.outcome,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )


async def _checked_url(url: str, ctx: Any) -> str:
    try:
        await check_target(url, resolver=ctx.resolver, allow_private=ctx.allow_private_targets)
    except UnsafeTarget as exc:
        raise Invalid(f"The URL is refused: {exc}.", field="url") from None
    return url


@public_router.get(
    "/event-types",
    summary="웹훅 이벤트 유형: the event types partners can subscribe to, with example payloads",
    response_model=EventTypesOut,
)
async def event_types() -> dict[str, Any]:
    return {
        "signing": "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature "
        "(v1,<base64 HMAC-SHA256 of id.timestamp.body> with the endpoint's whsec_ secret)",
        "items": payloads.catalogue(),
    }


@router.post(
    "/endpoints", status_code=201, response_model=EndpointCreated, summary="웹훅 등록: register an endpoint"
)
async def create_endpoint(
    body: EndpointIn, principal: PrincipalDep, session: SessionDep, ctx: WebhooksDep
) -> dict[str, Any]:
    agency = repo.agency_for(principal, body.agency_id)
    url = await _checked_url(body.url, ctx)
    endpoint, secret = await repo.create_endpoint(
        session,
        agency_id=agency,
        url=url,
        event_types=body.event_types,
        description=body.description,
        created_by=principal.subject,
        now=ctx.clock.now(),
        box=ctx.secret_box,
    )
    return {**_endpoint_out(endpoint), "secret": secret}


@router.get("/endpoints", response_model=EndpointPage, summary="웹훅 목록: list endpoints")
async def list_endpoints(
    principal: PrincipalDep,
    session: SessionDep,
    agency_id: AgencyCode | None = None,
    enabled: bool | None = None,
    cursor: uuid.UUID | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    rows = await repo.list_endpoints(
        session, principal, agency_id=agency_id, enabled=enabled, after=cursor, limit=limit
    )
    return {
        "items": [_endpoint_out(e) for e in rows],
        "next_cursor": str(rows[-1].id) if len(rows) == limit else None,
    }


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut, summary="웹훅 조회: one endpoint")
async def read_endpoint(
    endpoint_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> dict[str, Any]:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id)
    return _endpoint_out(endpoint, await repo.notices(session, endpoint.id))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointOut, summary="웹훅 수정: change an endpoint")
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    ctx: WebhooksDep,
) -> dict[str, Any]:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    if body.url is not None:
        endpoint.url = await _checked_url(body.url, ctx)
    if body.event_types is not None:
        endpoint.event_types = sorted(set(body.event_types))
    if body.description is not None:
        endpoint.description = body.description
    endpoint.updated_at = ctx.clock.now()
    return _endpoint_out(endpoint)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretOut,
    summary="비밀키 교체: rotate the signing secret (both sign during the overlap)",
)
async def rotate_secret(
    endpoint_id: uuid.UUID, body: RotateIn, principal: PrincipalDep, session: SessionDep, ctx: WebhooksDep
) -> dict[str, Any]:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    overlap = timedelta(seconds=body.overlap_s) if body.overlap_s is not None else ctx.secret_overlap
    secret = repo.rotate_secret(endpoint, ctx.clock.now(), overlap, ctx.secret_box)
    return {"secret": secret, "previous_secret_valid_until": endpoint.previous_secret_until}


@router.post("/endpoints/{endpoint_id}/disable", response_model=EndpointOut, summary="웹훅 중지: disable")
async def disable_endpoint(
    endpoint_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, ctx: WebhooksDep
) -> dict[str, Any]:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    if endpoint.enabled:
        await repo.disable_endpoint(
            session, endpoint, f"disabled by {principal.role}", ctx.clock.now(), notice=None
        )
    return _endpoint_out(endpoint)


@router.post("/endpoints/{endpoint_id}/enable", response_model=EndpointOut, summary="웹훅 재개: enable")
async def enable_endpoint(
    endpoint_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, ctx: WebhooksDep
) -> dict[str, Any]:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    repo.enable_endpoint(endpoint, ctx.clock.now())
    return _endpoint_out(endpoint)


@router.post(
    "/endpoints/{endpoint_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    summary="테스트 이벤트: send a test event",
)
async def send_test_event(
    endpoint_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, ctx: WebhooksDep
) -> DeliveryOut:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    delivery = await repo.add_test_delivery(session, endpoint, ctx.clock.now())
    return _delivery_out(delivery, [])


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=DeliveryPage,
    summary="전송 기록: the delivery log (newest first)",
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int | None = Query(None, ge=1, le=2**63 - 1, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=200),
) -> DeliveryPage:
    endpoint = await repo.get_endpoint(session, principal, endpoint_id)
    rows = await repo.list_deliveries(
        session, endpoint.id, status=status, since=since, until=until, before_seq=cursor, limit=limit
    )
    attempts = await repo.attempts_of(session, [d.seq for d in rows])
    return DeliveryPage(
        items=[_delivery_out(d, attempts[d.seq]) for d in rows],
        next_cursor=str(rows[-1].seq) if len(rows) == limit else None,
    )


@router.get("/deliveries/{message_id}", response_model=DeliveryOut, summary="전송 조회: one delivery")
async def read_delivery(
    message_id: Annotated[str, Path(max_length=64)], principal: PrincipalDep, session: SessionDep
) -> DeliveryOut:
    delivery, _ = await repo.get_delivery(session, principal, message_id)
    return _delivery_out(delivery, (await repo.attempts_of(session, [delivery.seq]))[delivery.seq])


@router.post(
    "/deliveries/{message_id}/replay",
    response_model=DeliveryOut,
    summary="재전송: send one delivery again (same webhook-id)",
)
async def replay_delivery(
    message_id: Annotated[str, Path(max_length=64)],
    principal: PrincipalDep,
    session: SessionDep,
    ctx: WebhooksDep,
) -> DeliveryOut:
    delivery, endpoint = await repo.get_delivery(session, principal, message_id, lock=True)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before replaying.")
    if delivery.status == repo.PENDING:
        raise Conflict("The delivery is still pending; it will be sent on its schedule.")
    repo.requeue(session, delivery, ctx.clock.now())
    return _delivery_out(delivery, [])


@router.post(
    "/endpoints/{endpoint_id}/replay",
    response_model=ReplayOut,
    summary="기간 재전송: send again the failed (or all) deliveries of a time range",
)
async def replay_range(
    endpoint_id: uuid.UUID,
    body: ReplayRangeIn,
    principal: PrincipalDep,
    session: SessionDep,
    ctx: WebhooksDep,
) -> dict[str, int]:
    if body.until <= body.since:
        raise Invalid("until must be after since.", field="until")
    endpoint = await repo.get_endpoint(session, principal, endpoint_id, lock=True)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before replaying.")
    statuses = [repo.FAILED, repo.CANCELLED] + ([repo.DELIVERED] if body.include_delivered else [])
    count = await repo.replay_range(
        session, endpoint, since=body.since, until=body.until, statuses=statuses, now=ctx.clock.now()
    )
    return {"requeued": count}


@router.get(
    "/notices",
    response_model=NoticePage,
    summary="웹훅 알림: endpoints switched off (410 or failing), newest first",
)
async def list_notices(
    principal: PrincipalDep,
    session: SessionDep,
    cursor: int | None = Query(None, ge=1, le=2**63 - 1, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=200),
) -> NoticePage:
    rows = await repo.all_notices(session, principal, before_id=cursor, limit=limit)
    return NoticePage(
        items=[
            NoticeListItem(
                id=n.id,
                endpoint_id=n.endpoint_id,
                agency_id=agency,
                kind=n.kind,
                message=n.message,
                created_at=n.created_at,
            )
            for n, agency in rows
        ],
        next_cursor=str(rows[-1][0].id) if len(rows) == limit else None,
    )
