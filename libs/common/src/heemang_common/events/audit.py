"""The access-log event every service publishes when personal data is read or exported.

Producer-neutral (``heemang.audit.…``): the envelope's ``source`` names the service. The
gateway consumes these into the consolidated, hash-chained access log (접속기록) that
auditors query; the entry is written in the same transaction as the read's outbox, so a
served record without its log entry cannot happen.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field

from heemang_common.events import topics
from heemang_common.events.envelope import Event, EventData

AccessAction = Literal["read", "list", "search", "reveal", "export", "download"]


class AccessRecordedData(EventData):
    access_id: uuid.UUID
    service: str = Field(description="The service that served the data")
    actor_id: str = Field(description="The user's id at the gateway (식별자)")
    actor_name: str
    actor_role: str
    action: AccessAction = Field(description="What was done with the record (수행업무)")
    record_type: str = Field(description="household, person, referral, case, consultation…")
    record_id: str
    household_id: uuid.UUID | None = Field(description="The data subject's household (정보주체)")
    purpose: str = Field(description="Why: the stated purpose or the route's task")
    reason: str | None = Field(description="The reason stated for an export or download")
    client_address: str = Field(description="Where from (접속지): the client's IP address")
    occurred_at: datetime


class AccessRecorded(Event):
    """Personal data was read, revealed or exported (one entry of the access log)."""

    topic: ClassVar[str] = topics.AUDIT_ACCESS
    key_field: ClassVar[str | None] = "record_id"
    type: Literal["heemang.audit.access.recorded.v1"] = "heemang.audit.access.recorded.v1"
    data: AccessRecordedData

    @classmethod
    def example(cls) -> AccessRecorded:
        """A realistic instance, for the docs and the schema tests."""
        return cls.create(
            subject="6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f",
            data=AccessRecordedData(
                access_id=uuid.UUID("0b8f5c1e-2a3d-4e5f-9a8b-7c6d5e4f3a2b"),
                service="intake",
                actor_id="u-1024",
                actor_name="김민지",
                actor_role="dong_officer",
                action="read",
                record_type="household",
                record_id="6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f",
                household_id=uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f"),
                purpose="Read a household (masked)",
                reason=None,
                client_address="10.20.30.40",
                occurred_at=datetime(2026, 11, 23, 0, 30, tzinfo=UTC),
            ),
        )


EVENTS: list[type[Event]] = [AccessRecorded]

