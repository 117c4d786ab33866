"""Alerts on open cases and the case managers' work list."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from heemang_casework import service
from heemang_casework.api.schemas import AlertAcknowledge, AlertPage, AlertRead
from heemang_casework.db.models import Alert
from heemang_common.deps import SessionDep

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
    "/cases/{case_id}/alerts", response_model=AlertPage, responses={404: {"description": "No such case"}}
)
async def list_case_alerts(case_id: uuid.UUID, session: SessionDep) -> AlertPage:
    """Every alert raised on the case, acknowledged or not, oldest first."""
    rows = await service.case_alerts(session, case_id)
    return AlertPage(items=[alert_read(alert, dong) for alert, dong in rows])


@router.get("/alerts", response_model=AlertPage)
async def work_list(
    session: SessionDep,
    open_only: bool = Query(
        True, alias="open", description="true: unacknowledged (the work list); false: acknowledged"
    ),
    dong: str | None = Query(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$"),
    limit: int = Query(100, ge=1, le=500),
) -> AlertPage:
    """The work list: alerts of open cases, urgent first, then the oldest first."""
    rows = await service.work_list(session, open_only=open_only, dong=dong, limit=limit)
    return AlertPage(items=[alert_read(alert, dong_) for alert, dong_ in rows])


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertRead,
    responses={404: {"description": "No such alert"}, 409: {"description": "Already acknowledged"}},
)
async def acknowledge_alert(alert_id: uuid.UUID, body: AlertAcknowledge, session: SessionDep) -> AlertRead:
    """Take the alert off the work list; a timeline entry on the case keeps the note."""
    alert, dong = await service.acknowledge_alert(session, alert_id, note=body.note)
    return alert_read(alert, dong)
