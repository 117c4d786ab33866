"""Database work of partner webhooks: endpoints, the fan-out of events into deliveries, the
delivery log and replays. Every function runs in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Principal, Role
from heemang_common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from heemang_common.events import Event
from heemang_common.events.casework import CaseAssigned
from heemang_gateway.webhooks import payloads
from heemang_gateway.webhooks.models import (
    CaseAgencies,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotice,
)
from heemang_gateway.webhooks.secret_box import PLAIN, SecretBox
from heemang_gateway.webhooks.signing import generate_secret

SelectT = TypeVar("SelectT", bound=Select)

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
MAX_REPLAY = 10_000
MAX_PENDING_TESTS = 5  # test events waiting per endpoint (the button cannot flood a partner)
#: session.info flag: deliveries were added; the dispatcher is woken after the commit.
DELIVERIES_ADDED = "heemang.webhooks.deliveries_added"


class TooMany(DomainError):
    status = 429
    problem = "too-many-requests"
    title = "Too many requests"


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# --- endpoints ------------------------------------------------------------------------------


def agency_for(principal: Principal, requested: str | None) -> str:
    """The agency an endpoint is registered for: a partner's own, any for the district admin."""
    if principal.role == Role.PARTNER_AGENCY:
        if not principal.agency_id:
            raise Forbidden("Your account is not linked to an agency.")
        if requested not in (None, principal.agency_id):
            raise Forbidden("Partners register endpoints for their own agency only.")
        return principal.agency_id
    if not requested:
        raise Invalid("agency_id is required when the district registers an endpoint.")
    return requested


def scoped(stmt: SelectT, principal: Principal) -> SelectT:
    """Object-level authorization: a partner sees its agency's endpoints only."""
    if principal.role == Role.PARTNER_AGENCY:
        return stmt.where(WebhookEndpoint.agency_id == (principal.agency_id or ""))
    return stmt


async def create_endpoint(
    session: AsyncSession,
    *,
    agency_id: str,
    url: str,
    event_types: Sequence[str],
    description: str,
    created_by: str,
    now: datetime,
    box: SecretBox = PLAIN,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (returned in clear once; stored sealed)."""
    endpoint_id, secret = uuid.uuid4(), generate_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        agency_id=agency_id,
        url=url,
        description=description,
        event_types=sorted(set(event_types)),
        secret=box.seal(secret, endpoint_id),
        enabled=True,
        exhausted_in_row=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    stmt = scoped(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id), principal)
    if lock:
        stmt = stmt.with_for_update()
    endpoint = (await session.execute(stmt)).scalar_one_or_none()
    if endpoint is None:  # another agency's endpoint is as absent as a missing one
        raise NotFound("No such webhook endpoint.")
    return endpoint


async def list_endpoints(
    session: AsyncSession,
    principal: Principal,
    *,
    agency_id: str | None,
    enabled: bool | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[WebhookEndpoint]:
    stmt = scoped(select(WebhookEndpoint), principal)
    if agency_id:
        stmt = stmt.where(WebhookEndpoint.agency_id == agency_id)
    if enabled is not None:
        stmt = stmt.where(WebhookEndpoint.enabled == enabled)
    if after:
        stmt = stmt.where(WebhookEndpoint.id > after)
    stmt = stmt.order_by(WebhookEndpoint.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


def rotate_secret(
    endpoint: WebhookEndpoint, now: datetime, overlap: timedelta, box: SecretBox = PLAIN
) -> str:
    """A new secret (returned in clear); the old one still signs alongside until the
    overlap ends."""
    secret = generate_secret()
    endpoint.previous_secret = endpoint.secret if overlap.total_seconds() > 0 else None
    endpoint.previous_secret_until = now + overlap if overlap.total_seconds() > 0 else None
    endpoint.secret = box.seal(secret, endpoint.id)
    endpoint.updated_at = now
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime, box: SecretBox = PLAIN) -> list[str]:
    secrets = [box.open(endpoint.secret, endpoint.id)]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        secrets.append(box.open(endpoint.previous_secret, endpoint.id))
    return secrets


async def disable_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, reason: str, now: datetime, *, notice: str | None
) -> None:
    """Stop deliveries: pending ones are cancelled (replay recovers them once re-enabled)."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.updated_at = now
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
        .values(status=CANCELLED, finished_at=now, lease_owner=None, lease_until=None)
    )
    if notice:
        session.add(WebhookNotice(endpoint_id=endpoint.id, kind="endpoint_disabled", message=notice[:500]))


def enable_endpoint(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.failing_since = None
    endpoint.exhausted_in_row = 0
    endpoint.updated_at = now


async def all_notices(
    session: AsyncSession, principal: Principal, *, before_id: int | None, limit: int
) -> list[tuple[WebhookNotice, str]]:
    """Notices of the endpoints the caller manages, newest first, with the agency."""
    stmt = scoped(
        select(WebhookNotice, WebhookEndpoint.agency_id).join(
            WebhookEndpoint, WebhookEndpoint.id == WebhookNotice.endpoint_id
        ),
        principal,
    )
    if before_id:
        stmt = stmt.where(WebhookNotice.id < before_id)
    rows = (await session.execute(stmt.order_by(WebhookNotice.id.desc()).limit(limit))).all()
    return [(notice, agency) for notice, agency in rows]


async def notices(session: AsyncSession, endpoint_id: uuid.UUID, limit: int = 20) -> list[WebhookNotice]:
    stmt = (
        select(WebhookNotice)
        .where(WebhookNotice.endpoint_id == endpoint_id)
        .order_by(WebhookNotice.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


# --- deliveries -----------------------------------------------------------------------------


async def insert_delivery(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    event_id: str,
    event_type: str,
    body: bytes,
    now: datetime,
) -> bool:
    """A delivery row, once per endpoint × event (a redelivered event adds nothing)."""
    values = {
        "message_id": new_message_id(),
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": event_type,
        "body": body,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(WebhookDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    )
    result = await session.execute(stmt)
    added = bool(getattr(result, "rowcount", 0))
    if added:
        session.info[DELIVERIES_ADDED] = True
    return added


async def record_assignment(session: AsyncSession, event: CaseAssigned) -> bool:
    """Keep the latest assignment of a case; False for an older one arriving late (it
    changes nothing and is not announced)."""
    data = event.data
    row = await session.get(CaseAgencies, data.case_id, with_for_update=True)
    if row is None:
        session.add(
            CaseAgencies(
                case_id=data.case_id, agencies=sorted(set(data.agencies)), assigned_at=data.assigned_at
            )
        )
        await session.flush()
        return True
    if data.assigned_at < row.assigned_at:
        return False
    row.agencies = sorted(set(data.agencies))
    row.assigned_at = data.assigned_at
    return True


async def fan_out(session: AsyncSession, event: Event, now: datetime) -> int:
    """Deliveries of one internal event to the endpoints of the agencies assigned to its case
    that subscribed to its partner type. Returns how many were added."""
    rendered = payloads.partner_body(event)
    case_id = getattr(event.data, "case_id", None)
    if rendered is None or case_id is None:
        return 0
    partner_type, body = rendered
    assignment = await session.get(CaseAgencies, case_id)
    if assignment is None or not assignment.agencies:
        return 0
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.agency_id.in_(assignment.agencies), WebhookEndpoint.enabled.is_(True)
    )
    added = 0
    for endpoint in (await session.execute(stmt)).scalars():
        if partner_type in endpoint.event_types:
            added += await insert_delivery(
                session,
                endpoint_id=endpoint.id,
                event_id=str(event.id),
                event_type=partner_type,
                body=body,
                now=now,
            )
    return added


async def add_test_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, now: datetime
) -> WebhookDelivery:
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before sending a test event.")
    waiting = await session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.event_type == payloads.TEST_EVENT,
            WebhookDelivery.status == PENDING,
        )
    )
    if (waiting or 0) >= MAX_PENDING_TESTS:
        raise TooMany(f"{MAX_PENDING_TESTS} test events are already waiting for this endpoint.")
    event_id = f"test-{uuid.uuid4().hex}"
    await insert_delivery(
        session,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=payloads.TEST_EVENT,
        body=payloads.test_body(endpoint.id, now),
        now=now,
    )
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event_id
    )
    return (await session.execute(stmt)).scalar_one()


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    *,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    before_seq: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first; the cursor is the last row's ``seq``."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if since:
        stmt = stmt.where(WebhookDelivery.created_at >= since)
    if until:
        stmt = stmt.where(WebhookDelivery.created_at < until)
    if before_seq:
        stmt = stmt.where(WebhookDelivery.seq < before_seq)
    stmt = stmt.order_by(WebhookDelivery.seq.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def attempts_of(session: AsyncSession, seqs: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {seq: [] for seq in seqs}
    if not seqs:
        return found
    stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_seq.in_(seqs)).order_by(WebhookAttempt.id)
    for attempt in (await session.execute(stmt)).scalars():
        found[attempt.delivery_seq].append(attempt)
    return found


async def get_delivery(
    session: AsyncSession, principal: Principal, message_id: str, *, lock: bool = False
) -> tuple[WebhookDelivery, WebhookEndpoint]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.message_id == message_id)
    if lock:
        stmt = stmt.with_for_update()
    delivery = (await session.execute(stmt)).scalar_one_or_none()
    if delivery is None:
        raise NotFound("No such delivery.")
    try:
        endpoint = await get_endpoint(session, principal, delivery.endpoint_id)
    except NotFound:
        raise NotFound("No such delivery.") from None
    return delivery, endpoint


def requeue(session: AsyncSession, delivery: WebhookDelivery, now: datetime) -> None:
    """Send again from the start of the schedule, with the same webhook-id."""
    session.info[DELIVERIES_ADDED] = True
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.finished_at = None
    delivery.lease_owner = None
    delivery.lease_until = None


async def replay_range(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    since: datetime,
    until: datetime,
    statuses: Sequence[str],
    now: datetime,
) -> int:
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.created_at >= since,
            WebhookDelivery.created_at < until,
            WebhookDelivery.status.in_(list(statuses)),
        )
        .order_by(WebhookDelivery.seq)
        .limit(MAX_REPLAY + 1)
        .with_for_update()
    )
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) > MAX_REPLAY:
        raise Conflict(f"More than {MAX_REPLAY} deliveries in that range; replay a shorter one.")
    for delivery in rows:
        requeue(session, delivery, now)
    return len(rows)


async def purge_finished(session: AsyncSession, before: datetime, limit: int = 1000) -> int:
    """Drop finished deliveries (and their attempts) older than the log's retention."""
    seqs = list(
        (
            await session.execute(
                select(WebhookDelivery.seq)
                .where(WebhookDelivery.status != PENDING, WebhookDelivery.finished_at < before)
                .limit(limit)
            )
        ).scalars()
    )
    if seqs:
        await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_seq.in_(seqs)))
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.seq.in_(seqs)))
    return len(seqs)
