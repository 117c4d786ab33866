"""Pure delivery rules: the retry schedule with jitter, answer classification, retry-after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_gateway.webhooks.schedule import (
    DEFAULT_SCHEDULE_S,
    DisablePolicy,
    Outcome,
    classify,
    retry_after_s,
    retry_delay,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_default_schedule_is_the_standard_webhooks_example() -> None:
    assert DEFAULT_SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert timedelta(seconds=sum(DEFAULT_SCHEDULE_S)) == timedelta(hours=27, minutes=35, seconds=5)


@given(attempts=st.integers(0, 7), r=st.floats(0, 1))
def test_delay_within_ten_percent(attempts: int, r: float) -> None:
    delay = retry_delay(attempts, DEFAULT_SCHEDULE_S, 0.10, lambda: r)
    base = DEFAULT_SCHEDULE_S[attempts]
    assert delay is not None and base * 0.9 <= delay <= base * 1.1


def test_exhausted_after_the_last_step() -> None:
    assert retry_delay(8, DEFAULT_SCHEDULE_S, 0.1) is None


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (299, Outcome.DELIVERED),
        (301, Outcome.FAILED),
        (302, Outcome.FAILED),
        (307, Outcome.FAILED),
        (400, Outcome.FAILED),
        (410, Outcome.GONE),
        (429, Outcome.THROTTLED),
        (500, Outcome.FAILED),
        (503, Outcome.FAILED),
        (None, Outcome.FAILED),
    ],
)
def test_classify(code: int | None, outcome: Outcome) -> None:
    assert classify(code) == outcome


def test_retry_after_seconds_date_and_garbage() -> None:
    assert retry_after_s({"retry-after": "120"}, NOW, 3600) == 120
    assert retry_after_s({"retry-after": "999999"}, NOW, 3600) == 3600
    assert retry_after_s({"retry-after": "Mon, 23 Nov 2026 12:10:00 GMT"}, NOW, 3600) == 600
    assert retry_after_s({"retry-after": "soon"}, NOW, 3600) is None
    assert retry_after_s({}, NOW, 3600) is None


def test_disable_policy() -> None:
    policy = DisablePolicy(failing_for_s=5 * 86400, exhausted_deliveries=3)
    assert not policy.should_disable(None, NOW, 2)
    assert policy.should_disable(None, NOW, 3)
    assert not policy.should_disable(NOW - timedelta(days=4, hours=23), NOW, 0)
    assert policy.should_disable(NOW - timedelta(days=5), NOW, 0)
