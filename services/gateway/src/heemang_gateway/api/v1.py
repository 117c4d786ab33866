"""The one API for web and mobile frontends: /api/v1/... routed to the services."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Query, Response

from heemang_gateway.deps import UpstreamsDep

router = APIRouter(prefix="/api/v1")


@router.post("/referrals", tags=["referrals"], status_code=201)
async def create_referral(upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)) -> Response:
    return await upstreams.relay("intake", "POST", "/referrals", json=body)


@router.get("/referrals/{referral_id}", tags=["referrals"])
async def read_referral(referral_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("intake", "GET", f"/referrals/{referral_id}")


@router.get("/cases", tags=["cases"])
async def list_cases(
    upstreams: UpstreamsDep,
    household_id: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> Response:
    params: dict[str, Any] = {"limit": limit}
    if household_id:
        params["household_id"] = str(household_id)
    if referral_id:
        params["referral_id"] = str(referral_id)
    return await upstreams.relay("casework", "GET", "/cases", params=params)


@router.get("/cases/{case_id}", tags=["cases"])
async def read_case(case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}")


@router.post("/cases/{case_id}/transitions", tags=["cases"])
async def transition_case(
    case_id: uuid.UUID, upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)
) -> Response:
    return await upstreams.relay("casework", "POST", f"/cases/{case_id}/transitions", json=body)


@router.get("/cases/{case_id}/timeline", tags=["cases"])
async def read_case_timeline(case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}/timeline")


@router.get("/cases/{case_id}/alerts", tags=["alerts"])
async def read_case_alerts(case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}/alerts")


@router.get("/alerts", tags=["alerts"])
async def list_alerts(
    upstreams: UpstreamsDep,
    open_only: bool = Query(True, alias="open"),
    dong: str | None = Query(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$"),
    limit: int = Query(100, ge=1, le=500),
) -> Response:
    params: dict[str, Any] = {"open": "true" if open_only else "false", "limit": limit}
    if dong:
        params["dong"] = dong
    return await upstreams.relay("casework", "GET", "/alerts", params=params)


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"])
async def acknowledge_alert(
    alert_id: uuid.UUID, upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)
) -> Response:
    return await upstreams.relay("casework", "POST", f"/alerts/{alert_id}/acknowledge", json=body)
