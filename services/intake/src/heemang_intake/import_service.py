"""Bulk import of a screening list: parse, validate row by row, match against the register,
and write every accepted row in the request's one transaction (bulk inserts: the file is
imported whole or not at all). Rows become a triage batch of bulk_screening referrals,
assigned round-robin to the 동 officers given, with an investigation deadline."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Principal
from heemang_common.errors import Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import (
    HouseholdRegistered,
    HouseholdRegisteredData,
    ReferralReceived,
    ReferralReceivedData,
)
from heemang_common.outbox import OUTBOX_PENDING
from heemang_intake.db.models import Household, ImportBatch, OpenCase, OutboxMessage, Person, Referral
from heemang_intake.domain import bulk, triage
from heemang_intake.household_service import Register

FileKind = Literal["csv", "xlsx"]
_CHUNK = 1000  # IN-list size for look-ups (well under every driver's parameter limit)


class UnreadableFile(Invalid):
    problem = "unreadable-file"
    title = "The file cannot be read"


def read_cells(data: bytes, kind: FileKind) -> Iterator[Sequence[object]]:
    """The rows of the first sheet / the CSV (UTF-8 with or without BOM, else CP949 as
    행복e음 exports it)."""
    if kind == "xlsx":
        yield from _xlsx_rows(data)
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp949")
        except UnicodeDecodeError:
            raise UnreadableFile("The CSV is neither UTF-8 nor CP949 text.") from None
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(data: bytes) -> Iterator[Sequence[object]]:
    from openpyxl import load_workbook  # only imports need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise UnreadableFile("The XLSX file is damaged or not a workbook.") from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            # A spreadsheet turns 0012313456789 into a number: give its leading zeros back.
            yield [f"{v:013d}" if isinstance(v, int) and 10**11 <= v < 10**13 else v for v in values]
    finally:
        workbook.close()


@dataclass
class ImportResult:
    batch_id: uuid.UUID | None
    report: bulk.Report
    by_dong: dict[str, int] = field(default_factory=dict)


async def import_rows(
    session: AsyncSession,
    ctx: Register,
    principal: Principal,
    *,
    cells: Iterator[Sequence[object]],
    filename: str,
    due_days: int,
    assignees: dict[str, list[str]],
    skip_rejected: bool,
    dry_run: bool,
    max_rows: int,
) -> ImportResult:
    today = date.today()
    try:
        header = next(cells)
    except StopIteration:
        raise UnreadableFile("The file is empty.") from None
    try:
        mapping = bulk.map_header(header)
    except bulk.HeaderError as exc:
        raise UnreadableFile(str(exc)) from None
    report = bulk.Report()
    rows: list[bulk.Row] = []
    for number, line in enumerate(cells, start=1):
        if not any(str(c or "").strip() for c in line):
            continue  # blank lines at the end of exported files
        if number > max_rows:
            raise Invalid(f"The file has more than {max_rows} rows; split it.")
        report.total += 1
        checked = bulk.validate(number, line, mapping, ctx.dongs, today)
        if isinstance(checked, bulk.Rejected):
            report.rejected.append(checked)
        else:
            rows.append(checked)
    hashes = [ctx.protector.lookup_hash(r.rrn_digits) for r in rows]
    keep, in_file = bulk.first_seen(rows, hashes)
    report.duplicates.extend(in_file)
    rows, hashes = [rows[i] for i in keep], [hashes[i] for i in keep]
    existing = await _households_by_hash(session, hashes)
    followed = await _followed(session, list(set(existing.values())))
    fresh: list[tuple[bulk.Row, str, uuid.UUID | None]] = []
    for row, digest in zip(rows, hashes, strict=True):
        household_id = existing.get(digest)
        if household_id is not None and household_id in followed:
            report.duplicates.append((row.number, followed[household_id]))
            continue
        fresh.append((row, digest, household_id))
        report.accepted.append(row.number)
    report.duplicates.sort()
    if report.rejected and not skip_rejected and not dry_run:
        raise Invalid(
            f"{len(report.rejected)} of {report.total} rows were rejected; nothing was imported. "
            "Correct them, or send skip_rejected=true to import the others.",
            rejected=[{"row": r.number, "reasons": list(r.reasons)} for r in report.rejected[:1000]],
            rejected_count=len(report.rejected),
        )
    if dry_run:
        return ImportResult(None, report, dict(Counter(r.dong for r, _, _ in fresh)))
    batch = ImportBatch(
        id=uuid.uuid4(),
        filename=filename[:200],
        uploaded_by=principal.subject,
        created_at=utcnow(),
        due_on=today + timedelta(days=due_days),
        total_rows=report.total,
        accepted_rows=len(report.accepted),
        duplicate_rows=len(report.duplicates),
        rejected_rows=len(report.rejected),
    )
    session.add(batch)
    await session.flush()
    by_dong = await _write(session, ctx, principal, batch, fresh, assignees)
    return ImportResult(batch.id, report, by_dong)


async def _households_by_hash(session: AsyncSession, hashes: Sequence[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start : start + _CHUNK]
        query = select(Person.rrn_hmac, Person.household_id).where(Person.rrn_hmac.in_(chunk))
        found.update({str(h): hid for h, hid in (await session.execute(query)).all()})
    return found


async def _followed(session: AsyncSession, household_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Households that already have an open case or referral → why the row is a duplicate."""
    reasons: dict[uuid.UUID, str] = {}
    for start in range(0, len(household_ids), _CHUNK):
        chunk = household_ids[start : start + _CHUNK]
        cases = select(OpenCase.household_id, OpenCase.case_id).where(OpenCase.household_id.in_(chunk))
        for household_id, case_id in (await session.execute(cases)).all():
            reasons[household_id] = f"household already has open case {case_id}"
        referrals = select(Referral.household_id, Referral.id).where(
            Referral.household_id.in_(chunk), Referral.status == "received"
        )
        for household_id, referral_id in (await session.execute(referrals)).all():
            reasons.setdefault(household_id, f"household already has open referral {referral_id}")
    return reasons


async def _write(
    session: AsyncSession,
    ctx: Register,
    principal: Principal,
    batch: ImportBatch,
    fresh: list[tuple[bulk.Row, str, uuid.UUID | None]],
    assignees: dict[str, list[str]],
) -> dict[str, int]:
    now = utcnow()
    cycles = {dong: itertools.cycle(officers) for dong, officers in assignees.items() if officers}
    known = await _dongs_of(session, [hid for _, _, hid in fresh if hid is not None])
    households: list[dict[str, Any]] = []
    persons: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    by_dong: Counter[str] = Counter()
    priority = triage.priority(triage.Level.medium, triage.Level.medium)
    for row, digest, existing_id in fresh:
        household_id = existing_id or uuid.uuid4()
        dong = known.get(household_id, row.dong)
        if existing_id is None:
            person_id = uuid.uuid4()
            sealed = ctx.protector.encrypt(row.rrn_digits, person_id.bytes)
            households.append(_household(household_id, row, now))
            persons.append(_person(person_id, household_id, row, digest, sealed.token, sealed.key_id, now))
            outbox.append(_registered(household_id, row.dong, now))
        officer = next(cycles[dong]) if dong in cycles else None
        referral_id = uuid.uuid4()
        referrals.append(
            {
                "id": referral_id,
                "household_id": household_id,
                "dong": dong,
                "channel": "bulk_screening",
                "summary": row.reason,
                "urgency": "medium",
                "importance": "medium",
                "priority": priority,
                "status": "received",
                "received_at": now,
                "restricted": False,
                "submitted_by": principal.subject,
                "assigned_to": officer,
                "assigned_at": now if officer else None,
                "batch_id": batch.id,
                "batch_row": row.number,
                "due_on": batch.due_on,
            }
        )
        outbox.append(_received(referral_id, household_id, dong, now))
        by_dong[dong] += 1
    for model, values in (
        (Household, households),
        (Person, persons),
        (Referral, referrals),
        (OutboxMessage, outbox),
    ):
        if values:
            await session.execute(insert(cast(Table, model.__table__)), values)
    session.info[OUTBOX_PENDING] = True  # wake the relay after commit, as add_event does
    return dict(by_dong)


async def _dongs_of(session: AsyncSession, household_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The register's 동 for households already known (the register wins over the file)."""
    found: dict[uuid.UUID, str] = {}
    for start in range(0, len(household_ids), _CHUNK):
        chunk = household_ids[start : start + _CHUNK]
        query = select(Household.id, Household.dong).where(Household.id.in_(chunk))
        found.update({hid: dong for hid, dong in (await session.execute(query)).all()})
    return found


def _household(household_id: uuid.UUID, row: bulk.Row, now: datetime) -> dict[str, Any]:
    return {
        "id": household_id,
        "dong": row.dong,
        "created_at": now,
        "address": row.address,
        "phone": row.phone,
        "restricted": False,
    }


def _person(
    person_id: uuid.UUID,
    household_id: uuid.UUID,
    row: bulk.Row,
    digest: str,
    token: str,
    key_id: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": person_id,
        "household_id": household_id,
        "name": row.name,
        "birth_date": row.birth_date,
        "relationship": "head",
        "is_head": True,
        "position": 0,
        "rrn_ciphertext": token,
        "rrn_key_id": key_id,
        "rrn_hmac": digest,
        "created_at": now,
    }


def _outbox(event: Any, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": event.topic,
        "key": event.partition_key(),
        "payload": event.to_json(),
        "headers": {},
        "created_at": now,
    }


def _registered(household_id: uuid.UUID, dong: str, now: datetime) -> dict[str, Any]:
    data = HouseholdRegisteredData(
        household_id=household_id,
        dong=dong,
        household_type=None,
        protection_status=None,
        member_count=1,
        registered_at=now,
    )
    return _outbox(HouseholdRegistered.create(subject=household_id, data=data), now)


def _received(referral_id: uuid.UUID, household_id: uuid.UUID, dong: str, now: datetime) -> dict[str, Any]:
    data = ReferralReceivedData(
        referral_id=referral_id,
        household_id=household_id,
        dong=dong,
        channel="bulk_screening",
        received_at=now,
    )
    return _outbox(ReferralReceived.create(subject=referral_id, data=data), now)


# ----------------------------------------------------------------- the batch afterwards


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> ImportBatch:
    batch = await session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"import batch {batch_id} not found")
    return batch


_OUTCOME_REASON = {
    bulk.Outcome.not_eligible: "조사 결과 비해당 (not eligible)",
    bulk.Outcome.unreachable: "조사 불가·연락 두절 (unreachable)",
}


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
    referral_id: uuid.UUID,
    outcome: bulk.Outcome,
    case_id: uuid.UUID | None,
    note: str | None,
) -> Referral:
    """An investigated row's outcome is the referral's decision: confirmed → accepted
    (casework opens a case), linked → linked to the case, else rejected with the reason."""
    from heemang_intake import service
    from heemang_intake.api.schemas import Decision, DecisionKind

    referral = await service.referral_for(session, principal, referral_id)
    if referral.batch_id != batch_id:
        raise NotFound(f"referral {referral_id} is not a row of batch {batch_id}")
    if outcome is bulk.Outcome.confirmed_referred:
        decision = Decision(decision=DecisionKind.accept)
    elif outcome is bulk.Outcome.linked_existing_case:
        if case_id is None:
            raise Invalid("linked_existing_case names the case (case_id).")
        decision = Decision(decision=DecisionKind.link, case_id=case_id)
    else:
        reason = _OUTCOME_REASON[outcome] + (f": {note.strip()}" if note and note.strip() else "")
        decision = Decision(decision=DecisionKind.reject, reason=reason)
    await service.decide(session, principal, referral_id, decision)
    referral.outcome = outcome.value
    return referral
