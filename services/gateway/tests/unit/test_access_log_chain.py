"""The access log's hash chain finds any single edited, deleted or reordered entry
(RELIABILITY T13: 100 % of 1,000 random tamperings)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from heemang_gateway.audit import chain


def _log(n: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    prev = chain.GENESIS
    start = datetime(2026, 11, 23, tzinfo=UTC)
    for seq in range(1, n + 1):
        entry: dict[str, Any] = {
            "seq": seq,
            "access_id": uuid.uuid4(),
            "service": random.choice(["intake", "casework", "hotline"]),
            "actor_id": f"u-{seq % 7}",
            "actor_name": "김민지",
            "actor_role": "dong_officer",
            "action": "read",
            "record_type": "household",
            "record_id": str(uuid.uuid4()),
            "household_id": uuid.uuid4(),
            "purpose": "초기상담",
            "reason": None,
            "client_address": "10.0.0.1",
            "occurred_at": start + timedelta(seconds=seq),
        }
        entry["prev_hash"] = prev
        entry["hash"] = chain.entry_hash(entry, prev)
        prev = entry["hash"]
        entries.append(entry)
    return entries


def _tamper(entries: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    copy = [dict(e) for e in entries]
    index = rng.randrange(len(copy))
    kind = rng.choice(["edit", "delete", "swap", "edit_and_rehash"])
    if kind == "delete":
        del copy[index]
    elif kind == "swap" and index + 1 < len(copy):
        copy[index], copy[index + 1] = copy[index + 1], copy[index]
    elif kind == "edit_and_rehash":
        # A forger who recomputes the entry's own hash still breaks the next link (or, for
        # the newest entry, the auditor's checkpoint).
        copy[index]["actor_id"] = "someone-else"
        copy[index]["hash"] = chain.entry_hash(copy[index], copy[index]["prev_hash"])
    else:
        field = rng.choice(["actor_id", "purpose", "record_id", "client_address", "occurred_at"])
        copy[index][field] = "x" if field != "occurred_at" else copy[index][field] + timedelta(seconds=1)
    return copy


def test_an_intact_log_verifies() -> None:
    entries = _log(200)
    assert chain.verify(entries, expected_head=(200, entries[-1]["hash"])) == []


def test_every_single_tampering_is_found() -> None:
    entries = _log(300)
    rng = random.Random(20261123)
    head = (entries[-1]["seq"], entries[-1]["hash"])  # the checkpoint an auditor recorded
    found = sum(bool(chain.verify(_tamper(entries, rng), expected_head=head)) for _ in range(1_000))
    assert found == 1_000
