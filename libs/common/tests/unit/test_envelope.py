from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from heemang_common.context import correlation_id_var
from heemang_common.events import UnknownEventType, catalogue, parse_event
from heemang_common.events.intake import ReferralAccepted, ReferralAcceptedData


def _accepted(**overrides: object) -> ReferralAccepted:
    data = ReferralAcceptedData(
        referral_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        dong="d1",
        channel="phone",
        priority=3,
        accepted_at=datetime.now(UTC),
    )
    return ReferralAccepted.create(subject=data.referral_id, data=data, **overrides)


def test_envelope_has_cloudevents_attributes_and_round_trips() -> None:
    event = _accepted()
    wire = json.loads(event.to_json())
    assert wire["specversion"] == "1.0"
    assert wire["type"] == "heemang.intake.referral.accepted.v1"
    assert wire["source"] == "/heemang/intake"
    assert wire["subject"] == str(event.data.referral_id)
    assert parse_event(event.to_json()) == event


def test_key_is_the_household_so_order_holds_per_household() -> None:
    event = _accepted()
    assert event.partition_key() == str(event.data.household_id)
    assert event.topic == "heemang.intake.referral"


def test_correlation_id_comes_from_the_request_context() -> None:
    token = correlation_id_var.set("req-123")
    try:
        assert _accepted().correlationid == "req-123"
    finally:
        correlation_id_var.reset(token)


def test_unknown_type_and_malformed_event_are_told_apart() -> None:
    with pytest.raises(UnknownEventType):
        parse_event(json.dumps({"type": "heemang.x.y.z.v9", "id": str(uuid.uuid4())}))
    wire = json.loads(_accepted().to_json())
    wire["data"]["priority"] = 42
    with pytest.raises(ValidationError):
        parse_event(wire)
    wire = json.loads(_accepted().to_json())
    wire["data"]["rrn"] = "900101-1234567"  # extra fields (e.g. PII) are refused
    with pytest.raises(ValidationError):
        parse_event(wire)


def test_upcaster_turns_an_old_version_into_the_current_one(monkeypatch: pytest.MonkeyPatch) -> None:
    current = json.loads(_accepted().to_json())
    old = dict(current, type="heemang.intake.referral.accepted.v0")
    old["data"] = {k: v for k, v in current["data"].items() if k != "priority"}

    def v0_to_v1(envelope: dict[str, object]) -> dict[str, object]:
        data = dict(envelope["data"], priority=5)  # type: ignore[arg-type]
        return dict(envelope, type="heemang.intake.referral.accepted.v1", data=data)

    monkeypatch.setitem(catalogue.UPCASTERS, "heemang.intake.referral.accepted.v0", v0_to_v1)
    event = parse_event(old)
    assert isinstance(event, ReferralAccepted) and event.data.priority == 5
