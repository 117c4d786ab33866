"""T17: one masking policy. Property tests that each masked value shows no more than the
policy allows, that masking is deterministic (the same value is masked the same way on
every surface), and that it never fails on odd input."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from heemang_common.masking import (
    ADDRESS_REST,
    MASK,
    RRN_UNREADABLE,
    mask_address,
    mask_name,
    mask_phone,
    mask_rrn,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
names = st.text(alphabet=st.one_of(hangul, st.sampled_from("abcXYZ -·")), min_size=0, max_size=12)
rrns = st.tuples(st.text("0123456789", min_size=6, max_size=6), st.text("0123456789", min_size=7, max_size=7))


# ------------------------------------------------------------------ examples from the policy


def test_policy_examples() -> None:
    assert mask_rrn("900101-1234567") == mask_rrn("9001011234567") == "900101-1******"
    assert mask_name("홍길동") == "홍*동"
    assert mask_name("홍길") == "홍*"
    assert mask_name("남궁민수") == "남**수"
    assert mask_name("홍") == "*"
    assert mask_phone("010-1234-5678") == mask_phone("01012345678") == "010-****-5678"
    assert mask_phone("02-123-4567") == "02-***-4567"
    assert mask_phone("031-123-4567") == "031-***-4567"
    assert (
        mask_address("서울특별시 강남구 테헤란로 152 강남파이낸스센터 10층")
        == "서울특별시 강남구 테헤란로 ***"
    )
    assert mask_address("서울 강남구 역삼1동 123-45") == "서울 강남구 역삼1동 ***"
    assert mask_address("서울 강남구 래미안아파트 101동 202호") == "서울 강남구 ***"  # 101동 is no 동
    assert mask_address("서울특별시 강남구") == "서울특별시 강남구"


def test_unreadable_values_are_fully_masked() -> None:
    assert mask_rrn("90010-1234567") == RRN_UNREADABLE
    assert mask_rrn("") == RRN_UNREADABLE
    assert mask_phone("12345") == "*****"
    assert mask_phone("") == ""
    assert mask_address("어딘가 먼 곳") == ADDRESS_REST


# ------------------------------------------------------------------ properties


@given(rrns, st.sampled_from(["-", "", " "]))
def test_rrn_shows_only_birth_date_and_century_digit(parts: tuple[str, str], sep: str) -> None:
    front, back = parts
    masked = mask_rrn(front + sep + back)
    assert masked == f"{front}-{back[0]}******"
    assert masked == mask_rrn(front + back)  # the same positions hidden whatever the input form


@given(st.text(max_size=30))
def test_rrn_never_shows_more_than_seven_digits(value: str) -> None:
    masked = mask_rrn(value)
    assert len(re.findall(r"\d", masked)) <= 7
    assert masked.endswith("******")


@given(names)
def test_name_shows_at_most_first_and_last(name: str) -> None:
    masked = mask_name(name)
    core = name.strip()
    assert len(masked) == len(core)
    if len(core) >= 3:
        assert masked[0] == core[0] and masked[-1] == core[-1]
        assert set(masked[1:-1]) == {MASK}
    elif len(core) == 2:
        assert masked == core[0] + MASK
    else:
        assert set(masked) <= {MASK}
    assert mask_name(masked) == masked  # masking a masked name changes nothing


@given(st.text(alphabet="0123456789- ", max_size=20))
def test_phone_shows_at_most_prefix_and_last_four(value: str) -> None:
    masked = mask_phone(value)
    number = re.sub(r"\D", "", value)
    shown = re.sub(r"\D", "", masked)
    if shown:
        prefix = 2 if number.startswith("02") else 3
        assert shown == number[:prefix] + number[-4:]
        assert masked.count(MASK) in (3, 4)
    else:
        assert set(masked) <= {MASK}


tokens = st.one_of(
    st.sampled_from(
        [
            "서울특별시",
            "서울",
            "부산광역시",
            "강남구",
            "양평군",
            "경기도",
            "테헤란로",
            "역삼1동",
            "양평읍",
            "종로1가",
            "101동",
            "202호",
            "152",
            "10층",
            "래미안아파트",
            "B1",
        ]
    ),
    st.text(alphabet=st.one_of(hangul, st.sampled_from("0123456789-")), min_size=1, max_size=6),
)


@given(st.lists(tokens, max_size=8))
def test_address_keeps_a_prefix_up_to_the_locality(parts: list[str]) -> None:
    address = " ".join(parts)
    masked = mask_address(address)
    shown = masked.split()
    if shown and shown[-1] == ADDRESS_REST:
        shown = shown[:-1]
        assert len(shown) < len(parts)  # something was hidden
    else:
        assert shown == parts  # nothing hidden only when nothing follows the locality
    assert parts[: len(shown)] == shown  # only a leading run of tokens is ever shown
    # No token after the first road/동 token is shown; and no digit-led token (a building
    # or unit number) is shown at all.
    assert not any(token[0].isdigit() for token in shown)
    localities = [
        t
        for t in shown
        if re.search(r"(로|길|동|\d가|읍|면|리)$", t)
        and not re.search(r"(특별자치시|특별자치도|특별시|광역시|시|도|군|구)$", t)
    ]
    assert len(localities) <= 1 and (not localities or shown[-1] == localities[0])


@given(st.text(max_size=40))
def test_every_function_is_total_and_deterministic(value: str) -> None:
    for mask in (mask_rrn, mask_name, mask_phone, mask_address):
        first = mask(value)
        assert isinstance(first, str)
        assert mask(value) == first  # one value, one masked form, on every surface
