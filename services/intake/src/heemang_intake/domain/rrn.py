"""Resident registration numbers (주민등록번호, RRN): parsing, validation, masking.

Format ``YYMMDD-GNNNNNN`` (the hyphen is optional on input). ``G`` gives the century and
sex: 9/0 → 1800s, 1/2/5/6 → 1900s (5/6: foreign residents), 3/4/7/8 → 2000s (7/8:
foreign residents). The last digit was a check digit: weights 2,3,4,5,6,7,8,9,2,3,4,5 over
the first twelve digits, check = (11 − sum mod 11) mod 10.

Why the check digit is enforced only for birth dates before 2020-10-01: since October 2020
the ministry assigns the seven digits after the birth date at random (the region code and
check digit were dropped so a number no longer reveals where it was issued), so a valid
number of a child born since then need not pass the old check. We cannot tell from the
number when it was *issued*, so the birth date stands in for the issue date: numbers of
people born before the change are checked, later ones are not. (A person born earlier who
was given a new number after October 2020 — rare: a number change after identity theft or
a naturalisation — would be refused by this rule; the officer then records the member
without the RRN and the case is reported, rather than weakening the check for everyone.)

Nothing here ever puts the number into an exception message or a repr: an error says what
is wrong, not what was entered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from heemang_common.errors import Invalid
from heemang_common.masking import mask_rrn

#: Birth dates from this day on carry randomly assigned digits (no check digit).
CHECK_DIGIT_ABOLISHED = date(2020, 10, 1)

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)

CENTURY = {
    "9": 1800,
    "0": 1800,
    "1": 1900,
    "2": 1900,
    "5": 1900,
    "6": 1900,
    "3": 2000,
    "4": 2000,
    "7": 2000,
    "8": 2000,
}

_SHAPE = re.compile(r"^(\d{6})-?(\d{7})$")


class InvalidRrn(Invalid):
    """Not a valid RRN. The message names the rule broken, never the number."""

    problem = "invalid-rrn"
    title = "Invalid resident registration number"


@dataclass(frozen=True)
class Rrn:
    """A validated RRN. ``repr``/``str`` are masked so it cannot leak into a log by accident."""

    digits: str = field(repr=False)  # the 13 digits, no hyphen
    birth_date: date

    @property
    def formatted(self) -> str:
        """The full number, ``YYMMDD-GNNNNNN``: only for encryption and hashing."""
        return f"{self.digits[:6]}-{self.digits[6:]}"

    @property
    def gender_digit(self) -> str:
        return self.digits[6]

    @property
    def masked(self) -> str:
        return mask_rrn(self.digits)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Rrn({self.masked})"


def check_digit(first_twelve: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_twelve, WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def normalise(value: str) -> str:
    """The 13 digits of a well-shaped RRN (surrounding spaces and the hyphen dropped)."""
    match = _SHAPE.match(value.strip())
    if match is None:
        raise InvalidRrn("an RRN is 13 digits: YYMMDD-GNNNNNN (the hyphen is optional)")
    return match.group(1) + match.group(2)


def parse(value: str, *, today: date | None = None) -> Rrn:
    """Validate an RRN: shape, century digit, a real birth date not in the future, and the
    check digit for birth dates before 2020-10-01. Raises InvalidRrn."""
    digits = normalise(value)
    century = CENTURY.get(digits[6])
    if century is None:  # every digit is in the table; kept for safety if it changes
        raise InvalidRrn("the 7th digit of an RRN must give the century")
    try:
        born = date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        raise InvalidRrn("the first six digits of an RRN must be a real birth date (YYMMDD)") from None
    if born > (today or date.today()):
        raise InvalidRrn("the birth date of an RRN cannot be in the future")
    if born < CHECK_DIGIT_ABOLISHED and check_digit(digits[:12]) != int(digits[12]):
        raise InvalidRrn("the check digit of the RRN does not match")
    return Rrn(digits=digits, birth_date=born)


def is_valid(value: str, *, today: date | None = None) -> bool:
    try:
        parse(value, today=today)
    except InvalidRrn:
        return False
    return True


def mask(value: str) -> str:
    """``900101-1******``: the common masking policy (one policy on every surface)."""
    return mask_rrn(value)


def make(birth: date, gender_digit: str, serial: str) -> str:
    """Build a well-formed RRN from a birth date, the 7th digit and five serial digits,
    completing the check digit (test data and fixtures: synthetic numbers only)."""
    if len(serial) != 5 or not serial.isdigit():
        raise ValueError("serial must be five digits")
    head = f"{birth:%y%m%d}{gender_digit}{serial}"
    return f"{head[:6]}-{head[6:]}{check_digit(head)}"


#: An RRN-shaped run in free text (not inside a longer run of digits).
_IN_TEXT = re.compile(r"(?<!\d)\d{6}[- ]?\d{7}(?!\d)")


def redact(text: str) -> str:
    """Free text (summaries, counsellors' notes, anonymous reports) with every valid RRN in
    it replaced by its mask: a number typed into a note must not land in the database in
    plaintext. Digit runs that are not a valid RRN (phone, account numbers) stay."""
    return _IN_TEXT.sub(
        lambda m: mask_rrn(m.group(0)) if is_valid(m.group(0).replace(" ", "")) else m.group(0), text
    )
