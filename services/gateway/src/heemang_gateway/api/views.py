"""Aggregated reads: the household view and the user's work list.

Parts are fetched concurrently, each with its own timeout, with the caller's token: every
service applies its own scope, so a part the caller may not see comes back "forbidden" and
is left out. When a service is down the view still answers with what it has and names what
is missing.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from heemang_common.errors import UpstreamUnavailable
from heemang_gateway.deps import CallerDep, UpstreamsDep, signed_in
from heemang_gateway.live import LiveHub
from heemang_gateway.upstream import Upstreams

router = APIRouter(prefix="/api/v1", tags=["views"], dependencies=[Depends(signed_in)])


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str  # may hold {household_id}
    params: tuple[tuple[str, str], ...] = ()


HOUSEHOLD_PARTS = (
    Part("profile", "intake", "/households/{household_id}"),
    Part("referrals", "intake", "/referrals", (("household_id", "{household_id}"),)),
    Part("cases", "casework", "/cases", (("household_id", "{household_id}"),)),
    Part("support", "resources", "/households/{household_id}/support"),
    Part("consultations", "hotline", "/consultations", (("household_id", "{household_id}"),)),
    Part("checkins", "hotline", "/enrolments", (("household_id", "{household_id}"),)),
)

WORKLIST_PARTS = (
    Part("referrals_to_triage", "intake", "/referrals", (("status", "received"),)),
    Part("alerts", "casework", "/alerts", (("open", "true"),)),
    Part("case_work", "casework", "/worklist"),
)


class MissingPart(BaseModel):
    part: str
    service: str
    reason: Literal["unavailable", "timeout", "forbidden", "error"]
    status: int | None = Field(None, description="The service's HTTP status, when it answered")


class Aggregate(BaseModel):
    complete: bool = Field(description="False when a part is missing (see 'missing')")
    parts: dict[str, Any] = Field(description="Each part as its service returned it")
    missing: list[MissingPart]


class HouseholdView(Aggregate):
    household_id: uuid.UUID


async def _fetch(
    upstreams: Upstreams, request: Request, part: Part, values: dict[str, str]
) -> tuple[Part, int | None, Any]:
    path = part.path.format(**values)
    params = [(key, value.format(**values)) for key, value in part.params]
    try:
        response = await upstreams.call(
            part.service,
            "GET",
            path,
            request=request,
            params=params,
            timeout_s=request.app.state.view_part_timeout_s,
        )
    except UpstreamUnavailable as exc:
        return part, None, "timeout" if "Timeout" in exc.detail else "unavailable"
    try:
        body = response.json()
    except ValueError:
        body = None
    return part, response.status_code, body


async def gather(
    upstreams: Upstreams, request: Request, parts: tuple[Part, ...], values: dict[str, str]
) -> tuple[dict[str, Any], list[MissingPart], dict[str, tuple[int | None, Any]]]:
    results = await asyncio.gather(*(_fetch(upstreams, request, part, values) for part in parts))
    found: dict[str, Any] = {}
    missing: list[MissingPart] = []
    raw: dict[str, tuple[int | None, Any]] = {}
    for part, status, body in results:
        raw[part.name] = (status, body)
        if status is not None and status < 300:
            found[part.name] = body
        elif status is None:
            missing.append(MissingPart(part=part.name, service=part.service, reason=body))
        elif status in (401, 403):
            missing.append(
                MissingPart(part=part.name, service=part.service, reason="forbidden", status=status)
            )
        else:
            missing.append(MissingPart(part=part.name, service=part.service, reason="error", status=status))
    return found, missing, raw


@router.get(
    "/households/{household_id}/view",
    response_model=HouseholdView,
    summary="Everything about one household, from every service (세대 통합 조회)",
    responses={404: {"description": "No such household (or not in your scope)"}},
)
async def household_view(household_id: uuid.UUID, request: Request, upstreams: UpstreamsDep) -> Any:
    found, missing, raw = await gather(
        upstreams, request, HOUSEHOLD_PARTS, {"household_id": str(household_id)}
    )
    status, body = raw["profile"]
    if status in (401, 403, 404):
        # The register says no: the other parts must not be shown around it.
        return JSONResponse(body, status_code=status, media_type="application/problem+json")
    return HouseholdView(household_id=household_id, complete=not missing, parts=found, missing=missing)


@router.get(
    "/worklist", response_model=Aggregate, summary="My work list: triage, alerts, monitoring, follow-ups"
)
async def worklist(request: Request, upstreams: UpstreamsDep) -> Aggregate:
    found, missing, _ = await gather(upstreams, request, WORKLIST_PARTS, {})
    return Aggregate(complete=not missing, parts=found, missing=missing)


@router.get(
    "/stream",
    summary="Live events within my scope (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An SSE stream; resume with Last-Event-ID"}
    },
)
async def stream(
    request: Request,
    caller: CallerDep,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
) -> StreamingResponse:
    hub: LiveHub = request.app.state.live_hub
    frames = hub.stream(
        caller,
        last_seen=last_event_id,
        heartbeat_s=request.app.state.live_heartbeat_s,
        lifetime_s=request.app.state.live_lifetime_s,
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
