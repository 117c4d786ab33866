"""Household register use cases: register, read (masked), change with history, RRN lookup,
key rotation. Services flush; the edge commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from heemang_common.auth import Principal
from heemang_common.errors import Conflict, Invalid, NotFound
from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import (
    HouseholdRegistered,
    HouseholdRegisteredData,
    HouseholdUpdated,
    HouseholdUpdatedData,
)
from heemang_common.masking import mask_address, mask_name, mask_phone, mask_rrn
from heemang_intake.api.schemas import (
    REQUIRED_ON_UPDATE,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    PersonRead,
)
from heemang_intake.crypto import RrnProtector
from heemang_intake.db import repositories
from heemang_intake.db.models import Household, HouseholdChange, Person
from heemang_intake.domain import access
from heemang_intake.domain import household as rules
from heemang_intake.domain import rrn as rrn_rules
from heemang_intake.events.publish import publish


@dataclass(frozen=True)
class Register:
    """What the register's use cases need besides the session (built once per app)."""

    protector: RrnProtector
    dongs: frozenset[str]


async def register_household(
    session: AsyncSession, ctx: Register, data: HouseholdCreate, actor: str | None = None
) -> Household:
    rules.check_dong(data.dong, ctx.dongs)
    rules.check_members([m.is_head for m in data.members], [m.relationship for m in data.members])
    today = date.today()
    parsed: list[rrn_rules.Rrn | None] = []
    for index, member in enumerate(data.members):
        if member.rrn is None:
            parsed.append(None)
            continue
        try:
            number = rrn_rules.parse(member.rrn.get_secret_value(), today=today)
        except rrn_rules.InvalidRrn as exc:
            raise rrn_rules.InvalidRrn(f"member {index}: {exc.detail}", member=index) from None
        rules.check_birth_date(index, member.birth_date, number.birth_date)
        parsed.append(number)
    hashes = [ctx.protector.lookup_hash(n.digits) if n else None for n in parsed]
    present = [h for h in hashes if h]
    if len(set(present)) != len(present):
        raise Invalid("two members have the same RRN")
    existing = await repositories.persons_by_rrn_hashes(session, present)
    if existing:
        raise Conflict(
            "a member's RRN is already registered in another household",
            household_ids=sorted({str(p.household_id) for p in existing}),
        )

    now = utcnow()
    household = Household(
        id=uuid.uuid4(),
        dong=data.dong,
        created_at=now,
        household_type=data.household_type.value,
        protection_status=data.protection_status.value,
        address=data.address,
        phone=data.phone,
        income_monthly=data.income_monthly,
        property_value=data.property_value,
        financial_assets=data.financial_assets,
        means_basis=data.means_basis.value if data.means_basis else None,
        means_as_of=data.means_as_of,
    )
    session.add(household)
    await session.flush()
    for position, (member, maybe_rrn, digest) in enumerate(zip(data.members, parsed, hashes, strict=True)):
        person = Person(
            id=uuid.uuid4(),
            household_id=household.id,
            name=member.name.strip(),
            birth_date=maybe_rrn.birth_date if maybe_rrn else member.birth_date,
            relationship=member.relationship.value,
            is_head=member.is_head,
            position=position,
            rrn_hmac=digest,
            created_at=now,
        )
        if maybe_rrn is not None:
            sealed = ctx.protector.encrypt(maybe_rrn.digits, person.id.bytes)
            person.rrn_ciphertext, person.rrn_key_id = sealed.token, sealed.key_id
        session.add(person)
    session.add(
        HouseholdChange(
            household_id=household.id,
            at=now,
            actor=actor,
            field="registered",
            old_value=None,
            new_value=f"{len(data.members)} members",
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent registration of the same RRN won the unique index on rrn_hmac. The
        # driver's message may quote the hash (never the RRN); it is not passed on.
        raise Conflict("a member's RRN is already registered in another household") from None
    publish(
        session,
        HouseholdRegistered.create(
            subject=household.id,
            data=HouseholdRegisteredData(
                household_id=household.id,
                dong=household.dong,
                household_type=data.household_type.value,
                protection_status=data.protection_status.value,
                member_count=len(data.members),
                registered_at=now,
            ),
        ),
    )
    return household


async def get_household(session: AsyncSession, household_id: uuid.UUID) -> Household:
    household = await repositories.get_household(session, household_id)
    if household is None:
        raise NotFound(f"household {household_id} not found")
    return household


async def read_household(session: AsyncSession, ctx: Register, household_id: uuid.UUID) -> HouseholdRead:
    household = await get_household(session, household_id)
    members = await repositories.members_of(session, household_id)
    return to_read(household, members, ctx.protector)


def to_read(household: Household, members: Sequence[Person], protector: RrnProtector) -> HouseholdRead:
    """The one serializer of a household: every personal field through the common policy.

    The RRN is decrypted only to be masked at once (the century digit the mask shows is
    not stored anywhere else). Only reveal_rrn returns the whole number (cleared callers)."""
    return HouseholdRead(
        id=household.id,
        dong=household.dong,
        household_type=household.household_type,
        protection_status=household.protection_status,
        address=mask_address(household.address) if household.address else None,
        phone=mask_phone(household.phone) if household.phone else None,
        income_monthly=household.income_monthly,
        property_value=household.property_value,
        financial_assets=household.financial_assets,
        means_basis=household.means_basis,
        means_as_of=household.means_as_of,
        created_at=household.created_at,
        updated_at=household.updated_at,
        restricted=household.restricted,
        members=[
            PersonRead(
                id=p.id,
                name=mask_name(p.name),
                birth_date=p.birth_date,
                relationship=p.relationship,
                is_head=p.is_head,
                rrn=_masked_rrn(p, protector),
            )
            for p in members
        ],
    )


def _masked_rrn(person: Person, protector: RrnProtector) -> str | None:
    if person.rrn_ciphertext is None:
        return None
    return mask_rrn(protector.decrypt(person.rrn_ciphertext, person.id.bytes))


async def update_household(
    session: AsyncSession, ctx: Register, household: Household, data: HouseholdUpdate, principal: Principal
) -> Household:
    """Apply the changes the caller may make (moving a household to a 동 needs that 동 in
    scope too) and record each in the history under the caller's id."""
    actor = principal.subject
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    cleared = sorted(name for name, value in changes.items() if value is None and name in REQUIRED_ON_UPDATE)
    if cleared:
        raise Invalid(f"{', '.join(cleared)} cannot be cleared")
    if "dong" in changes:
        rules.check_dong(changes["dong"], ctx.dongs)
        access.check_write_dong(principal, changes["dong"])
    now = utcnow()
    changed: list[str] = []
    for name, new in changes.items():
        stored = new.value if hasattr(new, "value") else new
        old = getattr(household, name)
        if old == stored:
            continue
        session.add(
            HouseholdChange(
                household_id=household.id,
                at=now,
                actor=actor,
                field=name,
                old_value=rules.history_value(name, old),
                new_value=rules.history_value(name, stored),
            )
        )
        setattr(household, name, stored)
        changed.append(name)
    if not changed:
        return household
    household.updated_at = now
    await session.flush()
    publish(
        session,
        HouseholdUpdated.create(
            subject=household.id,
            data=HouseholdUpdatedData(
                household_id=household.id,
                dong=household.dong,
                household_type=household.household_type,
                protection_status=household.protection_status,
                member_count=await repositories.count_members(session, household.id),
                changed_fields=changed,
                updated_at=now,
            ),
        ),
    )
    return household


async def history(session: AsyncSession, household_id: uuid.UUID) -> Sequence[HouseholdChange]:
    await get_household(session, household_id)
    return await repositories.history_of(session, household_id)


async def lookup_by_rrn(session: AsyncSession, ctx: Register, rrn: str) -> Household:
    """Find the household of the person with this RRN, through the HMAC only."""
    number = rrn_rules.parse(rrn)
    person = await repositories.person_by_rrn_hash(session, ctx.protector.lookup_hash(number.digits))
    if person is None:
        raise NotFound("no person with this RRN is registered")
    return await get_household(session, person.household_id)


async def visible_household(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID
) -> Household:
    """The household if the caller's scope covers it (403 outside the 동s, 404 when
    restricted and not cleared, as if it did not exist)."""
    household = await get_household(session, household_id)
    access.check_household(principal, household.dong, household.restricted)
    return household


async def list_households(
    session: AsyncSession,
    ctx: Register,
    principal: Principal,
    dongs: Sequence[str] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[HouseholdRead]:
    access.require_register_role(principal)
    scope = access.scope_of(principal)
    rows = await repositories.household_page(
        session, access.visible_dongs(scope, dongs), scope.restricted, after, limit
    )
    members = await repositories.members_of_many(session, [h.id for h in rows])
    return [to_read(h, members[h.id], ctx.protector) for h in rows]


async def reveal_rrn(
    session: AsyncSession, ctx: Register, principal: Principal, household_id: uuid.UUID, person_id: uuid.UUID
) -> str:
    """The whole RRN of one member, for a cleared caller in an MFA session."""
    access.check_reveal(principal)
    await visible_household(session, principal, household_id)
    person = await repositories.get_person(session, person_id)
    if person is None or person.household_id != household_id:
        raise NotFound(f"person {person_id} is not a member of household {household_id}")
    if person.rrn_ciphertext is None:
        raise NotFound("no RRN is recorded for this person")
    digits = ctx.protector.decrypt(person.rrn_ciphertext, person.id.bytes)
    return f"{digits[:6]}-{digits[6:]}"


# ----------------------------------------------------------------- key rotation


@dataclass
class RotationReport:
    rotated: int = 0
    batches: int = 0
    by_key_before: dict[str, int] = field(default_factory=dict)
    by_key_after: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"rotated {self.rotated} RRNs in {self.batches} batches; "
            f"before {self.by_key_before or '{}'}; after {self.by_key_after or '{}'}"
        )


async def rotate_keys(
    sessionmaker: async_sessionmaker[AsyncSession], protector: RrnProtector, batch_size: int = 500
) -> RotationReport:
    """Re-encrypt every stored RRN under the active key: one transaction per batch, so a
    crash loses at most a batch of work and a rerun picks up where it stopped (rows already
    under the active key are never selected: running it twice rotates nothing the second
    time). A row whose key is no longer configured stops the run with its key id."""
    report = RotationReport()
    async with sessionmaker() as session, session.begin():
        report.by_key_before = await repositories.count_encrypted_rrns(session)
    while True:
        async with sessionmaker() as session, session.begin():
            batch = await repositories.persons_not_under_key(session, protector.active_key_id, batch_size)
            for person in batch:
                assert person.rrn_ciphertext is not None
                sealed = protector.reencrypt(person.rrn_ciphertext, person.id.bytes)
                person.rrn_ciphertext, person.rrn_key_id = sealed.token, sealed.key_id
        if not batch:
            break
        report.rotated += len(batch)
        report.batches += 1
    async with sessionmaker() as session, session.begin():
        report.by_key_after = await repositories.count_encrypted_rrns(session)
    return report
