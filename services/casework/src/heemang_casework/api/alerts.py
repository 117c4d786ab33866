"""Alerts on open cases and the case managers' work list."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request

from heemang_casework import access, service
from heemang_casework.api.schemas import AlertAcknowledge, AlertPage, AlertRead
from heemang_casework.db import repositories
from heemang_casework.db.models import Alert
from heemang_casework.domain.scope import Action
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import NotFound

router = APIRouter(tags=["alerts"])


def alert_read(alert: Alert, dong: str) -> AlertRead:
    return AlertRead.model_validate(
        {
            "id": alert.id,
            "case_id": alert.case_id,
            "household_id": alert.household_id,
            "dong": dong,
            "kind": alert.kind,
            "urgent": alert.urgent,
            "details": alert.details,
            "raised_at": alert.raised_at,
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
            "note": alert.note,
        }
    )


@router.get(
    "/cases/{case_id}/alerts",
    response_model=AlertPage,
    responses={404: {"description": "No such case, or not within your scope"}},
    summary="사례 경보 — alerts of a case",
)
async def list_case_alerts(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> AlertPage:
    """Every alert raised on the case, acknowledged or not, oldest first."""
    case = await access.case_for(session, principal, case_id)
    access.log_reads(session, request, principal, [case], record_type="case_alerts")
    rows = await service.case_alerts(session, case_id)
    return AlertPage(items=[alert_read(alert, dong) for alert, dong in rows])


@router.get("/alerts", response_model=AlertPage, summary="업무 목록 경보 — the work list's alerts")
async def work_list(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    open_only: bool = Query(
        True, alias="open", description="true: unacknowledged (the work list); false: acknowledged"
    ),
    dong: str | None = Query(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$"),
    limit: int = Query(100, ge=1, le=500),
) -> AlertPage:
    """The work list: alerts of open cases within the caller's scope, urgent first, then the
    oldest first. Each case shown is written to the access log."""
    viewer = access.require(principal, Action.read)
    rows = await service.work_list(session, viewer, open_only=open_only, dong=dong, limit=limit)
    shown = {alert.case_id: alert.household_id for alert, _ in rows}
    access.log_case_ids(session, request, principal, shown, action="list", record_type="case_alerts")
    return AlertPage(items=[alert_read(alert, dong_) for alert, dong_ in rows])


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertRead,
    responses={
        404: {"description": "No such alert, or not within your scope"},
        403: {"description": "Your role may not acknowledge alerts"},
        409: {"description": "Already acknowledged"},
    },
    summary="경보 확인 — acknowledge an alert",
)
async def acknowledge_alert(
    alert_id: uuid.UUID, body: AlertAcknowledge, session: SessionDep, principal: PrincipalDep
) -> AlertRead:
    """Take the alert off the work list; a timeline entry on the case keeps the note."""
    found = await repositories.get_alert(session, alert_id)
    if found is None:
        raise NotFound(f"alert {alert_id} not found")
    try:
        await access.case_for(session, principal, found.case_id, Action.acknowledge)
    except NotFound:
        raise NotFound(f"alert {alert_id} not found") from None
    alert, dong = await service.acknowledge_alert(session, alert_id, note=body.note, actor=principal.subject)
    return alert_read(alert, dong)
