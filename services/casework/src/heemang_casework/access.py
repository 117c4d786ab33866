"""Applying the scope rules (domain/scope.py) to requests: who the caller is, which case they
may touch, and the access-log entry (접속기록) every read of a case writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework.db import repositories
from heemang_casework.db.models import Case, OutboxMessage
from heemang_casework.domain.scope import Action, CaseScope, Role, Viewer, can_read, may
from heemang_common.access_log import record_access
from heemang_common.auth import Clearance, Principal
from heemang_common.errors import Forbidden, NotFound
from heemang_common.events.audit import AccessAction

SERVICE = "casework"


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        subject=principal.subject,
        role=Role(str(principal.role)),
        dongs=frozenset(principal.dongs),
        agency_id=principal.agency_id,
        restricted_clearance=principal.has(Clearance.RESTRICTED),
    )


def require(principal: Principal, action: Action) -> Viewer:
    """The caller as a Viewer, or 403 when the role may not take ``action`` at all."""
    viewer = viewer_of(principal)
    if not may(viewer, action):
        raise Forbidden(f"Your role may not {action.value} cases.", action=action.value)
    return viewer


async def scope_of(session: AsyncSession, case: Case) -> CaseScope:
    agencies = await repositories.case_agency_ids(session, case.id)
    return CaseScope(
        dong=case.dong,
        case_manager_id=case.case_manager_id,
        agencies=frozenset(agencies),
        restricted=case.restricted,
    )


async def case_for(
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    action: Action = Action.read,
    *,
    for_update: bool = False,
) -> Case:
    """The case if the caller may take ``action`` on it: 404 when it is unknown *or outside
    the caller's scope* (its existence is not disclosed), 403 when the role may not act."""
    viewer = viewer_of(principal)
    if for_update:
        case = await repositories.get_case_for_update(session, case_id)
    else:
        case = await repositories.get_case(session, case_id)
    if case is None or not can_read(viewer, await scope_of(session, case)):
        raise NotFound(f"case {case_id} not found")
    if not may(viewer, action):
        raise Forbidden(f"Your role may not {action.value} this case.", action=action.value)
    return case


def log_reads(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    cases: Iterable[Case],
    *,
    action: AccessAction = "read",
    record_type: str = "case",
    reason: str | None = None,
) -> None:
    """One access-log entry per case served (the data subject is the case's household)."""
    shown = {case.id: case.household_id for case in cases}
    log_case_ids(session, request, principal, shown, action=action, record_type=record_type, reason=reason)


def log_case_ids(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    cases: dict[uuid.UUID, uuid.UUID],
    *,
    action: AccessAction = "read",
    record_type: str = "case",
    reason: str | None = None,
) -> None:
    """``cases`` maps case id → household id."""
    for case_id, household_id in cases.items():
        record_access(
            session,
            OutboxMessage,
            request,
            principal,
            service=SERVICE,
            record_type=record_type,
            record_id=case_id,
            household_id=household_id,
            action=action,
            reason=reason,
        )
