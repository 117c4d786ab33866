"""Generate the event contract documents from the event models (``make schemas``).

Writes, under the given directory (docs/events): one JSON Schema per type in ``schemas/``,
an AsyncAPI 3.0 document ``asyncapi.json`` and a human-readable ``README.md``. The models are
the contract; these files are derived, checked in so that people and partner agencies can read
the contract without Python, and a unit test fails when they drift from the models.

Usage: ``python -m heemang_common.events.schemas docs/events [--check]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from heemang_common.events.catalogue import all_topics, event_types
from heemang_common.events.envelope import Event, EventData
from heemang_common.events.topics import dlq_topic

JsonDict = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://heemang.example/events/schemas/"
ASYNCAPI_ID = "https://heemang.example/events/asyncapi.json"
CONTENT_TYPE = "application/cloudevents+json"
KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER = "DeadLetter"
CORRELATION_ID = "correlationid"

#: type → services that consume it. Static because consumers register their handlers inside
#: their own service packages, which libs/common must never import. Checked against the
#: catalogue when generating, so a renamed or retired type cannot leave a stale entry.
CONSUMERS: dict[str, tuple[str, ...]] = {
    "heemang.intake.referral.accepted.v1": ("casework",),
    "heemang.hotline.referral.requested.v1": ("intake",),
    "heemang.hotline.checkin.missed.v1": ("casework", "intake"),
    # intake keeps a projection of open cases to route missed check-ins
    "heemang.casework.case.opened.v1": ("gateway", "intake"),
    "heemang.casework.case.stage_changed.v1": ("gateway", "intake"),
    "heemang.casework.case.closed.v1": ("gateway", "hotline", "intake"),
    # casework asks resources for cash and in-kind services and records the answers
    "heemang.casework.service.requested.v1": ("gateway", "resources"),
    "heemang.resources.allocation.approved.v1": ("casework", "gateway"),
    "heemang.resources.allocation.rejected.v1": ("casework", "gateway"),
    "heemang.resources.distribution.delivered.v1": ("casework", "gateway"),
    # household facts (type, protection status, size) for casework's reports and hotline's
    # auto-enrolment of elderly people living alone
    "heemang.intake.household.registered.v1": ("casework", "hotline"),
    "heemang.intake.household.updated.v1": ("casework", "hotline"),
    # partner webhooks go to the agencies assigned to a case
    "heemang.casework.case.assigned.v1": ("gateway",),
    "heemang.casework.alert.raised.v1": ("gateway",),
    "heemang.casework.followup.due.v1": ("gateway",),
    # the gateway keeps the consolidated, hash-chained access log
    "heemang.audit.access.recorded.v1": ("gateway",),
}

# heemang.<service>.<noun…>.<verb>.v<N>: the producer is read from the second part.
_TYPE_NAME = re.compile(r"^heemang(\.[a-z][a-z0-9_]*){3,}\.v[1-9][0-9]*$")


class WireSchema(GenerateJsonSchema):
    """Schemas of what is on the wire: ``Event.to_json`` emits every field, defaults included,
    so in serialization mode every field is required (as CloudEvents requires id, type…)."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


@dataclass(frozen=True)
class EventInfo:
    """One catalogue entry: a type and how it travels."""

    cls: type[Event]
    type: str
    topic: str
    producer: str
    key: str
    consumers: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Catalogue:
    events: list[EventInfo]
    topics: list[str]

    def on_topic(self, topic: str) -> list[EventInfo]:
        return [info for info in self.events if info.topic == topic]


# ---------------------------------------------------------------------------- catalogue


def data_model(cls: type[Event]) -> type[EventData]:
    annotation = cls.model_fields["data"].annotation
    if not (isinstance(annotation, type) and issubclass(annotation, EventData)):
        raise TypeError(f"{cls.__name__}.data must be an EventData subclass, not {annotation}")
    return annotation


def _key(cls: type[Event]) -> str:
    if cls.key_field is None:
        return "subject"
    if cls.key_field not in data_model(cls).model_fields:
        raise ValueError(f"{cls.__name__}.key_field {cls.key_field!r} is not a field of its data")
    return f"data.{cls.key_field}"


def _description(cls: type[Event], type_name: str) -> str:
    # Only the class's own docstring: inspect.getdoc would inherit Event's.
    doc = cls.__dict__.get("__doc__")
    if doc:
        return inspect.cleandoc(doc)
    parts = type_name.split(".")
    what = " ".join(parts[2:-1]).replace("_", " ")
    return f"{what.capitalize()} (version {parts[-1][1:]}), published by {parts[1]}."


def describe(cls: type[Event], topics: Sequence[str], consumers: Mapping[str, Sequence[str]]) -> EventInfo:
    type_name = cls.type_name()
    if not _TYPE_NAME.match(type_name):
        raise ValueError(f"{type_name!r} is not heemang.<service>.<noun>.<verb>.v<N>")
    if cls.topic not in topics:
        raise ValueError(f"{type_name} is published on {cls.topic!r}, which is not a known topic")
    return EventInfo(
        cls=cls,
        type=type_name,
        topic=cls.topic,
        producer=type_name.split(".")[1],
        key=_key(cls),
        consumers=tuple(sorted(consumers.get(type_name, ()))),
        description=_description(cls, type_name),
    )


def build_catalogue(
    events: Sequence[type[Event]] | None = None,
    topics: Sequence[str] | None = None,
    consumers: Mapping[str, Sequence[str]] | None = None,
) -> Catalogue:
    """The catalogue of this build (or of the given classes, for tests), checked for
    duplicate types, unknown topics and consumers of types that do not exist."""
    events = event_types() if events is None else list(events)
    topics = all_topics() if topics is None else list(topics)
    consumers = CONSUMERS if consumers is None else consumers
    infos = [describe(cls, topics, consumers) for cls in events]
    names = [info.type for info in infos]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"event types defined twice: {duplicates}")
    if unknown := sorted(set(consumers) - set(names)):
        raise ValueError(f"CONSUMERS names types the catalogue does not have: {unknown}")
    return Catalogue(events=infos, topics=list(topics))


# ---------------------------------------------------------------------------- JSON Schema


def schema_path(out_dir: Path, type_name: str) -> Path:
    return out_dir / "schemas" / f"{type_name}.json"


def envelope_schema(info: EventInfo) -> JsonDict:
    """The standalone JSON Schema (2020-12) of one type's whole envelope."""
    schema = info.cls.model_json_schema(mode="serialization", schema_generator=WireSchema)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID_BASE}{info.type}.json",
        **schema,
        "title": info.type,
        "description": info.description,
    }


def _component_schemas(events: Sequence[EventInfo]) -> tuple[dict[str, str], JsonDict]:
    """All envelopes and their nested models as AsyncAPI component schemas, plus the
    component name of each type. Pydantic generates them together, so two different models
    sharing a name get distinct, module-qualified names and every ref points at the right one."""
    refs, defs = models_json_schema(
        [(info.cls, "serialization") for info in events],
        ref_template="#/components/schemas/{model}",
        schema_generator=WireSchema,
    )
    schemas: JsonDict = defs.get("$defs", {})
    names: dict[str, str] = {}
    for info in events:
        name = refs[(info.cls, "serialization")]["$ref"].rsplit("/", 1)[-1]
        schemas[name] = {**schemas[name], "title": info.type, "description": info.description}
        names[info.type] = name
    return names, schemas


# ---------------------------------------------------------------------------- AsyncAPI


def pointer(*parts: str) -> str:
    """A local JSON Pointer reference, escaped per RFC 6901."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _ref(*parts: str) -> JsonDict:
    return {"$ref": pointer(*parts)}


def _event_headers(type_name: str) -> JsonDict:
    return {
        "type": "object",
        "properties": {
            "ce_type": {"type": "string", "const": type_name, "description": "Copy of `type`"},
            "ce_id": {"type": "string", "format": "uuid", "description": "Copy of `id`"},
        },
        "required": ["ce_type", "ce_id"],
    }


def _message(info: EventInfo, schema_name: str) -> JsonDict:
    summary, _, rest = info.description.partition("\n")
    message: JsonDict = {"description": info.description} if rest.strip() else {}
    return message | {
        "name": info.type,
        "title": info.cls.__name__,
        "summary": summary,
        "contentType": CONTENT_TYPE,
        "correlationId": _ref("components", "correlationIds", CORRELATION_ID),
        "headers": _event_headers(info.type),
        "payload": _ref("components", "schemas", schema_name),
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"`{info.key}` of the event: order holds per key",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-producer": info.producer,
        "x-consumers": list(info.consumers),
    }


# Mirrors the headers heemang_common.consumer writes when it dead-letters a message.
_DLQ_HEADERS: dict[str, str] = {
    "ce_type": "Type of the original event, or `unknown` if it was not a JSON envelope",
    "ce_id": "Id of the dead letter (derived from consumer and original event id)",
    "dlq_error": "repr() of the last error, at most 2000 characters",
    "dlq_consumer": "Name of the consumer that gave up",
    "dlq_attempts": "How many times the consumer tried",
    "dlq_original_topic": "Topic the message came from",
    "dlq_original_partition": "Partition it came from",
    "dlq_original_offset": "Offset it had there",
    "dlq_encoding": "`utf-8` when the value is the original text, `base64` when it was not UTF-8",
}


def _dead_letter_message() -> JsonDict:
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A message a consumer kept failing on, with the error in its headers.",
        "contentType": "text/plain",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": text} for name, text in _DLQ_HEADERS.items()
            },
            "required": list(_DLQ_HEADERS),
        },
        "payload": {
            "type": "string",
            "description": "The original message value (usually the CloudEvent JSON), "
            "base64-encoded when it was not UTF-8 (see `dlq_encoding`)",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The original key, or the original event id if it had none",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _topic_channel(topic: str, events: Sequence[EventInfo]) -> JsonDict:
    what = (
        f"Carries {len(events)} event type(s); each message names its Kafka key."
        if events
        else "No event type is published on this topic yet."
    )
    return {
        "address": topic,
        "description": f"Topic `{topic}`. {what}",
        "messages": {info.type: _ref("components", "messages", info.type) for info in events},
    }


def _dlq_channel(topic: str) -> JsonDict:
    return {
        "address": dlq_topic(topic),
        "description": f"Dead letters of `{topic}`: messages a consumer failed to handle "
        "after its retries, copied as they were, so the consumer could move on.",
        "messages": {DEAD_LETTER: _ref("components", "messages", DEAD_LETTER)},
    }


def _channels(catalogue: Catalogue) -> JsonDict:
    channels: JsonDict = {}
    for topic in catalogue.topics:
        channels[topic] = _topic_channel(topic, catalogue.on_topic(topic))
        channels[dlq_topic(topic)] = _dlq_channel(topic)
    return channels


def _send(service: str, channel: str, messages: Iterable[str], summary: str) -> JsonDict:
    return {
        "action": "send",
        "channel": _ref("channels", channel),
        "messages": [_ref("channels", channel, "messages", name) for name in messages],
        "summary": summary,
        "x-service": service,
    }


def _topic_operations(topic: str, events: Sequence[EventInfo]) -> JsonDict:
    """One send per (producing service, topic), through the service's outbox relay."""
    operations: JsonDict = {}
    for service in sorted({info.producer for info in events}):
        sent = [info for info in events if info.producer == service]
        summary = f"{service} publishes these events through its outbox relay."
        operation = _send(service, topic, [info.type for info in sent], summary)
        operation["x-consumers"] = sorted({c for info in sent for c in info.consumers})
        operations[f"{service}.send.{topic}"] = operation
    return operations


def _dlq_operations(topic: str, events: Sequence[EventInfo]) -> JsonDict:
    """Consumers of a topic are the producers of its DLQ."""
    dlq = dlq_topic(topic)
    return {
        f"{service}.send.{dlq}": _send(
            service, dlq, [DEAD_LETTER], f"{service} dead-letters what it fails on from `{topic}`."
        )
        for service in sorted({c for info in events for c in info.consumers})
    }


def _operations(catalogue: Catalogue) -> JsonDict:
    operations: JsonDict = {}
    for topic in catalogue.topics:
        events = catalogue.on_topic(topic)
        operations |= _topic_operations(topic, events) | _dlq_operations(topic, events)
    return operations


_ASYNCAPI_DESCRIPTION = """\
Domain events of the Heemang district welfare backend, generated from the pydantic models in \
`heemang_common.events` (run `make schemas`; do not edit).

Each message value is a CloudEvents 1.0 envelope in JSON (structured mode): `specversion`, \
`id`, `type`, `source`, `subject` (the aggregate id), `time`, `datacontenttype`, the \
extensions `correlationid` and `traceparent`, and `data`. The Kafka key is the partition key \
given per message (order holds per key); the headers `ce_type` and `ce_id` repeat the type \
and id so a consumer can route or deduplicate without parsing. Events are published through a \
transactional outbox (at least once; consumers deduplicate by `id`). A message a consumer \
keeps failing on goes to `<topic>.dlq` with the error in its headers. A change to a published \
type is a new version (`.v2`); consumers accept the old one until none is produced. \
`x-producer`, `x-consumers` and `x-service` name the Heemang services involved."""


def asyncapi(catalogue: Catalogue) -> JsonDict:
    names, schemas = _component_schemas(catalogue.events)
    messages = {info.type: _message(info, names[info.type]) for info in catalogue.events}
    messages[DEAD_LETTER] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "id": ASYNCAPI_ID,
        "info": {
            "title": "Heemang domain events",
            "version": "1.0.0",
            "description": _ASYNCAPI_DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": _channels(catalogue),
        "operations": _operations(catalogue),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {
                CORRELATION_ID: {
                    "description": "Id of the request that caused the event, across services",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }


# ---------------------------------------------------------------------------- README


def _resolve(root: JsonDict, node: JsonDict) -> JsonDict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _type_label(node: JsonDict) -> str:
    if "$ref" in node:
        return str(node["$ref"].rsplit("/", 1)[-1])
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            return " | ".join(_type_label(member) for member in node[combinator])
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if "enum" in node:
        return "enum"
    if node.get("type") == "array":
        return f"array[{_type_label(node.get('items', {}))}]"
    return str(node.get("format") or node.get("type", "any"))


_BOUNDS = {
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "pattern": "matches `{}`",
}


def _notes(node: JsonDict) -> list[str]:
    notes = [str(node["description"])] if "description" in node else []
    if "default" in node:
        notes.append(f"default `{json.dumps(node['default'], ensure_ascii=False)}`")
    if "enum" in node:
        notes.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    notes += [text.format(node[word]) for word, text in _BOUNDS.items() if word in node]
    for member in node.get("anyOf", []) + node.get("oneOf", []):
        notes += _notes(member)
    return notes


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _data_fields(info: EventInfo) -> list[tuple[str, JsonDict]]:
    schema = envelope_schema(info)
    data = _resolve(schema, schema["properties"]["data"])
    return list(data.get("properties", {}).items())


def _summary_row(info: EventInfo) -> str:
    fields = _data_fields(info)
    data = "<br>".join(f"`{name}: {_cell(_type_label(node))}`" for name, node in fields)
    cells = [
        f"[`{info.type}`](schemas/{info.type}.json)",
        f"`{info.topic}`",
        f"`{info.key}`",
        info.producer,
        ", ".join(info.consumers) or "—",
        data or "—",
    ]
    return "| " + " | ".join(cells) + " |"


def _type_section(info: EventInfo) -> list[str]:
    fields = _data_fields(info)
    lines = [
        f"### `{info.type}`",
        "",
        info.description,
        "",
        f"Model `{info.cls.__module__}.{info.cls.__name__}` · topic `{info.topic}` · "
        f"key `{info.key}` · producer {info.producer} · consumers "
        f"{', '.join(info.consumers) or '—'} · [JSON Schema](schemas/{info.type}.json)",
        "",
        "| data field | type | notes |",
        "|---|---|---|",
    ]
    for name, node in fields:
        label, notes = _cell(_type_label(node)), _cell("; ".join(_notes(node)))
        lines.append(f"| `{name}` | `{label}` | {notes} |")
    return [*lines, ""]


def _topic_row(catalogue: Catalogue, topic: str) -> str:
    types = "<br>".join(f"`{info.type}`" for info in catalogue.on_topic(topic)) or "—"
    return f"| `{topic}` | `{dlq_topic(topic)}` | {types} |"


def readme(catalogue: Catalogue) -> str:
    lines = [
        "<!-- Generated from the event models by heemang_common.events.schemas:"
        " run `make schemas`, do not edit. -->",
        "",
        "# Heemang domain events",
        "",
        "Every event travels as a CloudEvents 1.0 JSON envelope (structured mode) in the Kafka",
        "message value; the message key is the partition key below (order holds per key), and",
        "the headers `ce_type` and `ce_id` repeat the envelope's type and id. A message a",
        "consumer keeps failing on goes to `<topic>.dlq` with the error in its headers.",
        "Machine-readable: [asyncapi.json](asyncapi.json) (AsyncAPI 3.0) and one JSON Schema",
        "(draft 2020-12) per type in [schemas/](schemas/).",
        "",
        "## Catalogue",
        "",
        "| type | topic | key | producer | consumers | data fields |",
        "|---|---|---|---|---|---|",
        *(_summary_row(info) for info in catalogue.events),
        "",
        "## Topics",
        "",
        "| topic | dead letters | types |",
        "|---|---|---|",
        *(_topic_row(catalogue, topic) for topic in catalogue.topics),
        "",
        "## Types",
        "",
    ]
    for info in catalogue.events:
        lines += _type_section(info)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------- output


def dump(document: JsonDict) -> str:
    """Deterministic JSON, so regenerating an unchanged catalogue changes no byte."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(out_dir: Path, catalogue: Catalogue | None = None) -> dict[Path, str]:
    """Every generated file under ``out_dir`` and its content, without writing anything."""
    catalogue = build_catalogue() if catalogue is None else catalogue
    files = {schema_path(out_dir, info.type): dump(envelope_schema(info)) for info in catalogue.events}
    files[out_dir / "asyncapi.json"] = dump(asyncapi(catalogue))
    files[out_dir / "README.md"] = readme(catalogue)
    return files


def stale_files(out_dir: Path, files: Mapping[Path, str]) -> list[Path]:
    """Schema files of types that no longer exist."""
    return sorted(set((out_dir / "schemas").glob("*.json")) - set(files))


def outdated(out_dir: Path, files: Mapping[Path, str]) -> list[Path]:
    changed = [path for path, text in files.items() if _read(path) != text]
    return sorted(changed + stale_files(out_dir, files))


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def write(out_dir: Path, files: Mapping[Path, str]) -> None:
    for path in stale_files(out_dir, files):
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if _read(path) != text:
            path.write_text(text, encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", nargs="?", default="docs/events", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the files are outdated")
    args = parser.parse_args(argv)
    files = render(args.out_dir)
    if args.check:
        if stale := outdated(args.out_dir, files):
            print("outdated, run `make schemas`:", *map(str, stale), sep="\n  ", file=sys.stderr)
            return 1
        return 0
    write(args.out_dir, files)
    print(f"wrote {len(files)} files to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
