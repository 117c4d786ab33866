from __future__ import annotations

import pytest

from heemang_hotline.domain.sms import Kind, MessageTooLong, TokenBucket, byte_length, kind_for, retry_delay_s


def test_size_decides_sms_or_lms_in_euc_kr_bytes() -> None:
    assert byte_length("안녕") == 4
    assert kind_for("가" * 45) == Kind.sms  # 90 bytes
    assert kind_for("가" * 46) == Kind.lms
    assert kind_for("a" * 2000) == Kind.lms
    with pytest.raises(MessageTooLong):
        kind_for("가" * 1001)


def test_retry_backoff_doubles_up_to_a_cap() -> None:
    assert [retry_delay_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay_s(30) == 300.0


def test_token_bucket_holds_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=2)
    assert bucket.take(0.0) == 0 and bucket.take(0.0) == 0  # the burst
    assert bucket.take(0.0) == pytest.approx(0.1)  # then one every 100 ms
    assert bucket.take(0.1) == 0
    sent, now = 0, 0.2
    while now < 10.2:  # over 10 s at most 10/s plus the burst
        if bucket.take(now) == 0:
            sent += 1
        now += 0.01
    assert sent <= 10 * 10 + 2
