"""What partners receive: thin payloads built from an explicit allow-list per event type.

A partner agency learns that something happened to a case assigned to it, with ids, codes,
stages and dates — and fetches anything more through the API, where its scope is checked.
Never an RRN, a name, a health detail, a 동, an amount or free text: a field reaches a
partner only if it is listed here (a new field on an internal event stays internal).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from heemang_common.events import Event
from heemang_common.events.casework import (
    AlertRaised,
    AlertRaisedData,
    CaseAssigned,
    CaseClosed,
    CaseClosedData,
    CaseOpened,
    CaseOpenedData,
    CaseStageChanged,
    CaseStageChangedData,
    FollowUpDue,
    ServiceRequested,
)
from heemang_common.events.envelope import EventData
from heemang_common.events.resources import AllocationApproved, AllocationRejected, DistributionDelivered

TEST_EVENT = "webhook.test.v1"


@dataclass(frozen=True)
class PartnerType:
    name: str  # what partners subscribe to
    source: type[Event]  # the internal event it is built from
    fields: tuple[str, ...]  # the allow-list of the source's data fields
    description: str


PARTNER_TYPES: dict[str, PartnerType] = {
    t.name: t
    for t in (
        PartnerType(
            "case.assigned.v1",
            CaseAssigned,
            ("case_id", "assigned_at"),
            "Your agency was assigned to a case (or its assignment changed).",
        ),
        PartnerType(
            "case.opened.v1",
            CaseOpened,
            ("case_id", "stage", "opened_at"),
            "A case your agency is assigned to was opened.",
        ),
        PartnerType(
            "case.stage_changed.v1",
            CaseStageChanged,
            ("case_id", "from_stage", "to_stage", "at"),
            "A case moved to another stage of integrated case management.",
        ),
        PartnerType(
            "case.closed.v1",
            CaseClosed,
            ("case_id", "closed_at", "follow_up_due"),
            "A case was closed (종결); the follow-up (사후관리) dates are included.",
        ),
        PartnerType(
            "alert.raised.v1",
            AlertRaised,
            ("alert_id", "case_id", "kind", "urgent", "raised_at"),
            "An alert was raised on a case (e.g. a missed check-in).",
        ),
        PartnerType(
            "service.requested.v1",
            ServiceRequested,
            ("request_id", "case_id", "kind", "requested_at"),
            "A service of the case's plan was requested from resources.",
        ),
        PartnerType(
            "service.approved.v1",
            AllocationApproved,
            ("allocation_id", "request_id", "case_id", "approved_at"),
            "Resources approved a requested service (amount and fund stay internal).",
        ),
        PartnerType(
            "service.rejected.v1",
            AllocationRejected,
            ("request_id", "case_id", "rejected_at"),
            "Resources could not fund a requested service (the reason stays internal).",
        ),
        PartnerType(
            "service.delivered.v1",
            DistributionDelivered,
            ("allocation_id", "request_id", "case_id", "delivered_at"),
            "Support reached the household.",
        ),
        PartnerType(
            "followup.due.v1",
            FollowUpDue,
            ("follow_up_id", "case_id", "due_on", "sequence"),
            "A follow-up (사후관리) of a closed case fell due.",
        ),
    )
}
BY_SOURCE: dict[str, PartnerType] = {t.source.type_name(): t for t in PARTNER_TYPES.values()}
SUBSCRIBABLE: frozenset[str] = frozenset(PARTNER_TYPES) | {TEST_EVENT}


def thin_data(partner_type: PartnerType, data: EventData) -> dict[str, Any]:
    dumped = data.model_dump(mode="json")
    return {name: dumped[name] for name in partner_type.fields}


def body_bytes(type_name: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) on every attempt: stored once at fan-out."""
    document = {"type": type_name, "timestamp": timestamp.astimezone(UTC).isoformat(), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def partner_body(event: Event) -> tuple[str, bytes] | None:
    """(partner type, body) for an internal event, or None if partners never see its type."""
    partner_type = BY_SOURCE.get(event.type)
    if partner_type is None:
        return None
    return partner_type.name, body_bytes(partner_type.name, event.time, thin_data(partner_type, event.data))


def test_body(endpoint_id: uuid.UUID, now: datetime) -> bytes:
    return body_bytes(TEST_EVENT, now, {"endpoint_id": str(endpoint_id), "message": "test event"})


def _example_event(source: type[Event]) -> Event:
    example = getattr(source, "example", None)
    if example is not None:
        event: Event = example()
        return event
    return _EXAMPLES[source]()


def _opened() -> Event:
    return CaseOpened.create(
        subject=_CASE,
        data=CaseOpenedData(
            case_id=_CASE,
            household_id=_HOUSEHOLD,
            referral_id=None,
            dong="sinsa",
            stage="intake",
            opened_at=_AT,
        ),
    )


def _stage_changed() -> Event:
    return CaseStageChanged.create(
        subject=_CASE,
        data=CaseStageChangedData(
            case_id=_CASE,
            household_id=_HOUSEHOLD,
            from_stage="assessment",
            to_stage="selection",
            at=_AT,
        ),
    )


def _closed() -> Event:
    return CaseClosed.create(
        subject=_CASE,
        data=CaseClosedData(
            case_id=_CASE,
            household_id=_HOUSEHOLD,
            dong="sinsa",
            closure_reason="short_term_goal_met",
            reason_category="positive",
            closed_at=_AT,
            follow_up_due=[date(2027, 5, 23)],
        ),
    )


def _alert() -> Event:
    return AlertRaised.create(
        subject=_CASE,
        data=AlertRaisedData(
            alert_id=uuid.UUID("3b2a1f0e-9d8c-4b7a-8f6e-5d4c3b2a1f0e"),
            case_id=_CASE,
            household_id=_HOUSEHOLD,
            dong="sinsa",
            kind="checkin_missed",
            urgent=True,
            raised_at=_AT,
        ),
    )


_CASE = uuid.UUID("0d7c3b9a-1e2f-4a5b-8c6d-7e8f9a0b1c2d")
_HOUSEHOLD = uuid.UUID("6f1c2a8e-3d4b-4c5d-8e9f-0a1b2c3d4e5f")
_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
_EXAMPLES = {CaseOpened: _opened, CaseStageChanged: _stage_changed, CaseClosed: _closed, AlertRaised: _alert}


def catalogue() -> list[dict[str, Any]]:
    """The subscribable types with an example body each (for the event-types page)."""
    items = []
    for partner_type in PARTNER_TYPES.values():
        rendered = partner_body(_example_event(partner_type.source))
        assert rendered is not None
        items.append(
            {
                "type": partner_type.name,
                "description": partner_type.description,
                "fields": list(partner_type.fields),
                "example": json.loads(rendered[1]),
            }
        )
    items.append(
        {
            "type": TEST_EVENT,
            "description": "Sent by the test-event button of an endpoint; always delivered.",
            "fields": ["endpoint_id", "message"],
            "example": json.loads(test_body(uuid.UUID(int=0), _AT)),
        }
    )
    return items
