"""Print the figures as a table and merge them into var/bench/results.json.

results.json is a flat object name → number (units in the name) shared with later
benchmarks, so it is updated, never overwritten; what describes the run (date, machine,
backend, load) goes into the sibling meta.json, merged the same way.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

#: The repository root's var/bench, wherever ``python -m bench`` is started from.
RESULTS_DIR = Path(__file__).resolve().parents[1] / "var" / "bench"

#: Figures with a target: name → (comparison, bound).
TARGETS: dict[str, tuple[str, float]] = {
    "outbox_relay_ratio": (">=", 0.5),
    "inbox_consumer_ratio": (">=", 0.5),
    "e2e_referral_to_case_p99_ms": ("<=", 250.0),
}


def verdict(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    op, bound = TARGETS[name]
    ok = value >= bound if op == ">=" else value <= bound
    return f"target {op} {bound:g}: {'met' if ok else 'MISSED'}"


def table(figures: dict[str, float]) -> str:
    width = max((len(n) for n in figures), default=10)
    lines = [f"{'figure':<{width}}  {'value':>12}  note", "-" * (width + 40)]
    for name, value in figures.items():
        lines.append(f"{name:<{width}}  {_format(value):>12}  {verdict(name, value)}")
    return "\n".join(lines)


def _format(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def _merge(path: Path, update: dict[str, Any]) -> dict[str, Any]:
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except ValueError:
            current = {}  # a torn earlier write: start again rather than fail the run
    current.update(update)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)  # atomic, so a concurrent reader never sees half a file
    return current


def save(figures: dict[str, float], meta: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    for name, value in figures.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"results.json holds finite numbers only; {name} = {value!r}")
    directory.mkdir(parents=True, exist_ok=True)
    _merge(directory / "results.json", figures)
    _merge(directory / "meta.json", meta)
    return directory / "results.json"
