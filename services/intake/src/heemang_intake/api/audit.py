"""접속기록 for intake's reads. Decision: a list writes one entry per record it returns
(action ``list``), not one entry naming many: each entry then carries the data subject's
household (정보주체), which is what an auditor or the person asks about ("who looked at my
record?"), and the gateway's log stays one record per entry."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.access_log import record_access
from heemang_common.auth import Principal
from heemang_common.events.audit import AccessAction
from heemang_intake.db.models import OutboxMessage

SERVICE = "intake"


def record(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    record_type: str,
    record_id: uuid.UUID,
    household_id: uuid.UUID | None,
    action: AccessAction = "read",
) -> None:
    record_access(
        session,
        OutboxMessage,
        request,
        principal,
        service=SERVICE,
        record_type=record_type,
        record_id=record_id,
        household_id=household_id,
        action=action,
    )


def record_list(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    record_type: str,
    records: Iterable[tuple[uuid.UUID, uuid.UUID | None]],
) -> None:
    """One ``list`` entry per (record id, household id) returned."""
    for record_id, household_id in records:
        record(session, request, principal, record_type, record_id, household_id, action="list")
