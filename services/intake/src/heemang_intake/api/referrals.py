from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from heemang_common.deps import SessionDep
from heemang_intake import service
from heemang_intake.api.schemas import ReferralCreate, ReferralRead

router = APIRouter(prefix="/referrals", tags=["referrals"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralRead)
async def create_referral(body: ReferralCreate, session: SessionDep) -> ReferralRead:
    referral = await service.receive_referral(session, body)
    return ReferralRead.model_validate(referral)


@router.get("/{referral_id}", response_model=ReferralRead)
async def read_referral(referral_id: uuid.UUID, session: SessionDep) -> ReferralRead:
    return ReferralRead.model_validate(await service.get_referral(session, referral_id))
