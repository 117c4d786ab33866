"""The hotline service's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heemang_common.db import UtcDateTime, new_metadata
from heemang_common.outbox import InboxMixin, OutboxMixin, RelayStateMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class RelayState(RelayStateMixin, Base):
    pass


class Consultation(Base):
    """One call or visit at the welfare call centre."""

    __tablename__ = "consultations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    dong: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))  # call | visit
    category: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(30))
    notes: Mapped[str] = mapped_column(Text, default="")
    counsellor: Mapped[str | None] = mapped_column(String(100))  # from the token once auth lands


class LocalSms(Base):
    """What the local SMS provider 'sent' (`make run` and tests only)."""

    __tablename__ = "local_sms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(64), unique=True)
    to_masked: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(3))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CheckinProgramme(Base):
    """헬로안심, 희망콜, 희망메시지, birthday and holiday messages."""

    __tablename__ = "checkin_programmes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Enrolment(Base):
    __tablename__ = "checkin_enrolments"
    __table_args__ = (UniqueConstraint("programme_id", "household_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkin_programmes.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dong: Mapped[str] = mapped_column(String(20))
    weekday: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[time] = mapped_column(Time)
    window_end: Mapped[time] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(20))  # manual | case_closed
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # intake's person, when known
    #: AES-GCM (crypto.ContactProtector, the row id as AAD); null = "needs contact number".
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC, for replies


class CheckinSlot(Base):
    """One scheduled check-in and its outcome; unique per enrolment and slot, so a slot is
    never called (or recorded) twice."""

    __tablename__ = "checkin_slots"
    __table_args__ = (UniqueConstraint("enrolment_id", "slot_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkin_enrolments.id"), index=True)
    slot_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DoNotContact(Base):
    """A person or household nobody may contact from hotline (e.g. a DV victim on a shared
    phone). Set by intake/casework staff; checked before every check-in, message and send."""

    __tablename__ = "do_not_contact"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_kind: Mapped[str] = mapped_column(String(10))  # household | person
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    dong: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ContactRefusal(Base):
    """A send refused before it reached a provider (the log the issue asks for)."""

    __tablename__ = "contact_refusals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(20))  # checkin | message | campaign
    reference_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the call or send refused
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(30))


class CheckinCall(Base):
    """One planned automated check-in (slot) and its attempts: the scheduler's durable state.
    Unique per enrolment and slot, so planning twice plans once; claims are leased, so a
    crashed worker's slot is retaken with the same attempt id (the provider deduplicates)."""

    __tablename__ = "checkin_calls"
    __table_args__ = (UniqueConstraint("enrolment_id", "slot_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkin_enrolments.id"))
    slot_at: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: planned | calling (leased) | awaiting (sent, waiting for a reply) | done | refused | skipped
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HouseholdFact(Base):
    """Projection of intake's household events: what auto-enrolment needs (no PII)."""

    __tablename__ = "household_facts"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dong: Mapped[str] = mapped_column(String(20))
    household_type: Mapped[str | None] = mapped_column(String(30))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseClosure(Base):
    """Cases casework closed, kept so either event order (closure, household type) enrols."""

    __tablename__ = "case_closures"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    dong: Mapped[str] = mapped_column(String(20))
    closure_reason: Mapped[str] = mapped_column(String(30))
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookSeen(Base):
    """Ids of the gateway's signed callbacks already handled: a replay has no second effect."""

    __tablename__ = "sms_webhooks_seen"

    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Subscriber(Base):
    """A number that opted in to a notice topic (e.g. 임대주택 문자 알림), with its consent."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("topic", "phone_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    topic: Mapped[str] = mapped_column(String(40), index=True)
    phone_enc: Mapped[str] = mapped_column(Text)  # AES-GCM, the row id as AAD
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms
    consent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dong: Mapped[str | None] = mapped_column(String(20))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    household_type: Mapped[str | None] = mapped_column(String(30))
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SmsCampaign(Base):
    __tablename__ = "sms_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    topic: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(3))  # sms | lms
    filters: Mapped[dict[str, object]] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))  # draft | sending | completed
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CampaignSend(Base):
    """One recipient of one campaign: the durable send table. Unique per (campaign,
    subscriber), and its id is the message id the provider deduplicates on, so a crash
    mid-send and a restart give every subscriber exactly one message."""

    __tablename__ = "campaign_sends"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        Index("ix_campaign_sends_campaign_id_status", "campaign_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sms_campaigns.id"))
    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"))
    #: pending | sending (leased) | sent | failed | refused | opted_out
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    delivery: Mapped[str | None] = mapped_column(String(10))  # delivered | failed (report)
    error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SmsDailySpend(Base):
    """What bulk sends cost per KST day, against HOTLINE_SMS_DAILY_CAP_KRW."""

    __tablename__ = "sms_daily_spend"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_krw: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
