"""Public endpoints: no token. The red postbox (빨간우체통) takes anonymous reports from
residents; it asks nothing about the reporter, echoes nothing of the report, and is
rate-limited per client address."""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request, Response, status

from heemang_common.access_log import client_address
from heemang_common.deps import SessionDep
from heemang_intake import service
from heemang_intake.api.schemas import RedPostboxReceipt, RedPostboxReport
from heemang_intake.deps import RegisterDep
from heemang_intake.domain.errors import TooManyRequests
from heemang_intake.domain.ratelimit import TokenBuckets

router = APIRouter(prefix="/public", tags=["public"])


@router.post(
    "/red-postbox",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RedPostboxReceipt,
    summary="Anonymous report to the red postbox (빨간우체통 신고); answers only a receipt number",
    responses={
        422: {"description": "Invalid input (unknown 동, empty report)"},
        429: {"description": "Too many reports from this address; retry after `Retry-After` seconds"},
    },
)
async def red_postbox(
    body: RedPostboxReport, session: SessionDep, ctx: RegisterDep, request: Request, response: Response
) -> RedPostboxReceipt:
    buckets: TokenBuckets = request.app.state.red_postbox_limit
    wait = buckets.take(client_address(request), time.monotonic())
    if wait > 0:
        raise TooManyRequests(
            "Too many reports from your address; please wait and try again.", retry_after=math.ceil(wait)
        )
    referral = await service.red_postbox(session, ctx, body)
    response.headers["Cache-Control"] = "no-store"
    assert referral.receipt_no is not None
    return RedPostboxReceipt(receipt_no=referral.receipt_no, received_at=referral.received_at)
