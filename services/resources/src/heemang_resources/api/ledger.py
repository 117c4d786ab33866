"""The support ledger (지원 원장): accounts, journal entries, reversals, trial balance."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import PrincipalDep
from heemang_common.deps import SessionDep
from heemang_common.events.envelope import utcnow
from heemang_resources.api.common import (
    MANAGERS,
    READERS,
    BadCursor,
    IdempotencyKeyHeader,
    decode_cursor,
    encode_cursor,
    idempotent,
)
from heemang_resources.api.schemas import (
    AccountCreate,
    AccountPage,
    AccountRead,
    EntryCreate,
    EntryPage,
    EntryRead,
    LineRead,
    ReversalCreate,
    StatementLine,
    StatementPage,
    TrialBalanceRead,
)
from heemang_resources.db.models import JournalEntry as EntryRow
from heemang_resources.db.models import JournalLine, LedgerAccount
from heemang_resources.domain.chart import account_of
from heemang_resources.domain.ledger import AccountKind, JournalEntry, Posting, Totals, reverse
from heemang_resources.service import ledger

router = APIRouter(prefix="/ledger", tags=["ledger"])
PROBLEMS: dict[int | str, dict[str, str]] = {
    401: {"description": "No or bad token"},
    403: {"description": "Role not allowed"},
    409: {"description": "Overdraft, already reversed, or the same key still in flight"},
    422: {"description": "Invalid entry, unknown account, or key reused with another body"},
}


def account_read(row: LedgerAccount, totals: Totals) -> AccountRead:
    return AccountRead(
        code=row.code,
        kind=AccountKind(row.kind),
        funding_source=row.funding_source,
        name=row.name,
        no_overdraft=row.no_overdraft,
        debits=totals.debits,
        credits=totals.credits,
        balance=ledger.natural(row, totals),
        opened_at=row.opened_at,
    )


async def entry_read(session: AsyncSession, entry: JournalEntry, kind: str) -> EntryRead:
    return EntryRead(
        id=uuid.UUID(entry.id),
        posted_at=entry.posted_at,
        memo=entry.memo,
        kind=kind,
        reverses=uuid.UUID(entry.reverses) if entry.reverses else None,
        reversed_by=await ledger.reversal_of(session, uuid.UUID(entry.id)),
        total=entry.total,
        lines=[LineRead(account=x.account, side=x.side, amount=x.amount) for x in entry.lines],
    )


@router.post(
    "/accounts",
    response_model=AccountRead,
    status_code=201,
    summary="계정 개설 (open an account)",
    responses=PROBLEMS,
)
async def open_account(body: AccountCreate, session: SessionDep, principal: PrincipalDep) -> AccountRead:
    """Opening the same account again with the same kind is a no-op (200-like replay)."""
    principal.require_role(*MANAGERS)
    account = account_of(body.kind, body.code)
    await ledger.open_accounts(session, [account], utcnow(), name=body.name)
    return await _read(session, body.code)


async def _read(session: AsyncSession, code: str) -> AccountRead:
    row = await ledger.get_account(session, code)
    return account_read(row, (await ledger.totals_of(session, [code]))[code])


@router.get("/accounts", response_model=AccountPage, summary="계정 목록 (accounts with balances)")
async def list_accounts(
    session: SessionDep,
    principal: PrincipalDep,
    kind: AccountKind | None = None,
    prefix: str | None = Query(None, max_length=200, description="Code prefix, e.g. budget:care-sos:"),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(100, ge=1, le=500),
) -> AccountPage:
    principal.require_role(*READERS)
    stmt = select(LedgerAccount).order_by(LedgerAccount.code).limit(limit + 1)
    if kind is not None:
        stmt = stmt.where(LedgerAccount.kind == kind.value)
    if prefix:
        stmt = stmt.where(LedgerAccount.code.startswith(prefix, autoescape=True))
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(LedgerAccount.code > after)
    rows = list(await session.scalars(stmt.execution_options(populate_existing=True)))
    more = len(rows) > limit
    rows = rows[:limit]
    totals = await ledger.totals_of(session, [r.code for r in rows])
    return AccountPage(
        items=[account_read(r, totals[r.code]) for r in rows],
        next_cursor=encode_cursor(rows[-1].code) if more else None,
    )


@router.get(
    "/accounts/{code}",
    response_model=AccountRead,
    summary="계정 잔액 (account balance)",
    responses={404: {"description": "No such account"}},
)
async def read_account(code: str, session: SessionDep, principal: PrincipalDep) -> AccountRead:
    principal.require_role(*READERS)
    return await _read(session, code)


@router.get("/accounts/{code}/lines", response_model=StatementPage, summary="계정 원장 (account statement)")
async def statement(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(100, ge=1, le=500),
) -> StatementPage:
    principal.require_role(*READERS)
    account = await _read(session, code)
    stmt = (
        select(JournalLine, EntryRow)
        .join(EntryRow, EntryRow.id == JournalLine.entry_id)
        .where(JournalLine.account_code == code)
        .order_by(JournalLine.id)
        .limit(limit + 1)
    )
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(JournalLine.id > _int(after))
    rows = (await session.execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        StatementLine(entry_id=e.id, posted_at=e.posted_at, memo=e.memo, side=x.side, amount=x.amount)
        for x, e in rows
    ]
    return StatementPage(
        account=account,
        items=items,
        next_cursor=encode_cursor(rows[-1][0].id) if more else None,
    )


@router.post(
    "/entries",
    response_model=EntryRead,
    status_code=201,
    summary="분개 전기 (post a journal entry)",
    responses=PROBLEMS,
)
async def post_entry(
    body: EntryCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> EntryRead:
        entry = JournalEntry(
            id=str(uuid.uuid4()),
            posted_at=utcnow(),
            memo=body.memo,
            idempotency_key=f"http:{token}",
            lines=[Posting(x.account, x.side, x.amount) for x in body.lines],
        )
        posted = await ledger.post(
            session, entry, kind="manual", created_by=principal.subject, fresh_key=True
        )
        return await entry_read(session, posted.entry, posted.kind)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.post(
    "/entries/{entry_id}/reversal",
    response_model=EntryRead,
    status_code=201,
    summary="역분개 (reverse an entry)",
    responses=PROBLEMS,
)
async def reverse_entry(
    entry_id: uuid.UUID,
    body: ReversalCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader,
) -> Response:
    principal.require_role(*MANAGERS)

    async def work(token: uuid.UUID) -> EntryRead:
        original = await ledger.load_entry(session, entry_id)
        mirror = reverse(
            original,
            posted_at=utcnow(),
            id=str(uuid.uuid4()),
            memo=body.memo,
            idempotency_key=f"http:{token}",
        )
        posted = await ledger.post(
            session, mirror, kind="reversal", created_by=principal.subject, fresh_key=True
        )
        return await entry_read(session, posted.entry, posted.kind)

    return await idempotent(request, session, principal, idempotency_key, body, work)


@router.get(
    "/entries/{entry_id}",
    response_model=EntryRead,
    summary="분개 조회 (read an entry)",
    responses={404: {"description": "No such entry"}},
)
async def read_entry(entry_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> EntryRead:
    principal.require_role(*READERS)
    row = await ledger.entry_row(session, entry_id)
    return await entry_read(session, await ledger.load_entry(session, entry_id), row.kind)


@router.get("/entries", response_model=EntryPage, summary="분개장 (journal, newest first)")
async def list_entries(
    session: SessionDep,
    principal: PrincipalDep,
    kind: str | None = Query(None, max_length=40),
    cursor: str | None = Query(None, max_length=400),
    limit: int = Query(50, ge=1, le=200),
) -> EntryPage:
    principal.require_role(*READERS)
    stmt = select(EntryRow).order_by(EntryRow.posted_at.desc(), EntryRow.id.desc()).limit(limit + 1)
    if kind:
        stmt = stmt.where(EntryRow.kind == kind)
    if cursor:
        at, after = decode_cursor(cursor, 2)
        stmt = stmt.where(tuple_(EntryRow.posted_at, EntryRow.id) < (_datetime(at), _uuid(after)))
    rows = list(await session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [await entry_read(session, await ledger.load_entry(session, r.id), r.kind) for r in rows]
    last = rows[-1] if rows else None
    return EntryPage(
        items=items, next_cursor=encode_cursor(last.posted_at.isoformat(), last.id) if more and last else None
    )


@router.get("/trial-balance", response_model=TrialBalanceRead, summary="시산표 (trial balance)")
async def read_trial_balance(
    session: SessionDep,
    principal: PrincipalDep,
    verify: bool = Query(False, description="Also recompute every account from its lines (slower)"),
) -> TrialBalanceRead:
    principal.require_role(*READERS)
    tb = await ledger.trial_balance(session, verify=verify)
    return TrialBalanceRead(
        accounts=tb.accounts,
        debits=tb.debits,
        credits=tb.credits,
        difference=tb.difference,
        balanced=tb.difference == 0 and not tb.mismatched_accounts,
        verified_against_lines=verify,
        mismatched_accounts=tb.mismatched_accounts,
        negative_accounts=tb.negative_accounts,
    )


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None


def _datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None
