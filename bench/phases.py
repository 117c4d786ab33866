"""Wall time spent inside chosen coroutine methods, to say where a benchmark's time goes."""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, method: str, label: str | None = None) -> None:
        """Replace ``owner.method`` (an instance's bound coroutine method) by a timed one.
        Per instance, so the library's classes stay untouched."""
        original: Callable[..., Awaitable[Any]] = getattr(owner, method)
        name = label or method

        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        setattr(owner, method, timed)

    def summary(self, total_s: float) -> dict[str, float]:
        """Seconds per phase plus its share of ``total_s`` (phases may nest or overlap)."""
        out: dict[str, float] = {}
        for name, seconds in self.seconds.items():
            out[f"{name}_s"] = round(seconds, 4)
            out[f"{name}_pct"] = round(100 * seconds / total_s, 1) if total_s else 0.0
            out[f"{name}_calls"] = self.calls[name]
        return out
