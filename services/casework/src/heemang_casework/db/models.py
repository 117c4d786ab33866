"""Casework's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
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


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # The 동's case list with filters, in (opened_at, id) cursor order.
        Index("ix_cases_dong_stage_opened_at_id", "dong", "stage", "opened_at", "id"),
        Index("ix_cases_dong_opened_at_id", "dong", "opened_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # One case per referral: a redelivered referral.accepted can never open a second one.
    referral_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    dong: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # Set when the case leaves ③ selection: case_management | service_linkage | not_selected.
    selection: Mapped[str | None] = mapped_column(String(20))
    selection_reason: Mapped[str | None] = mapped_column(String(500))
    # Set at 종결 (never for 미선정): a domain.closure.ClosureReason value.
    closure_reason: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Assignment (capability 7): the main case manager (gateway user id) and whether the case
    # is restricted (domestic violence: readable only with Clearance.RESTRICTED).
    case_manager_id: Mapped[str | None] = mapped_column(String(100), index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseAgency(Base):
    """A partner agency assigned to a case: it may read the case and record its services."""

    __tablename__ = "case_agencies"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseTimelineEntry(Base):
    """What happened to a case, in order: opened, every stage change (later: conferences,
    services, monitoring). Append-only."""

    __tablename__ = "case_timeline"
    __table_args__ = (Index("ix_case_timeline_case_id_at", "case_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))  # opened | stage_changed | alert | alert_acknowledged
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    # Who did it; null until authentication arrives.
    actor: Mapped[str | None] = mapped_column(String(100))


class FollowUp(Base):
    """A 사후관리 visit due after closure, written at closure; the scheduler claims due rows."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        # At most one follow-up per case and day, so a retried closure cannot double them.
        UniqueConstraint("case_id", "due_on", name="uq_follow_ups_case_id_due_on"),
        Index("ix_follow_ups_status_due_on", "status", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Alert(Base):
    """Something on an open case that needs its case manager now (a missed check-in), shown in
    the work list until acknowledged. Raised from a consumed event, at most once per event."""

    __tablename__ = "alerts"
    __table_args__ = (
        # The work list: unacknowledged alerts, urgent first, oldest first.
        Index("ix_alerts_acknowledged_at_urgent_raised_at", "acknowledged_at", "urgent", "raised_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # domain.alerts.AlertKind
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The event that raised it: a redelivery (even past the inbox) cannot raise a second alert.
    source_event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # programme, reason, consecutive_misses, enrolment_id, detected_at, history.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Who acknowledged it; null until authentication arrives.
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
