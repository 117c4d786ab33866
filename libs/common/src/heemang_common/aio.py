"""asyncio helpers for loops that must outlive broker trouble."""

from __future__ import annotations

import asyncio


def reraise_if_we_are_cancelled(exc: BaseException) -> None:
    """aiokafka can leak a CancelledError from its own internal tasks when the broker
    vanishes; only a cancellation requested of *our* task may end a supervision loop."""
    task = asyncio.current_task()
    if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
        raise exc
