"""Campaign rules: audience age bands, message size, the daily cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heemang_common.errors import Invalid
from heemang_hotline.domain.campaigns import Audience, affordable, message_kind, unit_cost
from heemang_hotline.domain.sms import Kind


def test_age_band_becomes_birth_years() -> None:
    assert Audience(age_min=65).birth_years(2026) == (None, 1961)
    assert Audience(age_min=19, age_max=39).birth_years(2026) == (1987, 2007)
    with pytest.raises(Invalid):
        Audience(age_min=70, age_max=60)


def test_message_kind_by_size() -> None:
    assert message_kind("임대주택 공고 안내") == Kind.sms
    assert message_kind("가" * 46) == Kind.lms  # 92 EUC-KR bytes
    with pytest.raises(Invalid, match="too long"):
        message_kind("가" * 1001)
    with pytest.raises(Invalid):
        message_kind("   ")
    assert unit_cost(Kind.sms, 9, 27) == 9 and unit_cost(Kind.lms, 9, 27) == 27


@given(
    wanted=st.integers(0, 10_000),
    unit=st.integers(1, 100),
    spent=st.integers(0, 100_000),
    cap=st.integers(0, 100_000),
)
def test_the_cap_is_never_exceeded(wanted: int, unit: int, spent: int, cap: int) -> None:
    n = affordable(wanted, unit, spent, cap)
    assert 0 <= n <= wanted
    if spent <= cap:
        assert spent + n * unit <= cap
        assert n == wanted or spent + (n + 1) * unit > cap  # as many as fit
    else:
        assert n == 0
