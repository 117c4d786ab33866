"""Corporate agreements (기업 협약): in-kind service offers and their uses for households."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid
from heemang_common.events.envelope import utcnow
from heemang_resources.api.common import MANAGERS, READERS, IdempotencyKeyHeader, idempotent
from heemang_resources.api.schemas import AgreementCreate, AgreementRead, AgreementUseCreate, AgreementUseRead
from heemang_resources.db.models import CorporateAgreement
from heemang_resources.service import agreements, donations

router = APIRouter(prefix="/agreements", tags=["agreements"])


@router.post(
    "", response_model=AgreementRead, status_code=201, summary="기업 협약 등록 (corporate agreement)"
)
async def create(body: AgreementCreate, session: SessionDep, principal: PrincipalDep) -> AgreementRead:
    principal.require_role(*MANAGERS)
    donor = await donations.get_donor(session, body.donor_id)
    if donor.kind != "company":
        raise Invalid("an agreement is made with a company donor")
    if body.ends_on < body.starts_on:
        raise Invalid("the agreement ends before it starts")
    row = CorporateAgreement(id=uuid.uuid4(), created_at=utcnow(), **body.model_dump())
    session.add(row)
    await session.flush()
    return AgreementRead.model_validate(row)


@router.get("", response_model=list[AgreementRead], summary="기업 협약 목록 (agreements)")
async def list_agreements(session: SessionDep, principal: PrincipalDep) -> list[AgreementRead]:
    principal.require_role(*READERS)
    rows = await session.scalars(select(CorporateAgreement).order_by(CorporateAgreement.starts_on).limit(500))
    return [AgreementRead.model_validate(r) for r in rows]


@router.post(
    "/{agreement_id}/uses",
    response_model=AgreementUseRead,
    status_code=201,
    summary="협약 서비스 연계 (use for a household)",
    responses={409: {"description": "The year's uses are used up"}},
)
async def use(
    agreement_id: uuid.UUID,
    body: AgreementUseCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)
    principal.require_dong(body.dong)

    async def work(token: uuid.UUID) -> AgreementUseRead:
        row = await agreements.use(
            session,
            agreement_id,
            household_id=body.household_id,
            dong=body.dong,
            used_on=body.used_on,
            actor=principal.subject,
            token=token,
        )
        return AgreementUseRead.model_validate(row)

    return await idempotent(request, session, principal, idempotency_key, body, work)
