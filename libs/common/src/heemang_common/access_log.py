"""Recording reads of personal data (접속기록) from the service that serves them.

Call ``record_access`` in the request's transaction, before the response is built: the
entry is an outbox row of ``AccessRecorded``, so it commits with the request or not at all,
and reaches the gateway's hash-chained log even across broker outages.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Principal
from heemang_common.errors import Invalid
from heemang_common.events.audit import AccessAction, AccessRecorded, AccessRecordedData
from heemang_common.events.envelope import utcnow
from heemang_common.outbox import OutboxMixin, add_event

#: Header the gateway forwards with the purpose a user stated (수행업무), if any.
PURPOSE_HEADER = "X-Purpose"
#: Header carrying the reason for an export or download (required for those).
REASON_HEADER = "X-Export-Reason"
MAX_TEXT = 300


def client_address(request: Request) -> str:
    """The caller's address: the first hop the gateway recorded, else the socket peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def export_reason(request: Request) -> str:
    """The stated reason for a download of personal data; refused without one."""
    reason = request.headers.get(REASON_HEADER, "").strip()
    if not reason:
        raise Invalid(f"A download of personal data needs a reason in the {REASON_HEADER} header.")
    return reason[:MAX_TEXT]


def record_access(
    session: AsyncSession,
    outbox_model: type[OutboxMixin],
    request: Request,
    principal: Principal,
    *,
    service: str,
    record_type: str,
    record_id: uuid.UUID | str,
    household_id: uuid.UUID | None = None,
    action: AccessAction = "read",
    reason: str | None = None,
) -> None:
    route = request.scope.get("route")
    default_purpose = getattr(route, "summary", None) or f"{request.method} {request.url.path}"
    purpose = (request.headers.get(PURPOSE_HEADER) or default_purpose).strip()[:MAX_TEXT]
    data = AccessRecordedData(
        access_id=uuid.uuid4(),
        service=service,
        actor_id=principal.subject,
        actor_name=principal.username,
        actor_role=str(principal.role),
        action=action,
        record_type=record_type,
        record_id=str(record_id),
        household_id=household_id,
        purpose=purpose,
        reason=reason,
        client_address=client_address(request),
        occurred_at=utcnow(),
    )
    event = AccessRecorded.create(subject=str(record_id), data=data)
    add_event(session, outbox_model, event)
