"""Events resources publishes (allocations, distributions, campaigns)."""

from __future__ import annotations

from heemang_common.events.envelope import Event

EVENTS: list[type[Event]] = []
