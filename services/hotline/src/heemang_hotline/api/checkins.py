from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, status

from heemang_common.deps import SessionDep
from heemang_common.events.envelope import utcnow
from heemang_hotline import checkins as service
from heemang_hotline import scheduler
from heemang_hotline.api.access import (
    ManagerDep,
    ReaderDep,
    StaffDep,
    decode_cursor,
    dong_scope,
    encode_cursor,
    log_read,
    require_in_scope,
)
from heemang_hotline.api.checkin_schemas import (
    CallPage,
    CallRead,
    CheckinCreate,
    CheckinPage,
    CheckinRead,
    ContactSet,
    EnrolmentCreate,
    EnrolmentPage,
    EnrolmentRead,
    ProgrammeCreate,
    ProgrammeRead,
)
from heemang_hotline.crypto import ContactProtector
from heemang_hotline.db.models import Enrolment
from heemang_hotline.settings import Settings

router = APIRouter(tags=["check-ins"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


def _protector(request: Request) -> ContactProtector:
    protector: ContactProtector = request.app.state.runtime.extras["contacts"]
    return protector


def _read(enrolment: Enrolment, protector: ContactProtector) -> EnrolmentRead:
    return EnrolmentRead(
        id=enrolment.id,
        programme_id=enrolment.programme_id,
        household_id=enrolment.household_id,
        person_id=enrolment.person_id,
        dong=enrolment.dong,
        weekday=enrolment.weekday,
        window_start=enrolment.window_start,
        window_end=enrolment.window_end,
        active=enrolment.active,
        source=enrolment.source,
        enrolled_at=enrolment.enrolled_at,
        phone_masked=service.masked_phone(enrolment, protector),
        needs_contact_number=enrolment.phone_enc is None,
    )


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
    enrolment = await service.enrol(session, body, _settings(request), _protector(request))
    await scheduler.plan_enrolment(session, enrolment, _settings(request), utcnow())
    return _read(enrolment, _protector(request))


@router.get(
    "/enrolments", response_model=EnrolmentPage, summary="안부확인 대상 목록: enrolments, newest first"
)
async def list_enrolments(
    session: SessionDep,
    request: Request,
    principal: ReaderDep,
    programme_id: uuid.UUID | None = Query(None, description="Only this programme"),
    needs_contact_number: bool | None = Query(None, description="true: the counsellors' work list"),
    household_id: uuid.UUID | None = Query(None, description="Only this household's enrolments"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> EnrolmentPage:
    items = await service.list_enrolments(
        session,
        programme_id=programme_id,
        needs_contact=needs_contact_number,
        dongs=dong_scope(principal),
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
        household_id=household_id,
    )
    page, more = items[:limit], len(items) > limit
    for item in page:
        log_read(
            session,
            request,
            principal,
            record_type="checkin_enrolment",
            record_id=item.id,
            household_id=item.household_id,
            action="list",
        )
    return EnrolmentPage(
        items=[_read(e, _protector(request)) for e in page],
        next_cursor=encode_cursor(page[-1].enrolled_at, page[-1].id) if more else None,
    )


@router.put(
    "/enrolments/{enrolment_id}/contact",
    response_model=EnrolmentRead,
    summary="연락처 등록: give an enrolment its contact number",
)
async def set_contact(
    enrolment_id: uuid.UUID, body: ContactSet, session: SessionDep, request: Request, principal: StaffDep
) -> EnrolmentRead:
    enrolment = await service.set_contact(session, enrolment_id, body.phone, _protector(request))
    await scheduler.plan_enrolment(session, enrolment, _settings(request), utcnow())
    return _read(enrolment, _protector(request))


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
    return _read(enrolment, _protector(request))


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


@router.get(
    "/enrolments/{enrolment_id}/calls",
    response_model=CallPage,
    summary="자동 안부확인 일정: the scheduler's slots (attempts, skipped, refused)",
)
async def scheduled_calls(
    enrolment_id: uuid.UUID, session: SessionDep, request: Request, principal: ReaderDep
) -> CallPage:
    enrolment = await service.get_enrolment(session, enrolment_id)
    require_in_scope(principal, enrolment.dong)
    log_read(
        session,
        request,
        principal,
        record_type="checkin_calls",
        record_id=enrolment.id,
        household_id=enrolment.household_id,
    )
    return CallPage(items=[CallRead.model_validate(c) for c in await service.calls(session, enrolment_id)])
