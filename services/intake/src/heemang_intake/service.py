"""Referral use cases: receive from every channel (with duplicate detection), the per-동
triage queue, assignment and decisions. Services flush; the edge commits."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.auth import Clearance, Principal, Role
from heemang_common.errors import Conflict, Forbidden, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import (
    ReferralAccepted,
    ReferralAcceptedData,
    ReferralAssigned,
    ReferralAssignedData,
    ReferralChannel,
    ReferralLinked,
    ReferralLinkedData,
    ReferralReceived,
    ReferralReceivedData,
    ReferralRejected,
    ReferralRejectedData,
)
from heemang_intake.api.schemas import Decision, DecisionKind, RedPostboxReport, ReferralCreate, SubjectCreate
from heemang_intake.db import repositories
from heemang_intake.db.models import Household, HouseholdChange, Person, Referral
from heemang_intake.domain import access, triage
from heemang_intake.domain import duplicates as dup
from heemang_intake.domain import household as household_rules
from heemang_intake.domain import rrn as rrn_rules
from heemang_intake.events.publish import publish
from heemang_intake.household_service import Register

#: Channels that arrive through POST /referrals (the others have their own entry points:
#: the red-postbox endpoint, hotline events and the bulk import).
API_CHANNELS: frozenset[str] = frozenset({"walk_in", "phone", "volunteer", "police_112", "partner_agency"})
#: Channels whose referrals are always restricted (domestic violence).
RESTRICTED_CHANNELS: frozenset[str] = frozenset({"police_112"})
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


@dataclass(frozen=True)
class Received:
    referral: Referral
    link: dup.Link | None


@dataclass(frozen=True)
class Match:
    household: Household
    matched_by: dup.MatchedBy | None  # None: a new household


# ----------------------------------------------------------------- receiving


async def receive_referral(
    session: AsyncSession, ctx: Register, principal: Principal, data: ReferralCreate
) -> Received:
    """A referral from an authenticated channel: check who may send what, find the
    household (or register it), link it if the household already has an open referral or
    case, else queue it (or accept it at once when staff ask to)."""
    channel = _channel_for(principal, data)
    restricted = data.restricted or channel in RESTRICTED_CHANNELS
    if restricted and not principal.has(Clearance.RESTRICTED):
        raise Forbidden("Restricted (domestic-violence) referrals need the restricted clearance.")
    if principal.role != Role.PARTNER_AGENCY:
        access.check_write_dong(principal, data.dong)
    household_rules.check_dong(data.dong, ctx.dongs)
    if data.accept and principal.role not in access.DECIDING_ROLES:
        raise Forbidden("Only intake staff can accept a referral.")
    if channel == "volunteer" and data.reporter_kind is None:
        raise Invalid("A volunteer referral says who the volunteer is (reporter_kind).")
    match = await _find_household(session, ctx, principal, data)
    household = match.household
    # A household named by a restricted referral is restricted, and so is every later
    # referral about it: a DV victim's record must not surface through a neighbour's report.
    restricted = bool(restricted or household.restricted)
    if restricted:
        household.restricted = True
    link = None
    if match.matched_by is not None:
        link = await _open_link(session, household.id, match.matched_by)
    referral = _new_referral(
        household,
        channel=channel,
        summary=data.summary,
        urgency=data.urgency,
        importance=data.importance,
        restricted=restricted,
    )
    referral.notes = rrn_rules.redact(data.notes) if data.notes else None
    referral.reporter_kind = data.reporter_kind.value if data.reporter_kind else None
    referral.submitted_by = principal.subject
    referral.submitted_by_agency = principal.agency_id if principal.role == Role.PARTNER_AGENCY else None
    session.add(referral)
    await _flush_new(session)
    _publish_received(session, referral)
    if link is not None:
        _apply_link(session, referral, link, by=None)
    elif data.accept:
        _accept(session, referral, principal.subject)
    return Received(referral, link)


def _channel_for(principal: Principal, data: ReferralCreate) -> ReferralChannel:
    """Partners always refer as partner_agency; staff name the channel they took it on."""
    if principal.role == Role.PARTNER_AGENCY:
        if data.channel != "partner_agency":
            raise Invalid("A partner agency's referrals come in on channel partner_agency.")
        return "partner_agency"
    principal.require_role(*access.REGISTER_ROLES)
    if data.channel not in API_CHANNELS:
        raise Invalid(
            f"Channel {data.channel} has its own entry point; this endpoint takes "
            f"{', '.join(sorted(API_CHANNELS))}."
        )
    return data.channel


async def _find_household(
    session: AsyncSession, ctx: Register, principal: Principal, data: ReferralCreate
) -> Match:
    if data.household_id is not None:
        existing = await repositories.get_household(session, data.household_id)
        if existing is None:
            raise NotFound(f"household {data.household_id} is not registered")
        if principal.role != Role.PARTNER_AGENCY:
            access.check_household(principal, existing.dong, existing.restricted)
        if existing.dong != data.dong:
            raise Invalid(f"household {existing.id} lives in 동 {existing.dong}, not {data.dong}")
        return Match(existing, dup.MatchedBy.household_id)
    subject = data.subject
    if subject is None:
        return Match(_new_household(session, data.dong, None), None)
    number = _parse_subject_rrn(subject)
    birth_date = _subject_birth_date(subject, number)
    if number is not None:
        person = await repositories.person_by_rrn_hash(session, ctx.protector.lookup_hash(number.digits))
        if person is not None:
            found = await repositories.get_household(session, person.household_id)
            assert found is not None
            return Match(found, dup.MatchedBy.rrn)
    if birth_date is not None and subject.address:
        wanted = dup.normalise_address(subject.address)
        for _person, candidate in await repositories.persons_named(session, subject.name.strip(), birth_date):
            if dup.normalise_address(candidate.address) == wanted:
                return Match(candidate, dup.MatchedBy.name_birth_address)
    household = _new_household(session, data.dong, subject)
    await session.flush()
    _add_subject(session, ctx, household, subject, number, birth_date)
    return Match(household, None)


def _parse_subject_rrn(subject: SubjectCreate) -> rrn_rules.Rrn | None:
    if subject.rrn is None:
        return None
    try:
        return rrn_rules.parse(subject.rrn.get_secret_value())
    except rrn_rules.InvalidRrn as exc:
        raise rrn_rules.InvalidRrn(f"subject: {exc.detail}") from None


def _subject_birth_date(subject: SubjectCreate, number: rrn_rules.Rrn | None) -> date | None:
    if number is None:
        return subject.birth_date
    household_rules.check_birth_date(0, subject.birth_date, number.birth_date)
    return number.birth_date


def _new_household(session: AsyncSession, dong: str, subject: SubjectCreate | None) -> Household:
    now = utcnow()
    household = Household(
        id=uuid.uuid4(),
        dong=dong,
        created_at=now,
        address=subject.address if subject else None,
        phone=subject.phone if subject else None,
    )
    session.add(household)
    return household


def _add_subject(
    session: AsyncSession,
    ctx: Register,
    household: Household,
    subject: SubjectCreate,
    number: rrn_rules.Rrn | None,
    birth_date: date | None,
) -> None:
    """The referral's subject becomes the head of the household it registered."""
    person = Person(
        id=uuid.uuid4(),
        household_id=household.id,
        name=subject.name.strip(),
        birth_date=birth_date,
        relationship="head",
        is_head=True,
        position=0,
        rrn_hmac=ctx.protector.lookup_hash(number.digits) if number else None,
        created_at=household.created_at,
    )
    if number is not None:
        sealed = ctx.protector.encrypt(number.digits, person.id.bytes)
        person.rrn_ciphertext, person.rrn_key_id = sealed.token, sealed.key_id
    session.add(person)
    session.add(
        HouseholdChange(
            household_id=household.id,
            at=household.created_at,
            field="registered",
            new_value="from a referral",
        )
    )


async def _open_link(
    session: AsyncSession, household_id: uuid.UUID, matched_by: dup.MatchedBy
) -> dup.Link | None:
    case = await repositories.open_case_of(session, household_id)
    referral = await repositories.open_referral_of(session, household_id)
    return dup.link_for(matched_by, case.case_id if case else None, referral.id if referral else None)


async def _flush_new(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # Two concurrent registrations of the same RRN: the unique hash index decided.
        raise Conflict(
            "the subject's RRN was registered at the same moment; send the referral again"
        ) from None


def _new_referral(
    household: Household,
    *,
    channel: ReferralChannel,
    summary: str,
    urgency: triage.Level,
    importance: triage.Level,
    restricted: bool = False,
    source_ref: str | None = None,
) -> Referral:
    return Referral(
        id=uuid.uuid4(),
        household_id=household.id,
        dong=household.dong,
        channel=channel,
        summary=rrn_rules.redact(summary),
        urgency=urgency.value,
        importance=importance.value,
        priority=triage.priority(urgency, importance),
        status=repositories.OPEN_REFERRAL,
        received_at=utcnow(),
        restricted=restricted,
        source_ref=source_ref,
    )


async def record_referral(
    session: AsyncSession,
    household: Household,
    *,
    channel: ReferralChannel,
    summary: str,
    urgency: triage.Level,
    importance: triage.Level,
    source_ref: str | None = None,
    link: dup.Link | None = None,
) -> Referral:
    """A referral from another service's event (hotline transfer, missed check-in): the
    counsellor already triaged it, so it is accepted at once (casework opens the case) —
    unless ``link`` says the household already has an open case, which it then joins."""
    referral = _new_referral(
        household,
        channel=channel,
        summary=summary,
        urgency=urgency,
        importance=importance,
        source_ref=source_ref,
        restricted=bool(household.restricted),
    )
    session.add(referral)
    await session.flush()
    _publish_received(session, referral)
    if link is not None:
        _apply_link(session, referral, link, by=None)
    else:
        _accept(session, referral, None)
    return referral


async def open_case_link(session: AsyncSession, household_id: uuid.UUID) -> dup.Link | None:
    """The link to the household's open case, if casework has one open (event channels)."""
    case = await repositories.open_case_of(session, household_id)
    return dup.Link(dup.MatchedBy.household_id, case_id=case.case_id) if case else None


async def red_postbox(session: AsyncSession, ctx: Register, report: RedPostboxReport) -> Referral:
    """빨간우체통: anonymous, so a new minimal household in the 동 (an officer matches it to
    the register on the visit) and a referral queued with high urgency: nobody can be called
    back to ask how serious it is."""
    household_rules.check_dong(report.dong, ctx.dongs)
    household = _new_household(session, report.dong, None)
    summary = report.report if not report.place else f"{report.report}\n(장소: {report.place})"
    referral = _new_referral(
        household,
        channel="red_postbox",
        summary=summary,
        urgency=triage.Level.high,
        importance=triage.Level.medium,
    )
    referral.receipt_no = "RP-" + "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(10))
    session.add(referral)
    await session.flush()
    _publish_received(session, referral)
    return referral


# ----------------------------------------------------------------- reading and the queue


async def get_referral(session: AsyncSession, referral_id: uuid.UUID) -> Referral:
    referral = await repositories.get_referral(session, referral_id)
    if referral is None:
        raise NotFound(f"referral {referral_id} not found")
    return referral


async def referral_for(session: AsyncSession, principal: Principal, referral_id: uuid.UUID) -> Referral:
    """The referral if the caller may see it (scope, agency, restriction), else 403/404."""
    referral = await get_referral(session, referral_id)
    access.check_referral(
        principal,
        dong=referral.dong,
        restricted=referral.restricted,
        submitted_by_agency=referral.submitted_by_agency,
    )
    return referral


async def queue(
    session: AsyncSession,
    principal: Principal,
    *,
    dongs: Sequence[str] | None,
    status: str | None,
    channel: str | None,
    assigned_to: str | None,
    after: tuple[int, datetime, uuid.UUID] | None,
    limit: int,
    household_id: uuid.UUID | None = None,
) -> Sequence[Referral]:
    if principal.role != Role.PARTNER_AGENCY:
        principal.require_role(*access.REGISTER_ROLES)
    scope = access.scope_of(principal)
    flt = repositories.ReferralFilter(
        dongs=None if scope.agency_id is not None else access.visible_dongs(scope, dongs),
        restricted=scope.restricted,
        agency_id=scope.agency_id,
        status=status,
        channel=channel,
        assigned_to=assigned_to,
        household_id=household_id,
    )
    return await repositories.referral_queue(session, flt, after, limit)


# ----------------------------------------------------------------- triage and decisions


async def retriage(
    session: AsyncSession,
    principal: Principal,
    referral_id: uuid.UUID,
    urgency: triage.Level,
    importance: triage.Level,
) -> Referral:
    referral = await _open_for_decision(session, principal, referral_id)
    referral.urgency, referral.importance = urgency.value, importance.value
    referral.priority = triage.priority(urgency, importance)
    return referral


async def assign(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, officer_id: str
) -> Referral:
    """Give a queued referral to an officer (a 동 officer may take it herself)."""
    referral = await _open_for_decision(session, principal, referral_id)
    if principal.role == Role.DONG_OFFICER and officer_id != principal.subject:
        raise Forbidden("A 동 officer assigns referrals to herself; a supervisor assigns them to others.")
    now = utcnow()
    referral.assigned_to, referral.assigned_at = officer_id, now
    publish(
        session,
        ReferralAssigned.create(
            subject=referral.id,
            data=ReferralAssignedData(
                referral_id=referral.id,
                household_id=referral.household_id,
                dong=referral.dong,
                assigned_to=officer_id,
                priority=referral.priority,
                restricted=referral.restricted,
                assigned_at=now,
            ),
        ),
    )
    return referral


async def decide(
    session: AsyncSession, principal: Principal, referral_id: uuid.UUID, decision: Decision
) -> dup.Link | None:
    """Accept (casework opens a case), link to an open case or referral, or reject with a
    reason. Each decision is final and is published as an event."""
    referral = await _open_for_decision(session, principal, referral_id)
    if decision.decision is DecisionKind.accept:
        _accept(session, referral, principal.subject)
        return None
    if decision.decision is DecisionKind.reject:
        if not decision.reason or not decision.reason.strip():
            raise Invalid("A rejection states its reason.")
        _reject(session, referral, principal.subject, rrn_rules.redact(decision.reason.strip()))
        return None
    link = await _chosen_link(session, referral, decision)
    _apply_link(session, referral, link, by=principal.subject)
    return link


async def _chosen_link(session: AsyncSession, referral: Referral, decision: Decision) -> dup.Link:
    if (decision.case_id is None) == (decision.referral_id is None):
        raise Invalid("A link names either case_id or referral_id.")
    if decision.case_id is not None:
        case = await repositories.open_case(session, decision.case_id)
        if case is None:
            raise Invalid(f"case {decision.case_id} is not an open case")
        return dup.Link(dup.MatchedBy.decision, case_id=case.case_id)
    assert decision.referral_id is not None
    target = await repositories.get_referral(session, decision.referral_id)
    if target is None or target.id == referral.id or target.status != repositories.OPEN_REFERRAL:
        raise Invalid(f"referral {decision.referral_id} is not another open referral")
    return dup.Link(dup.MatchedBy.decision, referral_id=target.id)


async def _open_for_decision(session: AsyncSession, principal: Principal, referral_id: uuid.UUID) -> Referral:
    principal.require_role(*access.DECIDING_ROLES)
    referral = await referral_for(session, principal, referral_id)
    if referral.status != repositories.OPEN_REFERRAL:
        raise Conflict(
            f"referral {referral_id} was already decided ({referral.status})", current_status=referral.status
        )
    return referral


def _accept(session: AsyncSession, referral: Referral, by: str | None) -> None:
    now = utcnow()
    referral.status, referral.accepted_at = "accepted", now
    referral.decided_at, referral.decided_by = now, by
    publish(
        session,
        ReferralAccepted.create(
            subject=referral.id,
            data=ReferralAcceptedData(
                referral_id=referral.id,
                household_id=referral.household_id,
                dong=referral.dong,
                channel=referral.channel,
                priority=referral.priority,
                restricted=referral.restricted,
                accepted_at=now,
            ),
        ),
    )


def _reject(session: AsyncSession, referral: Referral, by: str, reason: str) -> None:
    now = utcnow()
    referral.status, referral.decided_at, referral.decided_by, referral.decision_reason = (
        "rejected",
        now,
        by,
        reason,
    )
    publish(
        session,
        ReferralRejected.create(
            subject=referral.id,
            data=ReferralRejectedData(
                referral_id=referral.id, household_id=referral.household_id, reason=reason, rejected_at=now
            ),
        ),
    )


def _apply_link(session: AsyncSession, referral: Referral, link: dup.Link, by: str | None) -> None:
    now = utcnow()
    referral.status = "linked"
    referral.linked_case_id, referral.linked_referral_id = link.case_id, link.referral_id
    referral.matched_by = link.matched_by.value
    referral.decided_at, referral.decided_by, referral.decision_reason = now, by, link.reason()
    publish(
        session,
        ReferralLinked.create(
            subject=referral.id,
            data=ReferralLinkedData(
                referral_id=referral.id,
                household_id=referral.household_id,
                dong=referral.dong,
                channel=referral.channel,
                linked_referral_id=link.referral_id,
                linked_case_id=link.case_id,
                matched_by=link.matched_by.value,
                restricted=referral.restricted,
                linked_at=now,
            ),
        ),
    )


def _publish_received(session: AsyncSession, referral: Referral) -> None:
    publish(
        session,
        ReferralReceived.create(
            subject=referral.id,
            data=ReferralReceivedData(
                referral_id=referral.id,
                household_id=referral.household_id,
                dong=referral.dong,
                channel=referral.channel,
                received_at=referral.received_at,
            ),
        ),
    )


def link_of(referral: Referral) -> dup.Link | None:
    """The stored link of a linked referral (for reads)."""
    if referral.status != "linked" or referral.matched_by is None:
        return None
    return dup.Link(
        dup.MatchedBy(referral.matched_by),
        referral_id=referral.linked_referral_id,
        case_id=referral.linked_case_id,
    )
