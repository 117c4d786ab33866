"""Korean phone numbers (pure): what we accept as a contact number."""

from __future__ import annotations

import re

from heemang_common.errors import Invalid

# Mobile 010/011/016/017/018/019 + 7-8 digits; Seoul 02 + 7-8; other areas 0[3-6]x + 7-8;
# 070 internet phones. Digits only after normalising (hyphens, spaces, dots dropped).
_VALID = re.compile(r"^(01[016789]\d{7,8}|02\d{7,8}|0[3-6][1-5]\d{7,8}|070\d{8})$")
_SEPARATORS = re.compile(r"[\s\-.()]")


def normalise(value: str) -> str:
    """The number's digits (``010-1234-5678`` → ``01012345678``); Invalid if it is not one.
    ``+82`` becomes the domestic leading 0."""
    digits = _SEPARATORS.sub("", value.strip())
    if digits.startswith("+82"):
        digits = "0" + digits[3:].lstrip("0")
    if not _VALID.match(digits):
        raise Invalid("not a Korean phone number (e.g. 010-1234-5678)")
    return digits


def is_mobile(digits: str) -> bool:
    """Text messages reach mobiles only."""
    return digits.startswith("01")
