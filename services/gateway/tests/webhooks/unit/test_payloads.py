"""Thin payloads (T14's webhook part): only allow-listed fields leave the gateway."""

from __future__ import annotations

import json

from heemang_common.events.casework import EVENTS
from heemang_gateway.webhooks import payloads

PERSONAL_OR_LOCATING = {
    "household_id",
    "dong",
    "referral_id",
    "case_manager_id",
    "agencies",
    "restricted",
    "closure_reason",
    "reason",
    "reason_category",
    "selection",
    "provider",
    "service_code",
    "domain",
    "amount",
    "quantity",
    "fund",
}


def test_allow_lists_name_real_fields_and_nothing_personal() -> None:
    for partner_type in payloads.PARTNER_TYPES.values():
        data_model = partner_type.source.model_fields["data"].annotation
        assert set(partner_type.fields) <= set(data_model.model_fields), partner_type.name  # type: ignore[union-attr]
        assert not set(partner_type.fields) & PERSONAL_OR_LOCATING, partner_type.name


def test_every_example_body_carries_only_its_allow_list() -> None:
    for item in payloads.catalogue():
        body = item["example"]
        assert set(body["data"]) == set(item["fields"])
        text = json.dumps(body)
        assert "6f1c2a8e" not in text and "sinsa" not in text  # the examples' household and 동


def test_unmapped_events_are_never_sent() -> None:
    mapped = {t.source for t in payloads.PARTNER_TYPES.values()}
    for cls in EVENTS:
        example = getattr(cls, "example", None)
        if cls not in mapped and example is not None:
            assert payloads.partner_body(example()) is None


def test_body_is_stable_bytes() -> None:
    from heemang_common.events.casework import CaseAssigned

    event = CaseAssigned.example()
    assert payloads.partner_body(event) == payloads.partner_body(event)
    name, body = payloads.partner_body(event) or ("", b"")
    assert name == "case.assigned.v1"
    assert json.loads(body)["data"] == {
        "case_id": str(event.data.case_id),
        "assigned_at": "2026-11-23T01:00:00Z",
    }
