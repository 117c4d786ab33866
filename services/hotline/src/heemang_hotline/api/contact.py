from __future__ import annotations

import uuid
from enum import StrEnum

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from heemang_common.auth import Clearance
from heemang_common.deps import SessionDep
from heemang_common.types import IsoDateTime
from heemang_hotline import contact as service
from heemang_hotline.api.access import (
    ManagerDep,
    ProtectorDep,
    ReaderDep,
    decode_cursor,
    encode_cursor,
    require_in_scope,
)

router = APIRouter(tags=["do-not-contact"])


class SubjectKind(StrEnum):
    household = "household"
    person = "person"


class DncReason(StrEnum):
    domestic_violence = "domestic_violence"  # e.g. a victim on a phone the abuser can see
    shared_phone = "shared_phone"
    person_asked = "person_asked"
    other = "other"


class DncSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dong: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,20}$", description="The subject's 동 (scope)")
    reason: DncReason = Field(description="A coded reason; free text stays in the case file")


class DncRead(BaseModel):
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    active: bool
    dong: str | None
    reason: str | None = Field(description="Shown only with the restricted clearance")
    set_at: IsoDateTime | None
    lifted_at: IsoDateTime | None


class RefusalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: IsoDateTime
    channel: str
    reference_id: uuid.UUID
    household_id: uuid.UUID | None
    person_id: uuid.UUID | None
    reason: str


class RefusalPage(BaseModel):
    items: list[RefusalRead]
    next_cursor: str | None


def _read(flag: service.DoNotContact, show_reason: bool) -> DncRead:
    return DncRead(
        subject_kind=SubjectKind(flag.subject_kind),
        subject_id=flag.subject_id,
        active=flag.active,
        dong=flag.dong,
        reason=flag.reason if show_reason else None,
        set_at=flag.set_at,
        lifted_at=flag.lifted_at,
    )


@router.put(
    "/do-not-contact/{subject_kind}/{subject_id}",
    response_model=DncRead,
    summary="연락금지 설정: flag a person or household do-not-contact",
)
async def set_flag(
    subject_kind: SubjectKind,
    subject_id: uuid.UUID,
    body: DncSet,
    session: SessionDep,
    principal: ProtectorDep,
) -> DncRead:
    require_in_scope(principal, body.dong)
    flag = await service.set_flag(
        session,
        subject_kind.value,
        subject_id,
        dong=body.dong,
        reason=body.reason.value,
        by=principal.subject,
    )
    return _read(flag, show_reason=True)


@router.delete(
    "/do-not-contact/{subject_kind}/{subject_id}",
    response_model=DncRead,
    summary="연락금지 해제: lift the flag",
)
async def lift_flag(
    subject_kind: SubjectKind, subject_id: uuid.UUID, session: SessionDep, principal: ProtectorDep
) -> DncRead:
    existing = await service.get_flag(session, subject_kind.value, subject_id)
    require_in_scope(principal, existing.dong if existing else None)
    flag = await service.lift_flag(session, subject_kind.value, subject_id, by=principal.subject)
    return _read(flag, show_reason=True)


@router.get(
    "/do-not-contact/{subject_kind}/{subject_id}",
    response_model=DncRead,
    summary="연락금지 조회: whether a subject may be contacted",
)
async def read_flag(
    subject_kind: SubjectKind, subject_id: uuid.UUID, session: SessionDep, principal: ReaderDep
) -> DncRead:
    flag = await service.get_flag(session, subject_kind.value, subject_id)
    if flag is None:
        return DncRead(
            subject_kind=subject_kind,
            subject_id=subject_id,
            active=False,
            dong=None,
            reason=None,
            set_at=None,
            lifted_at=None,
        )
    require_in_scope(principal, flag.dong)
    return _read(flag, show_reason=principal.has(Clearance.RESTRICTED))


@router.get(
    "/contact-refusals",
    response_model=RefusalPage,
    status_code=status.HTTP_200_OK,
    summary="발송 거부 기록: sends refused before reaching a provider",
)
async def list_refusals(
    session: SessionDep,
    principal: ManagerDep,
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(100, ge=1, le=500),
) -> RefusalPage:
    items = await service.refusals(session, after=decode_cursor(cursor) if cursor else None, limit=limit + 1)
    page = items[:limit]
    more = len(items) > limit
    return RefusalPage(
        items=[RefusalRead.model_validate(r) for r in page],
        next_cursor=encode_cursor(page[-1].at, page[-1].id) if more else None,
    )
