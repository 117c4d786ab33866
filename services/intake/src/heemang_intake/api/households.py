"""The household register. Every response masks names, RRNs, phones and addresses with
the common policy; the RRN is accepted only in request bodies (never a query string, which
access logs record) and is never echoed, not even in an error."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from heemang_common.deps import SessionDep
from heemang_intake import household_service as service
from heemang_intake.api.schemas import (
    HouseholdChangeRead,
    HouseholdCreate,
    HouseholdHistory,
    HouseholdRead,
    HouseholdUpdate,
    RrnLookup,
)
from heemang_intake.deps import ActorDep, RegisterDep

router = APIRouter(prefix="/households", tags=["households"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    summary="Register a household and its members (세대 등록)",
    responses={
        409: {"description": "A member's RRN is already registered"},
        422: {"description": "Invalid input (RRN, 동, members); nothing is stored"},
    },
)
async def register_household(body: HouseholdCreate, session: SessionDep, ctx: RegisterDep) -> HouseholdRead:
    household = await service.register_household(session, ctx, body)
    return await service.read_household(session, ctx, household.id)


@router.post(
    "/lookup",
    response_model=HouseholdRead,
    summary="Find the household of a person by RRN (through the keyed hash)",
    responses={404: {"description": "No person with this RRN is registered"}},
)
async def lookup_household(body: RrnLookup, session: SessionDep, ctx: RegisterDep) -> HouseholdRead:
    return await service.lookup_by_rrn(session, ctx, body.rrn.get_secret_value())


@router.get("/{household_id}", response_model=HouseholdRead, summary="Read a household (masked)")
async def read_household(household_id: uuid.UUID, session: SessionDep, ctx: RegisterDep) -> HouseholdRead:
    return await service.read_household(session, ctx, household_id)


@router.patch(
    "/{household_id}",
    response_model=HouseholdRead,
    summary="Change a household; every changed field is recorded in its history",
)
async def update_household(
    household_id: uuid.UUID, body: HouseholdUpdate, session: SessionDep, ctx: RegisterDep, actor: ActorDep
) -> HouseholdRead:
    await service.update_household(session, ctx, household_id, body, actor)
    return await service.read_household(session, ctx, household_id)


@router.get(
    "/{household_id}/history",
    response_model=HouseholdHistory,
    summary="Who changed what, when (personal values masked)",
)
async def household_history(household_id: uuid.UUID, session: SessionDep) -> HouseholdHistory:
    changes = await service.history(session, household_id)
    return HouseholdHistory(
        household_id=household_id, items=[HouseholdChangeRead.model_validate(c) for c in changes]
    )
