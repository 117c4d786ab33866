"""The gateway service's tables: users and sessions, permission changes, the access log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Uuid
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


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, one-way
    role: Mapped[str] = mapped_column(String(30))
    dongs: Mapped[list[str]] = mapped_column(JSON, default=list)
    agency_id: Mapped[str | None] = mapped_column(String(80))
    clearances: Mapped[list[str]] = mapped_column(JSON, default=list)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(200))  # AES-GCM, see secrets_box
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is accepted once
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PermissionChange(Base):
    """Every change of a user's role, scope, clearances or state (kept ≥ 3 years).
    Append-only: the database refuses UPDATE and DELETE."""

    __tablename__ = "permission_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    changed_by: Mapped[str] = mapped_column(String(80))
    change: Mapped[str] = mapped_column(String(40))  # created | updated | locked | unlocked | …
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class AuthSession(Base):
    """A signed-in session: its refresh token (hashed) and its last activity."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    refresh_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AccessLogEntry(Base):
    """The consolidated access log (접속기록): one row per AccessRecorded event, chained by
    hash so an edited or deleted row is detectable. Append-only in the database too."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    access_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    service: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[str] = mapped_column(String(80), index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(20))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(80), index=True)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(300))
    client_address: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
