"""The catalogue: every event type this build knows, parsed through one discriminated union.

A change to a published type is a new version (``.v2``); an upcaster turns the old payload
into the new one so consumers handle a single shape while old events are still around.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from heemang_common.events import audit, casework, hotline, intake, resources, topics
from heemang_common.events.envelope import Event, UnknownEventType

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: old type name → function returning the envelope dict of the next version.
UPCASTERS: dict[str, Upcaster] = {}


def event_types() -> list[type[Event]]:
    return [*intake.EVENTS, *casework.EVENTS, *resources.EVENTS, *hotline.EVENTS, *audit.EVENTS]


def all_topics() -> list[str]:
    return list(topics.ALL_TOPICS)


@cache
def _adapter() -> TypeAdapter[Event]:
    union = Union[tuple(event_types())]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="type")])  # type: ignore[arg-type]


@cache
def _known_types() -> frozenset[str]:
    return frozenset(cls.type_name() for cls in event_types())


def upcast(envelope: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    while envelope.get("type") in UPCASTERS:
        type_name = envelope["type"]
        if type_name in seen:
            raise ValueError(f"upcaster cycle at {type_name}")
        seen.add(type_name)
        envelope = UPCASTERS[type_name](envelope)
    return envelope


def parse_event(raw: bytes | str | dict[str, Any]) -> Event:
    """Parse a message into its event model. Raises UnknownEventType for types this build
    does not know and pydantic.ValidationError for a malformed known type."""
    envelope = raw if isinstance(raw, dict) else json.loads(raw)
    if not isinstance(envelope, dict):
        raise ValueError("an event must be a JSON object")
    envelope = upcast(envelope)
    if envelope.get("type") not in _known_types():
        raise UnknownEventType(str(envelope.get("type")))
    return _adapter().validate_python(envelope)


def peek_type(raw: bytes) -> str | None:
    """The type of a raw message without validating it, or None if it is not JSON."""
    try:
        envelope = json.loads(raw)
    except ValueError:
        return None
    return envelope.get("type") if isinstance(envelope, dict) else None
