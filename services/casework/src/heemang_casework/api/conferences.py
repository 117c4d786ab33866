"""④ Case conferences (사례회의) and the case managers' work list."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_casework import access, planning
from heemang_casework.api.schemas import (
    ConferenceCaseRead,
    ConferenceCreate,
    ConferencePage,
    ConferenceRead,
    WorkItem,
    WorkList,
)
from heemang_casework.db import repositories
from heemang_casework.db.models import Case, Conference, ConferenceCase
from heemang_casework.domain.conference import ConferenceKind, Participant
from heemang_casework.domain.followup import KST
from heemang_casework.domain.plan import DEFAULT_MONITORING_INTERVAL
from heemang_casework.domain.scope import Action, Role
from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.errors import Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.types import IsoDate, IsoDateTime

router = APIRouter(tags=["conferences"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such conference or case, or not within your scope"},
    403: {"description": "Your role may not do this"},
}


async def _read(
    session: AsyncSession, conference: Conference, decisions: list[tuple[ConferenceCase, Case]]
) -> ConferenceRead:
    # Minutes may speak of every case discussed: only a caller who may read them all sees them.
    total = await repositories.conference_case_count(session, conference.id)
    return ConferenceRead(
        id=conference.id,
        kind=ConferenceKind(conference.kind),
        held_on=conference.held_on,
        title=conference.title,
        participants=conference.participants,
        minutes=conference.minutes if len(decisions) == total else None,
        cases=[ConferenceCaseRead(case_id=d.case_id, decision=d.decision, note=d.note) for d, _ in decisions],
        recorded_by=conference.recorded_by,
        recorded_at=conference.recorded_at,
    )


@router.post(
    "/conferences",
    response_model=ConferenceRead,
    status_code=201,
    responses=RESPONSES,
    summary="사례회의 기록 — record a case conference",
)
async def create_conference(
    body: ConferenceCreate, session: SessionDep, principal: PrincipalDep
) -> ConferenceRead:
    """Internal (내부) or integrated with partner agencies (통합); one decision per case."""
    viewer = access.require(principal, Action.conference)
    decisions = [
        planning.CaseDecision(
            case=await access.case_for(session, principal, item.case_id, Action.conference),
            decision=item.decision,
            note=item.note,
        )
        for item in body.cases
    ]
    conference = await planning.record_conference(
        session,
        kind=body.kind,
        held_on=body.held_on,
        title=body.title,
        participants=[Participant(p.name, p.affiliation, p.agency_id) for p in body.participants],
        minutes=body.minutes,
        decisions=decisions,
        actor=principal.subject,
    )
    found = await repositories.conference_decisions(session, viewer, [conference.id])
    return await _read(session, conference, found[conference.id])


def _cursor(conference: Conference) -> str:
    raw = f"{conference.held_on.isoformat()}|{conference.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        held, _, conference_id = raw.partition("|")
        return date.fromisoformat(held), uuid.UUID(conference_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("The cursor is not one this API issued.", field="cursor") from None


@router.get("/conferences", response_model=ConferencePage, summary="사례회의 목록 — list case conferences")
async def list_conferences(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    kind: ConferenceKind | None = Query(None, description="internal or integrated"),
    held_from: IsoDate | None = Query(None, description="Held on or after"),
    held_to: IsoDate | None = Query(None, description="Held before"),
    case_id: uuid.UUID | None = Query(None, description="Conferences that discussed this case"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=200),
) -> ConferencePage:
    """Conferences that discussed a case you may read, oldest first; each shows the decisions
    on your cases only."""
    viewer = access.require(principal, Action.read)
    rows = await repositories.list_conferences(
        session,
        viewer,
        kind=kind.value if kind else None,
        held_from=held_from,
        held_to=held_to,
        case_id=case_id,
        after=_after(cursor) if cursor else None,
        limit=limit,
    )
    found = await repositories.conference_decisions(session, viewer, [c.id for c in rows])
    shown = {case.id: case.household_id for items in found.values() for _, case in items}
    access.log_case_ids(session, request, principal, shown, action="list", record_type="conference")
    items = [await _read(session, c, found[c.id]) for c in rows]
    return ConferencePage(items=items, next_cursor=_cursor(rows[-1]) if len(rows) == limit else None)


@router.get(
    "/conferences/{conference_id}",
    response_model=ConferenceRead,
    responses=RESPONSES,
    summary="사례회의 조회 — read a case conference",
)
async def read_conference(
    conference_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> ConferenceRead:
    viewer = access.require(principal, Action.read)
    conference = await session.get(Conference, conference_id)
    found = await repositories.conference_decisions(session, viewer, [conference_id]) if conference else {}
    if conference is None or not found[conference_id]:
        raise NotFound(f"conference {conference_id} not found")
    shown = {case.id: case.household_id for _, case in found[conference_id]}
    access.log_case_ids(session, request, principal, shown, record_type="conference")
    return await _read(session, conference, found[conference_id])


@router.get(
    "/worklist", response_model=WorkList, summary="업무 목록 — the work list: alerts and overdue monitoring"
)
async def work_list(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    mine: bool | None = Query(
        None, description="Only cases assigned to me (default: yes for case managers, else no)"
    ),
    monitoring_days: int = Query(
        DEFAULT_MONITORING_INTERVAL.days,
        ge=1,
        le=365,
        description="Monitoring is overdue after this many days",
    ),
    limit: int = Query(100, ge=1, le=500),
) -> WorkList:
    """Open alerts (urgent first), cases in delivery whose monitoring is overdue, and follow-ups
    that fell due without an outcome yet (사후관리, the 동's work)."""
    viewer = access.require(principal, Action.read)
    only_mine = (viewer.role is Role.case_manager) if mine is None else mine
    items: list[WorkItem] = []
    alerts = await repositories.work_list(session, viewer, open_only=True, dong=None, limit=limit)
    for alert, dong in alerts:
        case = await repositories.get_case(session, alert.case_id)
        assert case is not None
        if only_mine and case.case_manager_id != viewer.subject:
            continue
        items.append(
            WorkItem(
                kind="alert",
                case_id=case.id,
                household_id=case.household_id,
                dong=dong,
                case_manager_id=case.case_manager_id,
                since=alert.raised_at,
                urgent=alert.urgent,
                alert_id=alert.id,
            )
        )
    before: IsoDateTime = utcnow() - timedelta(days=monitoring_days)
    for case in await repositories.overdue_monitoring(
        session, viewer, before=before, mine=only_mine, limit=limit
    ):
        since = case.last_monitored_at or case.stage_entered_at or case.opened_at
        items.append(
            WorkItem(
                kind="monitoring_overdue",
                case_id=case.id,
                household_id=case.household_id,
                dong=case.dong,
                case_manager_id=case.case_manager_id,
                since=since,
            )
        )
    for follow_up, case in await repositories.due_follow_ups(session, viewer, mine=only_mine, limit=limit):
        items.append(
            WorkItem(
                kind="follow_up_due",
                case_id=case.id,
                household_id=case.household_id,
                dong=case.dong,
                case_manager_id=case.case_manager_id,
                since=follow_up.claimed_at or datetime.combine(follow_up.due_on, time(), KST),
                follow_up_id=follow_up.id,
            )
        )
    access.log_case_ids(
        session,
        request,
        principal,
        {i.case_id: i.household_id for i in items},
        action="list",
        record_type="worklist",
    )
    return WorkList(items=items)
