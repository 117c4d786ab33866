"""Casework's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
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
        Index("ix_cases_closed_at", "closed_at"),
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
    # When the case entered its current stage (overdue monitoring counts from entering ⑥).
    stage_entered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_monitored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # From the latest needs assessment (domain.assessment.crisis_level).
    crisis_level: Mapped[str | None] = mapped_column(String(20))
    # Household size when the case was opened (from the household projection, if known then):
    # the reports count new cases' people as they were at intake (접수 시점).
    members_at_open: Mapped[int | None] = mapped_column(Integer)


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
        # What the scheduler scans: unclaimed rows by day.
        Index(
            "ix_follow_ups_unclaimed",
            "due_on",
            "id",
            postgresql_where=text("claimed_at IS NULL"),
            sqlite_where=text("claimed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # domain.followup.FollowUpStatus
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # 1 = the 6-month follow-up, 2 = the 12-month one (set at closure).
    sequence: Mapped[int | None] = mapped_column(Integer)
    # Set, with followup.due in the same transaction, by the scheduler that claimed the row.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # domain.followup.FollowUpOutcome
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome_by: Mapped[str | None] = mapped_column(String(100))


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


class Assessment(Base):
    """A needs and crisis assessment (욕구조사): needs per domain with urgency and importance."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_case_id_assessed_at", "case_id", "assessed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"))
    assessed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    assessed_by: Mapped[str | None] = mapped_column(String(100))
    # [{domain, urgency, importance, description, priority}], highest priority first.
    needs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    crisis_level: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class Conference(Base):
    """A case conference (사례회의): internal or integrated with partner agencies."""

    __tablename__ = "conferences"
    __table_args__ = (Index("ix_conferences_held_on_kind", "held_on", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))  # domain.conference.ConferenceKind
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    # [{name, affiliation, agency_id}]
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    minutes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConferenceCase(Base):
    """A case discussed at a conference, with the decision taken for it."""

    __tablename__ = "conference_cases"

    conference_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("conferences.id"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), primary_key=True, index=True)
    decision: Mapped[str] = mapped_column(String(20))  # domain.conference.Decision
    note: Mapped[str | None] = mapped_column(Text)


class Goal(Base):
    """A goal of the service plan: long- or short-term, with a target date and progress."""

    __tablename__ = "goals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    term: Mapped[str] = mapped_column(String(10))  # long | short
    title: Mapped[str] = mapped_column(String(500))
    target_date: Mapped[date] = mapped_column(Date)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | achieved
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))


class PlannedService(Base):
    """A service of the plan; cash and in-kind ones are requested from resources, whose
    answer (approved / rejected) and deliveries are recorded here."""

    __tablename__ = "planned_services"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("goals.id"))
    kind: Mapped[str] = mapped_column(String(20))  # cash | in_kind | intangible
    domain: Mapped[str] = mapped_column(String(20))
    service_code: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # KRW
    quantity: Mapped[int | None] = mapped_column(Integer)
    fund: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # domain.plan.ServiceStatus
    requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_amount: Mapped[int | None] = mapped_column(BigInteger)
    rejection_reason: Mapped[str | None] = mapped_column(String(40))
    rejection_detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))


class ServiceDelivery(Base):
    """A service delivered (서비스 제공 실적): recorded by staff or partners, or from resources'
    ``distribution.delivered``. The reports count these."""

    __tablename__ = "service_deliveries"
    __table_args__ = (
        # Reports aggregate deliveries of a period by kind and domain: a covering index.
        Index(
            "ix_service_deliveries_report",
            "delivered_on",
            "kind",
            "domain",
            "amount",
            "household_id",
            postgresql_include=["provider"],
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    planned_service_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("planned_services.id"))
    kind: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # KRW (in kind: valued, 환가)
    quantity: Mapped[int | None] = mapped_column(Integer)
    delivered_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))  # manual | resources
    # The distribution.delivered event it came from: one delivery per event.
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MonitoringNote(Base):
    """A monitoring contact (점검) during delivery: by visit, phone or through an agency."""

    __tablename__ = "monitoring_notes"
    __table_args__ = (Index("ix_monitoring_notes_case_id_at", "case_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"))
    method: Mapped[str] = mapped_column(String(20))  # visit | phone | agency
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text)
    # [{goal_id, progress}] reported with this note.
    progress: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str | None] = mapped_column(String(100))


class Household(Base):
    """What casework knows of a household, copied from intake's household events: the facts
    the reports count (type, protection status, size, 동). No names, RRNs or addresses."""

    __tablename__ = "households"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dong: Mapped[str] = mapped_column(String(20))
    household_type: Mapped[str | None] = mapped_column(String(30))
    protection_status: Mapped[str | None] = mapped_column(String(30))
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
