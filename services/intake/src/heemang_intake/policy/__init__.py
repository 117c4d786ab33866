"""Dated emergency-welfare policy data: one JSON file per year (``2021.json``), picked by
the date a screening refers to. A new year is a new file here, not code."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

from heemang_common.errors import Invalid
from heemang_intake.domain.screening import Policy

POLICY_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def load_all(directory: Path = POLICY_DIR) -> tuple[Policy, ...]:
    """Every policy file, oldest first (validated when loaded: a bad file fails start-up)."""
    policies = [
        Policy.from_dict(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(directory.glob("[0-9][0-9][0-9][0-9].json"))
    ]
    return tuple(sorted(policies, key=lambda p: p.effective_from))


def policy_for(on: date, policies: tuple[Policy, ...] | None = None) -> Policy:
    """The policy in force on ``on``: the latest whose effective_from is not after it."""
    candidates = [p for p in (policies if policies is not None else load_all()) if p.effective_from <= on]
    if not candidates:
        raise Invalid(f"No emergency-welfare policy is in force on {on.isoformat()}.")
    return candidates[-1]
