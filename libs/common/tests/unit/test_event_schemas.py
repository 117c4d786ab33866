"""The event contract documents in docs/events are generated from the models and current, and
the models' JSON Schemas accept the events the code really produces."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import create_model

from heemang_common.events import schemas
from heemang_common.events.casework import (
    AlertRaised,
    AlertRaisedData,
    CaseClosed,
    CaseClosedData,
    CaseOpened,
    CaseOpenedData,
    CaseStageChanged,
    CaseStageChangedData,
)
from heemang_common.events.catalogue import all_topics, event_types, parse_event
from heemang_common.events.envelope import Event, EventData
from heemang_common.events.hotline import (
    CheckinMissed,
    CheckinMissedData,
    CheckinRecord,
    ConsultationLogged,
    ConsultationLoggedData,
    ReferralRequested,
    ReferralRequestedData,
)
from heemang_common.events.intake import (
    HouseholdRegistered,
    HouseholdRegisteredData,
    HouseholdUpdated,
    HouseholdUpdatedData,
    ReferralAccepted,
    ReferralAcceptedData,
    ReferralReceived,
    ReferralReceivedData,
    ReferralRejected,
    ReferralRejectedData,
)
from heemang_common.events.topics import dlq_topic

try:  # Not a dependency: used when present, else the small validator below stands in.
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None

JsonDict = dict[str, Any]

ROOT = Path(__file__).resolve().parents[4]
DOCS = ROOT / "docs" / "events"
REGENERATE = "run `make schemas` (python -m heemang_common.events.schemas docs/events)"

# ------------------------------------------------------------------ one real example per type

HOUSEHOLD = uuid.UUID("5f0c3c1e-8d2a-4b7e-9a51-0d6f1c2b3a4d")
REFERRAL = uuid.UUID("a3e1f6b2-4c5d-4e8f-9a0b-1c2d3e4f5a6b")
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DONG = "1168064000"  # 역삼1동
CONTEXT = {
    "correlationid": "req-7f3a2c",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
}


def _received() -> Event:
    data = ReferralReceivedData(
        referral_id=REFERRAL,
        household_id=HOUSEHOLD,
        dong=DONG,
        channel="red_postbox",
        received_at=WHEN,
    )
    return ReferralReceived.create(subject=REFERRAL, data=data, **CONTEXT)


def _accepted() -> Event:
    data = ReferralAcceptedData(
        referral_id=REFERRAL,
        household_id=HOUSEHOLD,
        dong=DONG,
        channel="police_112",
        priority=2,
        restricted=True,
        accepted_at=WHEN,
    )
    return ReferralAccepted.create(subject=REFERRAL, data=data, **CONTEXT)


def _rejected() -> Event:
    data = ReferralRejectedData(
        referral_id=REFERRAL,
        household_id=HOUSEHOLD,
        reason="이미 타 기관 사례관리 중",
        rejected_at=WHEN,
    )
    return ReferralRejected.create(subject=REFERRAL, data=data)  # no correlation: null


def _case_opened() -> Event:
    case_id = uuid.UUID("0b7d9e2f-1a3c-4d5e-8f6a-7b8c9d0e1f2a")
    data = CaseOpenedData(
        case_id=case_id,
        household_id=HOUSEHOLD,
        referral_id=REFERRAL,
        dong=DONG,
        stage="intake",
        opened_at=WHEN,
    )
    return CaseOpened.create(subject=case_id, data=data, **CONTEXT)


CASE = uuid.UUID("0b7d9e2f-1a3c-4d5e-8f6a-7b8c9d0e1f2a")


def _case_stage_changed() -> Event:
    data = CaseStageChangedData(
        case_id=CASE,
        household_id=HOUSEHOLD,
        from_stage="selection",
        to_stage="conference",
        at=WHEN,
        selection="case_management",
    )
    return CaseStageChanged.create(subject=CASE, data=data, **CONTEXT)


def _case_closed() -> Event:
    data = CaseClosedData(
        case_id=CASE,
        household_id=HOUSEHOLD,
        dong=DONG,
        closure_reason="short_term_goal_met",
        reason_category="positive",
        closed_at=WHEN,
        follow_up_due=[date(2026, 9, 2), date(2027, 3, 2)],
    )
    return CaseClosed.create(subject=CASE, data=data, **CONTEXT)


def _household_registered() -> Event:
    data = HouseholdRegisteredData(
        household_id=HOUSEHOLD,
        dong=DONG,
        household_type="elderly_alone",
        protection_status="near_poor",
        member_count=1,
        registered_at=WHEN,
    )
    return HouseholdRegistered.create(subject=HOUSEHOLD, data=data, **CONTEXT)


def _household_updated() -> Event:
    data = HouseholdUpdatedData(
        household_id=HOUSEHOLD,
        dong=DONG,
        household_type="grandparent_grandchild",
        protection_status=None,
        member_count=2,
        changed_fields=["household_type", "phone"],
        updated_at=WHEN,
    )
    return HouseholdUpdated.create(subject=HOUSEHOLD, data=data, **CONTEXT)


def _consultation_logged() -> Event:
    consultation = uuid.UUID("5f0c2a57-7c0e-4b8e-9d1a-0e2b6a1c3d41")
    data = ConsultationLoggedData(
        consultation_id=consultation,
        household_id=HOUSEHOLD,
        category="housing",
        outcome="information_given",
        at=WHEN,
    )
    return ConsultationLogged.create(subject=consultation, data=data, **CONTEXT)


def _referral_requested() -> Event:
    consultation = uuid.UUID("5f0c2a57-7c0e-4b8e-9d1a-0e2b6a1c3d42")
    data = ReferralRequestedData(
        request_id=consultation,
        household_id=None,
        dong=DONG,
        category="low_income",
        urgent=True,
        requested_at=WHEN,
    )
    return ReferralRequested.create(subject=consultation, data=data, **CONTEXT)


def _checkin_missed() -> Event:
    enrolment = uuid.UUID("5f0c2a57-7c0e-4b8e-9d1a-0e2b6a1c3d43")
    data = CheckinMissedData(
        enrolment_id=enrolment,
        household_id=HOUSEHOLD,
        dong=DONG,
        programme="hello_ansim",
        reason="missed",
        consecutive_misses=2,
        urgent=False,
        history=[CheckinRecord(slot_at=WHEN, outcome="no_answer")] * 2,
        at=WHEN,
    )
    return CheckinMissed.create(subject=enrolment, data=data, **CONTEXT)


#: type → factory of a realistic event. A new type needs one here (the test says so).
EXAMPLES: dict[str, Callable[[], Event]] = {
    ReferralReceived.type_name(): _received,
    ReferralAccepted.type_name(): _accepted,
    ReferralRejected.type_name(): _rejected,
    CaseOpened.type_name(): _case_opened,
    CaseStageChanged.type_name(): _case_stage_changed,
    CaseClosed.type_name(): _case_closed,
    AlertRaised.type_name(): lambda: AlertRaised.create(
        subject=CASE,
        data=AlertRaisedData(
            alert_id=uuid.UUID("7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"),
            case_id=CASE,
            household_id=HOUSEHOLD,
            dong=DONG,
            kind="checkin_missed",
            urgent=True,
            raised_at=WHEN,
        ),
        **CONTEXT,
    ),
    HouseholdRegistered.type_name(): _household_registered,
    HouseholdUpdated.type_name(): _household_updated,
    ConsultationLogged.type_name(): _consultation_logged,
    ReferralRequested.type_name(): _referral_requested,
    CheckinMissed.type_name(): _checkin_missed,
}

# ------------------------------------------------------------------ helpers


def _resolve(document: JsonDict, ref: str) -> Any:
    """Follow a local JSON Pointer ref (RFC 6901); KeyError if it points nowhere."""
    assert ref.startswith("#/"), f"non-local ref {ref!r}"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


_ANNOTATIONS = {"title", "description", "default", "examples", "$schema", "$id", "$defs"}
_KEYWORDS = {
    "$ref",
    "anyOf",
    "oneOf",
    "allOf",
    "type",
    "const",
    "enum",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda v, b: v >= b,
    "maximum": lambda v, b: v <= b,
    "exclusiveMinimum": lambda v, b: v > b,
    "exclusiveMaximum": lambda v, b: v < b,
    "minLength": lambda v, b: len(v) >= b,
    "maxLength": lambda v, b: len(v) <= b,
    "pattern": lambda v, b: re.search(b, v) is not None,
}


def _format_ok(fmt: str, value: str) -> bool:
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "date-time":
            return datetime.fromisoformat(value).tzinfo is not None  # RFC 3339 needs an offset
    except ValueError:
        return False
    return True


def _errors(root: JsonDict, schema: JsonDict, value: Any, at: str = "$") -> list[str]:
    """Validate against the JSON Schema subset pydantic emits (fallback for jsonschema)."""
    unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
    assert not unknown, f"the fallback validator does not know {sorted(unknown)}: extend it"
    errors = _errors(root, _resolve(root, schema["$ref"]), value, at) if "$ref" in schema else []
    branches = [_errors(root, branch, value, at) for branch in schema.get("anyOf", [])]
    if branches and all(branches):
        errors.append(f"{at}: matches no anyOf branch")
    one_of = [_errors(root, branch, value, at) for branch in schema.get("oneOf", [])]
    if one_of and [*map(bool, one_of)].count(False) != 1:
        errors.append(f"{at}: must match exactly one oneOf branch")
    for branch in schema.get("allOf", []):
        errors += _errors(root, branch, value, at)
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [*errors, f"{at}: {value!r} is not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if "format" in schema and isinstance(value, str) and not _format_ok(schema["format"], value):
        errors.append(f"{at}: {value!r} is not a {schema['format']}")
    for word, bound in schema.items():
        if word in _BOUNDS and not _BOUNDS[word](value, bound):
            errors.append(f"{at}: fails {word}={bound!r}")
    if isinstance(value, dict):
        errors += _object_errors(root, schema, value, at)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += _errors(root, schema["items"], item, f"{at}[{i}]")
    return errors


def _object_errors(root: JsonDict, schema: JsonDict, value: JsonDict, at: str) -> list[str]:
    properties = schema.get("properties", {})
    errors = [f"{at}: missing {key!r}" for key in schema.get("required", []) if key not in value]
    for key, item in value.items():
        if key in properties:
            errors += _errors(root, properties[key], item, f"{at}.{key}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{at}: unexpected {key!r}")
        elif isinstance(schema.get("additionalProperties"), dict):
            errors += _errors(root, schema["additionalProperties"], item, f"{at}.{key}")
    return errors


def _validation_errors(schema: JsonDict, instance: Any) -> list[str]:
    if jsonschema is not None:
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        return [error.message for error in validator.iter_errors(instance)]
    return _errors(schema, schema, instance)


@pytest.fixture(scope="module")
def rendered() -> dict[Path, str]:
    return schemas.render(DOCS)


@pytest.fixture(scope="module")
def asyncapi(rendered: dict[Path, str]) -> JsonDict:
    document: JsonDict = json.loads(rendered[DOCS / "asyncapi.json"])
    return document


def _schema_of(rendered: dict[Path, str], type_name: str) -> JsonDict:
    schema: JsonDict = json.loads(rendered[schemas.schema_path(DOCS, type_name)])
    return schema


# ------------------------------------------------------------------ (a) docs are current


def test_generated_docs_are_up_to_date(rendered: dict[Path, str]) -> None:
    assert (ROOT / "libs" / "common").is_dir(), f"{ROOT} is not the repository root"
    outdated = [
        str(path.relative_to(ROOT))
        for path, text in rendered.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert not outdated, f"docs/events is out of date with the models: {REGENERATE}: {outdated}"


def test_no_schema_file_for_a_type_that_no_longer_exists(rendered: dict[Path, str]) -> None:
    present = set((DOCS / "schemas").glob("*"))
    stray = sorted(str(path.relative_to(ROOT)) for path in present - set(rendered))
    assert not stray, f"stray files in docs/events/schemas: {REGENERATE}: {stray}"


# ------------------------------------------------------------------ (b) schemas fit real events


def _with_class_examples() -> None:
    """Event classes may carry their own ``example()`` (services' newer types do, so each
    service's branch adds its examples next to its events instead of to this file)."""
    for cls in event_types():
        example = getattr(cls, "example", None)
        if cls.type_name() not in EXAMPLES and callable(example):
            EXAMPLES[cls.type_name()] = example


_with_class_examples()


def test_every_type_has_an_example() -> None:
    types = {cls.type_name() for cls in event_types()}
    missing, extra = sorted(types - set(EXAMPLES)), sorted(set(EXAMPLES) - types)
    assert not missing, f"add an example factory to EXAMPLES in {Path(__file__).name} for {missing}"
    assert not extra, f"remove the examples of types that no longer exist: {extra}"


@pytest.mark.parametrize("cls", event_types(), ids=lambda cls: cls.type_name())
def test_schema_accepts_a_real_event(cls: type[Event], rendered: dict[Path, str]) -> None:
    factory = EXAMPLES.get(cls.type_name())
    assert factory is not None, f"add an example factory to EXAMPLES for {cls.type_name()}"
    event = factory()
    assert type(event) is cls
    wire = json.loads(event.to_json())
    schema = _schema_of(rendered, cls.type_name())
    assert _validation_errors(schema, wire) == []
    assert set(schema["required"]) == set(wire), "every attribute the publisher sends is required"
    assert parse_event(event.to_json()) == event  # and the model reads back what it wrote


@pytest.mark.parametrize("cls", event_types(), ids=lambda cls: cls.type_name())
def test_schema_rejects_what_the_model_rejects(cls: type[Event], rendered: dict[Path, str]) -> None:
    schema = _schema_of(rendered, cls.type_name())
    wire = json.loads(EXAMPLES[cls.type_name()]().to_json())
    without_id = {key: value for key, value in wire.items() if key != "id"}
    with_pii = {**wire, "data": {**wire["data"], "rrn": "900101-1234567"}}
    other_type = {**wire, "type": "heemang.intake.referral.vanished.v1"}
    for broken in (without_id, with_pii, other_type):
        assert _validation_errors(schema, broken), broken


def test_schema_file_carries_id_dialect_title_and_description(rendered: dict[Path, str]) -> None:
    for cls in event_types():
        schema = _schema_of(rendered, cls.type_name())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/{cls.type_name()}.json")
        assert schema["title"] == cls.type_name()
        assert schema["description"]


# ------------------------------------------------------------------ (c) the AsyncAPI document


def test_asyncapi_has_a_channel_per_topic_and_dlq(asyncapi: JsonDict) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["info"]["title"] == "Heemang domain events"
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert addresses == {*all_topics(), *map(dlq_topic, all_topics())}


def test_every_type_is_exactly_one_message_on_its_topic(asyncapi: JsonDict) -> None:
    names = [m["name"] for m in asyncapi["components"]["messages"].values()]
    for cls in event_types():
        type_name = cls.type_name()
        assert names.count(type_name) == 1, type_name
        carriers = [
            channel["address"]
            for channel in asyncapi["channels"].values()
            for ref in channel["messages"].values()
            if _resolve(asyncapi, ref["$ref"])["name"] == type_name
        ]
        assert carriers == [cls.topic], f"{type_name} is on {carriers}"


def test_messages_point_at_their_own_envelope_and_name_consumers(asyncapi: JsonDict) -> None:
    messages = asyncapi["components"]["messages"]
    for cls in event_types():
        message = messages[cls.type_name()]
        payload = _resolve(asyncapi, message["payload"]["$ref"])
        assert payload["properties"]["type"]["const"] == cls.type_name()
        assert message["x-consumers"] == sorted(schemas.CONSUMERS.get(cls.type_name(), ()))
        assert message["x-producer"] == cls.type_name().split(".")[1]
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert messages[ReferralAccepted.type_name()]["x-consumers"] == ["casework"]


def test_every_ref_in_the_asyncapi_document_resolves(asyncapi: JsonDict) -> None:
    refs = sorted(set(_refs(asyncapi)))
    assert refs
    for ref in refs:
        try:
            _resolve(asyncapi, ref)
        except (KeyError, TypeError):
            pytest.fail(f"unresolved $ref {ref}")


def test_operations_send_their_channels_messages(asyncapi: JsonDict) -> None:
    sent: list[str] = []
    for operation_id, operation in asyncapi["operations"].items():
        assert operation["action"] == "send"
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), operation_id
            sent.append(_resolve(asyncapi, message["$ref"])["$ref"])
        assert operation_id.startswith(operation["x-service"] + ".send.")
    published = {f"#/components/messages/{cls.type_name()}" for cls in event_types()}
    assert published <= set(sent), "every type has a send operation by its producer"
    assert "casework.send.heemang.intake.referral.dlq" in asyncapi["operations"]


# ------------------------------------------------------------------ generator behaviour


def _event(module: str, type_name: str, field: str, doc: str | None = None) -> type[Event]:
    """An event class whose data model is called ``SharedData`` in whatever module."""
    data_fields: dict[str, Any] = {field: (str, ...)}
    data = create_model("SharedData", __base__=EventData, __module__=module, **data_fields)
    fields: dict[str, Any] = {"type": (Literal[type_name], type_name), "data": (data, ...)}
    return create_model(
        "Thing",
        __base__=Event,
        __module__=module,
        __doc__=doc,
        __namespace__={"topic": "heemang.test.thing", "key_field": None},
        **fields,
    )


def test_same_named_models_of_two_modules_keep_distinct_schemas() -> None:
    first = _event("tests.alpha", "heemang.alpha.thing.made.v1", "colour", doc="A thing was made.")
    second = _event("tests.beta", "heemang.beta.thing.made.v1", "size")
    catalogue = schemas.build_catalogue([first, second], ["heemang.test.thing"], consumers={})
    document = schemas.asyncapi(catalogue)
    expected = {"heemang.alpha.thing.made.v1": "colour", "heemang.beta.thing.made.v1": "size"}
    for type_name, field in expected.items():
        payload = document["components"]["messages"][type_name]["payload"]
        envelope = _resolve(document, payload["$ref"])
        data = _resolve(document, envelope["properties"]["data"]["$ref"])
        assert list(data["properties"]) == [field]
    assert all(_resolve(document, ref) is not None for ref in _refs(document))
    assert catalogue.events[0].description == "A thing was made."
    assert catalogue.events[1].key == "subject"


@pytest.mark.parametrize(
    ("topics", "consumers", "error"),
    [
        (["heemang.other"], {}, "not a known topic"),
        (["heemang.test.thing"], {"heemang.gone.thing.made.v1": ("casework",)}, "CONSUMERS"),
    ],
)
def test_catalogue_refuses_inconsistencies(
    topics: list[str], consumers: dict[str, tuple[str, ...]], error: str
) -> None:
    event = _event("tests.gamma", "heemang.gamma.thing.made.v1", "colour")
    with pytest.raises(ValueError, match=error):
        schemas.build_catalogue([event], topics=topics, consumers=consumers)


def test_main_writes_removes_stale_files_and_checks(tmp_path: Path) -> None:
    stale = tmp_path / "schemas" / "heemang.intake.referral.vanished.v1.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    assert schemas.main([str(tmp_path)]) == 0
    assert not stale.exists()
    written = {
        path.relative_to(tmp_path): path.read_text(encoding="utf-8")
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    expected = {path.relative_to(tmp_path): text for path, text in schemas.render(tmp_path).items()}
    assert written == expected
    assert schemas.main([str(tmp_path), "--check"]) == 0
    (tmp_path / "README.md").write_text("edited by hand\n")
    assert schemas.main([str(tmp_path), "--check"]) == 1
