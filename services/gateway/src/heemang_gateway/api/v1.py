"""The one API for web and mobile frontends: /api/v1/... routed to the services."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from heemang_gateway.deps import UpstreamsDep, signed_in

# Every route needs a live session; the services check role and scope again themselves.
router = APIRouter(prefix="/api/v1", dependencies=[Depends(signed_in)])


@router.post("/referrals", tags=["referrals"], status_code=201)
async def create_referral(
    request: Request, upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)
) -> Response:
    return await upstreams.relay("intake", "POST", "/referrals", json=body, request=request)


@router.get("/referrals/{referral_id}", tags=["referrals"])
async def read_referral(request: Request, referral_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("intake", "GET", f"/referrals/{referral_id}", request=request)


@router.get("/cases", tags=["cases"])
async def list_cases(
    request: Request,
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
    return await upstreams.relay("casework", "GET", "/cases", params=params, request=request)


@router.get("/cases/{case_id}", tags=["cases"])
async def read_case(request: Request, case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}", request=request)


@router.post("/cases/{case_id}/transitions", tags=["cases"])
async def transition_case(
    request: Request, case_id: uuid.UUID, upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)
) -> Response:
    return await upstreams.relay(
        "casework", "POST", f"/cases/{case_id}/transitions", json=body, request=request
    )


@router.get("/cases/{case_id}/timeline", tags=["cases"])
async def read_case_timeline(request: Request, case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}/timeline", request=request)


@router.get("/cases/{case_id}/alerts", tags=["alerts"])
async def read_case_alerts(request: Request, case_id: uuid.UUID, upstreams: UpstreamsDep) -> Response:
    return await upstreams.relay("casework", "GET", f"/cases/{case_id}/alerts", request=request)


@router.get("/alerts", tags=["alerts"])
async def list_alerts(
    request: Request,
    upstreams: UpstreamsDep,
    open_only: bool = Query(True, alias="open"),
    dong: str | None = Query(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$"),
    limit: int = Query(100, ge=1, le=500),
) -> Response:
    params: dict[str, Any] = {"open": "true" if open_only else "false", "limit": limit}
    if dong:
        params["dong"] = dong
    return await upstreams.relay("casework", "GET", "/alerts", params=params, request=request)


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"])
async def acknowledge_alert(
    request: Request, alert_id: uuid.UUID, upstreams: UpstreamsDep, body: dict[str, Any] = Body(...)
) -> Response:
    return await upstreams.relay(
        "casework", "POST", f"/alerts/{alert_id}/acknowledge", json=body, request=request
    )
