"""The CloudEvents 1.0 envelope every Heemang event travels in.

Each event type is a subclass that pins ``type`` to a Literal and ``data`` to its own model,
so the catalogue can parse any message through one discriminated union.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from heemang_common.context import current_correlation_id, traceparent_var


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnknownEventType(ValueError):
    """A message whose type no model in this build knows (e.g. from a newer producer)."""


class EventData(BaseModel):
    """Base of every event's ``data``: ids and the few fields consumers need, never PII."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(BaseModel):
    """CloudEvents attributes plus Heemang's correlation/trace extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Topic the type is published on: one topic per aggregate stream.
    topic: ClassVar[str] = ""
    #: Field of ``data`` whose value is the Kafka key (order holds per key); None → subject.
    key_field: ClassVar[str | None] = "household_id"

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    source: str
    subject: str = Field(description="Id of the aggregate the event is about")
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = None
    traceparent: str | None = None
    data: EventData

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["type"].default)

    @classmethod
    def create(cls, *, subject: Any, data: EventData, **attributes: Any) -> Self:
        """Build an event for the current request: source from the type, correlation id
        and traceparent from the context."""
        type_name = cls.type_name()
        attributes.setdefault("correlationid", current_correlation_id())
        attributes.setdefault("traceparent", traceparent_var.get())
        return cls(
            type=type_name,
            source=f"/heemang/{type_name.split('.')[1]}",
            subject=str(subject),
            data=data,
            **attributes,
        )

    def partition_key(self) -> str:
        if self.key_field is not None:
            value = getattr(self.data, self.key_field, None)
            if value is not None:
                return str(value)
        return self.subject

    def to_json(self) -> str:
        return self.model_dump_json()
