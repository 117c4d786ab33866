"""Bulk import of screening lists (행복e음 발굴 대상자 일괄 등록) and the triage batches
they become: return report, overdue rows, outcomes."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status

from heemang_common.deps import SessionDep
from heemang_common.errors import DomainError, Invalid
from heemang_common.types import IsoDate
from heemang_intake import import_service
from heemang_intake.api import audit, pagination
from heemang_intake.api.referrals import _to_read
from heemang_intake.api.schemas import (
    BatchReport,
    ImportReport,
    ImportRowRead,
    OutcomeCreate,
    ReferralPage,
    ReferralRead,
)
from heemang_intake.db import repositories
from heemang_intake.deps import PrincipalDep, RegisterDep
from heemang_intake.domain import access
from heemang_intake.domain import bulk as bulk_rules
from heemang_intake.settings import Settings

router = APIRouter(prefix="/imports", tags=["imports"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TYPES = {
    "csv": {"text/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream", ""},
    "xlsx": {XLSX_TYPE, "application/octet-stream", ""},
}
_SCOPE: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Role or 동 scope does not allow it"},
    404: {"description": "No such batch"},
}


class PayloadTooLarge(DomainError):
    status = 413
    problem = "payload-too-large"
    title = "The upload is too large"


class UnsupportedType(DomainError):
    status = 415
    problem = "unsupported-media-type"
    title = "Unsupported file type"


def _kind(upload: UploadFile, head: bytes) -> import_service.FileKind:
    name = (upload.filename or "").lower()
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if name.endswith(".xlsx") and content_type in _TYPES["xlsx"] and head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if name.endswith(".csv") and content_type in _TYPES["csv"] and not head.startswith(b"PK\x03\x04"):
        return "csv"
    raise UnsupportedType(
        "Upload a .csv (UTF-8 or CP949) or .xlsx file.", filename_suffix=name.rsplit(".", 1)[-1]
    )


async def _read_bounded(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The file is larger than {limit} bytes.", max_bytes=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _assignees(raw: str) -> dict[str, list[str]]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        raise Invalid('assignees is a JSON object: {"<동>": ["<officer id>", …]}') from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str)
        and isinstance(v, list)
        and all(isinstance(o, str) and 0 < len(o) <= 100 for o in v)
        for k, v in value.items()
    ):
        raise Invalid('assignees is a JSON object: {"<동>": ["<officer id>", …]}')
    return value


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportReport,
    summary="Import a screening list (행복e음 발굴 대상자 일괄 등록, CSV/XLSX) as a triage batch",
    responses={
        **_SCOPE,
        413: {"description": "The file is larger than INTAKE_IMPORT_MAX_BYTES"},
        415: {"description": "Not a .csv or .xlsx file"},
        422: {"description": "Rows were rejected (nothing imported) or the file cannot be read"},
    },
)
async def import_list(
    request: Request,
    session: SessionDep,
    ctx: RegisterDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="동, 성명, 주민등록번호, 주소, 연락처, 발굴사유 columns")],
    due_days: Annotated[int, Form(ge=1, le=90, description="Investigation deadline, days from today")] = 14,
    assignees: Annotated[
        str, Form(max_length=20000, description='JSON {"<동>": ["<officer id>", …]}')
    ] = "{}",
    skip_rejected: Annotated[
        bool, Form(description="Import the valid rows even if some are rejected")
    ] = False,
    dry_run: Annotated[bool, Form(description="Validate and report only; nothing is written")] = False,
) -> ImportReport:
    principal.require_role(*access.DISTRICT_ROLES)
    settings: Settings = request.app.state.intake_settings
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.import_max_bytes + 65536:
        raise PayloadTooLarge(f"The file is larger than {settings.import_max_bytes} bytes.")
    data = await _read_bounded(file, settings.import_max_bytes)
    kind = _kind(file, data[:4])
    result = await import_service.import_rows(
        session,
        ctx,
        principal,
        cells=import_service.read_cells(data, kind),
        filename=file.filename or f"upload.{kind}",
        due_days=due_days,
        assignees=_assignees(assignees),
        skip_rejected=skip_rejected,
        dry_run=dry_run,
        max_rows=settings.import_max_rows,
    )
    report = result.report
    rows = [ImportRowRead(row=n, status="duplicate", reasons=[why]) for n, why in report.duplicates]
    rows += [ImportRowRead(row=r.number, status="rejected", reasons=list(r.reasons)) for r in report.rejected]
    batch = await import_service.get_batch(session, result.batch_id) if result.batch_id else None
    return ImportReport(
        batch_id=result.batch_id,
        dry_run=dry_run,
        total=report.total,
        accepted=len(report.accepted),
        duplicate=len(report.duplicates),
        rejected=len(report.rejected),
        due_on=batch.due_on if batch else None,
        by_dong=result.by_dong,
        rows=sorted(rows, key=lambda r: r.row),
    )


@router.get(
    "/{batch_id}",
    response_model=BatchReport,
    summary="Return report of a batch (결과 보고): rows by outcome and 동, overdue",
    responses=_SCOPE,
)
async def batch_report(batch_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> BatchReport:
    principal.require_role(*access.REGISTER_ROLES)
    batch = await import_service.get_batch(session, batch_id)
    by_dong = await repositories.batch_counts(session, batch_id, date.today())
    outcomes: dict[str, int] = {o.value: 0 for o in bulk_rules.Outcome} | {"pending": 0, "overdue": 0}
    for counts in by_dong.values():
        for key, n in counts.items():
            outcomes[key] = outcomes.get(key, 0) + n
    return BatchReport(
        batch_id=batch.id,
        filename=batch.filename,
        uploaded_by=batch.uploaded_by,
        created_at=batch.created_at,
        due_on=batch.due_on,
        total_rows=batch.total_rows,
        accepted_rows=batch.accepted_rows,
        duplicate_rows=batch.duplicate_rows,
        rejected_rows=batch.rejected_rows,
        outcomes=outcomes,
        by_dong=by_dong,
    )


@router.get(
    "/{batch_id}/overdue",
    response_model=ReferralPage,
    summary="Rows past their investigation deadline (조사 기한 경과) in your 동s",
    responses=_SCOPE,
)
async def overdue(
    batch_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    on: Annotated[IsoDate | None, Query(description="Overdue as of this day (default today)")] = None,
) -> ReferralPage:
    principal.require_role(*access.REGISTER_ROLES)
    await import_service.get_batch(session, batch_id)
    scope = access.scope_of(principal)
    after = None
    if cursor:
        row, last = pagination.decode(cursor, 2)
        after = (pagination.as_int(row), pagination.as_uuid(last))
    rows = await repositories.overdue_rows(
        session, batch_id, scope.dongs, scope.restricted, on or date.today(), after, limit + 1
    )
    page, more = list(rows[:limit]), len(rows) > limit
    audit.record_list(session, request, principal, "referral", [(r.id, r.household_id) for r in page])
    names = await repositories.head_names(session, list({r.household_id for r in page}))
    items = [_to_read(principal, r, names.get(r.household_id)) for r in page]
    next_cursor = pagination.encode([page[-1].batch_row, str(page[-1].id)]) if more else None
    return ReferralPage(items=items, next_cursor=next_cursor)


@router.put(
    "/{batch_id}/rows/{referral_id}/outcome",
    response_model=ReferralRead,
    summary="Record a row's investigation outcome (조사 결과 등록); it decides the referral",
    responses={**_SCOPE, 409: {"description": "The row was already decided"}},
)
async def record_outcome(
    batch_id: uuid.UUID,
    referral_id: uuid.UUID,
    body: OutcomeCreate,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
) -> ReferralRead:
    referral = await import_service.record_outcome(
        session,
        principal,
        batch_id,
        referral_id,
        bulk_rules.Outcome(body.outcome.value),
        body.case_id,
        body.note,
    )
    audit.record(session, request, principal, "referral", referral.id, referral.household_id)
    names = await repositories.head_names(session, [referral.household_id])
    return _to_read(principal, referral, names.get(referral.household_id))
