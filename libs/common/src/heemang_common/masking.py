"""The one masking policy every Heemang surface uses (RELIABILITY.md T17).

Every response serializer, export, history entry and log line that shows a person's
identifier goes through these functions, so the same value is masked the same way — the
same positions hidden — everywhere, and no two surfaces can be combined to rebuild it.

| what | shown | example |
| --- | --- | --- |
| RRN | birth date and the century/sex digit | ``900101-1******`` |
| name | first and last character (two characters: the first) | ``홍*동``, ``홍*``, ``남**수`` |
| phone | prefix and last four digits | ``010-****-5678``, ``02-***-4567`` |
| address | up to the road name or 동 (읍·면·리·가) | ``서울특별시 강남구 테헤란로 ***`` |

The functions are pure, deterministic and total: anything they cannot parse is masked
completely rather than shown.
"""

from __future__ import annotations

import re

MASK = "*"
#: What stands for the hidden rest of an address (a fixed marker: reveals no length).
ADDRESS_REST = "***"
#: An RRN that is not 13 digits: nothing of it is shown.
RRN_UNREADABLE = "******-*******"

_DIGITS = re.compile(r"\d")
# A road name (…로, …길), a 동 (legal or administrative), 읍/면/리, or a numbered 가 (종로1가):
# the token must start with a Hangul syllable, so a building number ("101동") never counts.
_LOCALITY = re.compile(r"^[가-힣][가-힣0-9·.]*(로|길|동|읍|면|리)$|^[가-힣]+\d+가$")
# Regions above the locality (시·도, 시·군·구), kept when they come first.
_REGION = re.compile(r"^[가-힣]+(특별자치시|특별자치도|특별시|광역시|시|도|군|구)$")


def _digits(value: str) -> str:
    return "".join(_DIGITS.findall(value))


def mask_rrn(value: str) -> str:
    """``YYMMDD-G******``: birth date and the 7th digit only. Not 13 digits → all masked."""
    digits = _digits(value)
    if len(digits) != 13:
        return RRN_UNREADABLE
    return f"{digits[:6]}-{digits[6]}{MASK * 6}"


def mask_name(value: str) -> str:
    """홍길동 → 홍*동, 홍길 → 홍*, 남궁민수 → 남**수, one character → *.

    Surrounding whitespace is dropped; every character between the first and last is
    masked (spaces included), so the length is the only other thing shown."""
    name = value.strip()
    if len(name) <= 1:
        return MASK * len(name)
    if len(name) == 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


def mask_phone(value: str) -> str:
    """010-1234-5678 → 010-****-5678; 02-123-4567 → 02-***-4567.

    The prefix (02 for Seoul, else the first three digits) and the last four digits are
    shown; a number of another shape shows nothing but asterisks, one per digit."""
    digits = _digits(value)
    prefix_len = 2 if digits.startswith("02") else 3
    middle = digits[prefix_len:-4]
    if len(digits) < 9 or len(middle) not in (3, 4):
        return MASK * len(digits)
    return f"{digits[:prefix_len]}-{MASK * len(middle)}-{digits[-4:]}"


def mask_address(value: str) -> str:
    """Keep the leading region tokens and the first road name / 동 token; the rest
    (building number, apartment, floor, unit) becomes ``***``.

    서울특별시 강남구 테헤란로 152 강남파이낸스센터 → 서울특별시 강남구 테헤란로 ***;
    서울 강남구 역삼동 123-45 → 서울 강남구 역삼동 ***. An address without a road name or
    동 keeps only its leading region tokens."""
    tokens = value.split()
    kept: list[str] = []
    for token in tokens:
        if _LOCALITY.match(token):
            kept.append(token)
            break
        if not (_REGION.match(token) or token in _SHORT_REGIONS):
            break
        kept.append(token)
    if len(kept) < len(tokens):
        kept.append(ADDRESS_REST)
    return " ".join(kept)


#: Short province/city names written without their suffix (서울 강남구 …).
_SHORT_REGIONS = frozenset(
    {
        "서울",
        "부산",
        "대구",
        "인천",
        "광주",
        "대전",
        "울산",
        "세종",
        "경기",
        "강원",
        "충북",
        "충남",
        "전북",
        "전남",
        "경북",
        "경남",
        "제주",
    }
)
