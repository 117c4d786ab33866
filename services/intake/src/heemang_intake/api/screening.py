"""Emergency-welfare screening (긴급복지 선정기준 검토) and care SOS eligibility."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from heemang_common.deps import SessionDep
from heemang_intake import screening_service, service
from heemang_intake.api import audit
from heemang_intake.api.schemas import CheckRequest, ScreeningRead, ScreeningRequest
from heemang_intake.deps import PrincipalDep
from heemang_intake.domain import access

router = APIRouter(tags=["screening"])

_SCOPE: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Role or 동 scope does not allow it"},
    404: {"description": "Not found (restricted referrals are not found without the clearance)"},
    422: {"description": "Invalid input (negative amounts) or no policy in force on the date"},
}


@router.post(
    "/referrals/{referral_id}/screening",
    response_model=ScreeningRead,
    summary="Screen a referral's household (긴급복지 국가형·서울형, 돌봄SOS), explained line by line",
    responses=_SCOPE,
)
async def screen_referral(
    referral_id: uuid.UUID,
    body: ScreeningRequest,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
) -> ScreeningRead:
    principal.require_role(*access.REGISTER_ROLES)
    referral = await service.referral_for(session, principal, referral_id)
    result = await screening_service.screen_referral(session, referral, body)
    audit.record(session, request, principal, "household", referral.household_id, referral.household_id)
    return result


@router.post(
    "/screening/check",
    response_model=ScreeningRead,
    summary="Check eligibility from figures alone (긴급복지 모의 판정); nothing is stored",
    responses=_SCOPE,
)
async def check(body: CheckRequest, principal: PrincipalDep) -> ScreeningRead:
    principal.require_role(*access.REGISTER_ROLES, *access.REFERRING_ROLES)
    data = ScreeningRequest.model_validate(body.model_dump(exclude={"on"}), strict=False)
    return screening_service.check(data, body.on)
