"""Who may call the hotline's routes, what they see, and the access log of personal reads.

Hotline staff (counsellors, supervisors, district admins) work the whole district; 동
officers and case managers read what lies in their 동; nobody else (partners, resource
officers, auditors) reads the call centre's records here.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.access_log import record_access
from heemang_common.auth import Principal, Role, require_roles
from heemang_common.errors import Invalid
from heemang_common.events.audit import AccessAction
from heemang_hotline.db.models import OutboxMessage

#: Roles that run the call centre: log consultations, enrol, send.
HOTLINE_STAFF = (Role.HOTLINE_COUNSELLOR, Role.SUPERVISOR, Role.DISTRICT_ADMIN)
#: Roles that may also read, within their 동.
READERS = (*HOTLINE_STAFF, Role.DONG_OFFICER, Role.CASE_MANAGER)
#: Roles that configure programmes and run campaigns.
MANAGERS = (Role.SUPERVISOR, Role.DISTRICT_ADMIN)
#: Roles that set do-not-contact (intake at the 동 and casework) and the call centre's leads.
PROTECTORS = (Role.DONG_OFFICER, Role.CASE_MANAGER, Role.SUPERVISOR, Role.DISTRICT_ADMIN)

StaffDep = Annotated[Principal, require_roles(*HOTLINE_STAFF)]
ReaderDep = Annotated[Principal, require_roles(*READERS)]
ManagerDep = Annotated[Principal, require_roles(*MANAGERS)]
ProtectorDep = Annotated[Principal, require_roles(*PROTECTORS)]


def dong_scope(principal: Principal) -> frozenset[str] | None:
    """The 동 a caller may read (None: the whole district)."""
    return None if principal.district_wide or principal.role in HOTLINE_STAFF else principal.dongs


def require_in_scope(principal: Principal, dong: str | None) -> None:
    if dong_scope(principal) is not None:
        principal.require_dong(dong)


def log_read(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    *,
    record_type: str,
    record_id: uuid.UUID,
    household_id: uuid.UUID | None,
    action: AccessAction = "read",
) -> None:
    """One access-log entry per personal record served (접속기록)."""
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service="hotline",
        record_type=record_type,
        record_id=record_id,
        household_id=household_id,
        action=action,
    )


def encode_cursor(at: datetime, item_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(item_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, item_id = json.loads(raw)
        return datetime.fromisoformat(at), uuid.UUID(item_id)
    except (binascii.Error, ValueError, TypeError):
        raise Invalid("the cursor is not one this API returned") from None
