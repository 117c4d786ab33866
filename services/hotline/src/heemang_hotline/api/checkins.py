from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from heemang_common.deps import SessionDep
from heemang_hotline import checkins as service
from heemang_hotline.api.access import ManagerDep, ReaderDep, StaffDep, log_read, require_in_scope
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


@router.post(
    "/programmes",
    status_code=status.HTTP_201_CREATED,
    response_model=ProgrammeRead,
    summary="안부확인 사업 등록: define a check-in programme",
)
async def create_programme(
    body: ProgrammeCreate, session: SessionDep, principal: ManagerDep
) -> ProgrammeRead:
    return ProgrammeRead.model_validate(await service.create_programme(session, body))


@router.get("/programmes", response_model=list[ProgrammeRead], summary="안부확인 사업 목록")
async def list_programmes(session: SessionDep, principal: ReaderDep) -> list[ProgrammeRead]:
    return [ProgrammeRead.model_validate(p) for p in await service.list_programmes(session)]


@router.post(
    "/enrolments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentRead,
    summary="안부확인 대상 등록: enrol a household",
)
async def enrol(
    body: EnrolmentCreate, session: SessionDep, request: Request, principal: StaffDep
) -> EnrolmentRead:
    enrolment = await service.enrol(session, body, _settings(request))
    return EnrolmentRead.model_validate(enrolment)


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentRead, summary="안부확인 대상 조회")
async def read_enrolment(
    enrolment_id: uuid.UUID, session: SessionDep, request: Request, principal: ReaderDep
) -> EnrolmentRead:
    enrolment = await service.get_enrolment(session, enrolment_id)
    require_in_scope(principal, enrolment.dong)
    log_read(
        session,
        request,
        principal,
        record_type="checkin_enrolment",
        record_id=enrolment.id,
        household_id=enrolment.household_id,
    )
    return EnrolmentRead.model_validate(enrolment)


@router.post(
    "/enrolments/{enrolment_id}/checkins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckinRead,
    summary="안부확인 결과 기록: record a check-in's outcome",
)
async def record_checkin(
    enrolment_id: uuid.UUID, body: CheckinCreate, session: SessionDep, request: Request, principal: StaffDep
) -> CheckinRead:
    slot = await service.record_checkin(session, enrolment_id, body, _settings(request))
    return CheckinRead.model_validate(slot)


@router.get(
    "/enrolments/{enrolment_id}/checkins",
    response_model=CheckinPage,
    summary="안부확인 이력: check-in history",
)
async def checkin_history(
    enrolment_id: uuid.UUID, session: SessionDep, request: Request, principal: ReaderDep
) -> CheckinPage:
    enrolment = await service.get_enrolment(session, enrolment_id)
    require_in_scope(principal, enrolment.dong)
    log_read(
        session,
        request,
        principal,
        record_type="checkin_history",
        record_id=enrolment.id,
        household_id=enrolment.household_id,
    )
    return CheckinPage(
        items=[CheckinRead.model_validate(s) for s in await service.history(session, enrolment_id)]
    )
