"""The hotline service's tables."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, Time, UniqueConstraint, Uuid
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
