from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from heemang_common.deps import SessionDep
from heemang_hotline import checkins as service
from heemang_hotline.api.checkin_schemas import (
    CheckinCreate,
    CheckinPage,
    CheckinRead,
    EnrolmentCreate,
    EnrolmentRead,
    ProgrammeCreate,
    ProgrammeRead,
)
from heemang_hotline.settings import Settings

router = APIRouter(tags=["check-ins"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


@router.post("/programmes", status_code=status.HTTP_201_CREATED, response_model=ProgrammeRead)
async def create_programme(body: ProgrammeCreate, session: SessionDep) -> ProgrammeRead:
    return ProgrammeRead.model_validate(await service.create_programme(session, body))


@router.get("/programmes", response_model=list[ProgrammeRead])
async def list_programmes(session: SessionDep) -> list[ProgrammeRead]:
    return [ProgrammeRead.model_validate(p) for p in await service.list_programmes(session)]


@router.post("/enrolments", status_code=status.HTTP_201_CREATED, response_model=EnrolmentRead)
async def enrol(body: EnrolmentCreate, session: SessionDep, request: Request) -> EnrolmentRead:
    return EnrolmentRead.model_validate(await service.enrol(session, body, _settings(request)))


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentRead)
async def read_enrolment(enrolment_id: uuid.UUID, session: SessionDep) -> EnrolmentRead:
    return EnrolmentRead.model_validate(await service.get_enrolment(session, enrolment_id))


@router.post(
    "/enrolments/{enrolment_id}/checkins", status_code=status.HTTP_201_CREATED, response_model=CheckinRead
)
async def record_checkin(
    enrolment_id: uuid.UUID, body: CheckinCreate, session: SessionDep, request: Request
) -> CheckinRead:
    slot = await service.record_checkin(session, enrolment_id, body, _settings(request))
    return CheckinRead.model_validate(slot)


@router.get("/enrolments/{enrolment_id}/checkins", response_model=CheckinPage)
async def checkin_history(enrolment_id: uuid.UUID, session: SessionDep) -> CheckinPage:
    return CheckinPage(
        items=[CheckinRead.model_validate(s) for s in await service.history(session, enrolment_id)]
    )
