"""The hash chain of the access log: each entry's hash covers its fields and the previous
entry's hash, so editing or deleting any entry breaks every link after it. Pure functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
#: The fields a hash covers, in order (everything an auditor relies on).
FIELDS = (
    "seq",
    "access_id",
    "service",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "record_type",
    "record_id",
    "household_id",
    "purpose",
    "reason",
    "client_address",
    "occurred_at",
)


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return str(value)


def entry_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    body = json.dumps([prev_hash, *(_canonical(entry[name]) for name in FIELDS)], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str  # "edited" | "missing before" | "reordered"


def verify(
    entries: Iterable[Mapping[str, Any]],
    *,
    anchor: str = GENESIS,
    first_seq: int = 1,
    expected_head: tuple[int, str] | None = None,
) -> list[Break]:
    """Every break in the chain, in order. ``entries`` ordered by seq; ``anchor`` is the
    hash the first entry must link to (GENESIS for a complete log). A chain alone cannot
    show that its newest entries were cut off or rewritten together; ``expected_head`` — a
    (seq, hash) checkpoint an auditor recorded earlier — closes that gap."""
    breaks: list[Break] = []
    expected_prev, expected_seq = anchor, first_seq
    seen: dict[int, str] = {}
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected_seq:
            breaks.append(Break(seq, "missing before" if seq > expected_seq else "reordered"))
        if entry["prev_hash"] != expected_prev:
            breaks.append(Break(seq, "missing before" if seq != expected_seq else "relinked"))
        if entry_hash(entry, entry["prev_hash"]) != entry["hash"]:
            breaks.append(Break(seq, "edited"))
        expected_prev, expected_seq = entry["hash"], seq + 1
        seen[seq] = entry["hash"]
    if expected_head is not None and seen.get(expected_head[0]) != expected_head[1]:
        breaks.append(Break(expected_head[0], "checkpoint mismatch"))
    return breaks
