"""Domain events: the CloudEvents envelope, one model per type, the catalogue."""

from heemang_common.events.catalogue import all_topics, event_types, parse_event
from heemang_common.events.envelope import Event, EventData, UnknownEventType

__all__ = ["Event", "EventData", "UnknownEventType", "all_topics", "event_types", "parse_event"]
