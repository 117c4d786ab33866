"""Intake's tables. Households are the master record other services refer to by id."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heemang_common.db import UtcDateTime, new_metadata
from heemang_common.events.envelope import utcnow
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class RelayState(RelayStateMixin, Base):
    pass


#: Integer KRW that can exceed 2^31 (property values).
Krw = BigInteger().with_variant(Integer, "sqlite")


class Household(Base):
    """세대. Referrals without a registered household create a minimal one (dong only);
    the register fills in the rest. Enumerated values are stored as their codes."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dong: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    household_type: Mapped[str | None] = mapped_column(String(30))
    protection_status: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(30))
    income_monthly: Mapped[int | None] = mapped_column(Krw)
    property_value: Mapped[int | None] = mapped_column(Krw)
    financial_assets: Mapped[int | None] = mapped_column(Krw)
    means_basis: Mapped[str | None] = mapped_column(String(10))
    means_as_of: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Named by a restricted (domestic-violence) referral: visible only with the clearance.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class Person(Base):
    """A household member. The RRN is held only as AES-GCM ciphertext (``rrn_ciphertext``,
    ``v1:<kid>:…``) and an HMAC-SHA256 lookup hash; ``rrn_key_id`` mirrors the kid so
    rotate-keys can find the rows still under an old key."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    relationship: Mapped[str] = mapped_column(String(20))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order members are listed in
    rrn_ciphertext: Mapped[str | None] = mapped_column(Text)
    rrn_key_id: Mapped[str | None] = mapped_column(String(40), index=True)
    rrn_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HouseholdChange(Base):
    """Who changed what, when. Values of personal fields are stored masked, never raw;
    an RRN is never stored here at all."""

    __tablename__ = "household_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(100))  # the principal's subject (verified token)
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class Referral(Base):
    """A referral and its path: ``received`` (in the 동's triage queue) → ``accepted``
    (casework opens a case), ``linked`` (to an open referral or case of the household) or
    ``rejected`` (with a reason)."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_queue", "dong", "status", "priority", "received_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    dong: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    summary: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(10))
    importance: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: What the referral was made from, for channels that come from another service's event
    #: (hotline: the consultation's request_id; checkin_missed: the escalation event's id).
    #: Unique, so a replayed event can never make a second referral.
    source_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: 초기상담: the counsellor's notes of a walk-in or phone consultation.
    notes: Mapped[str | None] = mapped_column(Text)
    #: Volunteer kind (neighbour_watcher 이웃살피미, honorary_officer 명예사회복지공무원).
    reporter_kind: Mapped[str | None] = mapped_column(String(30))
    submitted_by: Mapped[str | None] = mapped_column(String(100))  # the principal's subject
    submitted_by_agency: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Receipt number given to an anonymous red-postbox reporter (the only thing echoed).
    receipt_no: Mapped[str | None] = mapped_column(String(30), unique=True)
    assigned_to: Mapped[str | None] = mapped_column(String(100), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    linked_referral_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    linked_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: How the household was matched when linked: household_id, rrn, name_birth_address.
    matched_by: Mapped[str | None] = mapped_column(String(30))
    #: Bulk-screening rows: their batch, row number, investigation deadline and outcome.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    batch_row: Mapped[int | None] = mapped_column(Integer)
    due_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(30))


class ImportBatch(Base):
    """One uploaded screening list (행복e음 발굴 대상자): its rows became referrals of
    channel bulk_screening with this batch id, assigned to 동 officers with a deadline."""

    __tablename__ = "import_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    total_rows: Mapped[int] = mapped_column(Integer)
    accepted_rows: Mapped[int] = mapped_column(Integer)
    duplicate_rows: Mapped[int] = mapped_column(Integer)
    rejected_rows: Mapped[int] = mapped_column(Integer)


class OpenCase(Base):
    """Intake's projection of casework's open cases, from ``case.opened``,
    ``case.stage_changed`` and ``case.closed``: whether a household already has a case
    manager. A row per case at any stage but ⑦ closed (⑧ follow-up is open again)."""

    __tablename__ = "open_cases"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    stage: Mapped[str] = mapped_column(String(20))
    #: When the case (re)entered the projection: opened, or moved to follow-up.
    since: Mapped[datetime] = mapped_column(UtcDateTime)
