"""RRN rules: shape, century digit, birth date, the check digit before 2020-10-01, masking."""

from __future__ import annotations

from datetime import date

import pytest

from heemang_common.masking import mask_rrn
from heemang_intake.domain import rrn

TODAY = date(2026, 11, 23)


def _with_check(first_twelve: str) -> str:
    return f"{first_twelve[:6]}-{first_twelve[6:]}{rrn.check_digit(first_twelve)}"


def test_check_digit_of_a_known_example() -> None:
    # 900101-123456?: sum = 9*2+0*3+0*4+1*5+0*6+1*7+1*8+2*9+3*2+4*3+5*4+6*5 = 124; 11-124%11=8
    assert rrn.check_digit("900101123456") == 8
    assert rrn.parse("900101-1234568", today=TODAY).birth_date == date(1990, 1, 1)


@pytest.mark.parametrize(
    ("digit", "year"),
    [
        ("9", 1890),
        ("0", 1890),
        ("1", 1990),
        ("2", 1990),
        ("5", 1990),
        ("6", 1990),
        ("3", 2090),
        ("4", 2090),
        ("7", 2090),
        ("8", 2090),
    ],
)
def test_century_digit(digit: str, year: int) -> None:
    number = _with_check(f"900101{digit}23456")
    if year > TODAY.year:  # 2090: a future birth date
        with pytest.raises(rrn.InvalidRrn, match="future"):
            rrn.parse(number, today=TODAY)
    else:
        assert rrn.parse(number, today=TODAY).birth_date == date(year, 1, 1)


@pytest.mark.parametrize("digit", ["3", "4", "7", "8"])
def test_2000s_digits(digit: str) -> None:
    assert rrn.parse(_with_check(f"150505{digit}23456"), today=TODAY).birth_date == date(2015, 5, 5)


def test_hyphen_optional_and_spaces_trimmed() -> None:
    assert rrn.parse(" 9001011234568 ", today=TODAY).formatted == "900101-1234568"


@pytest.mark.parametrize(
    "value",
    ["", "900101-123456", "900101-12345678", "90010a-1234568", "900101_1234568", "900101--1234568"],
)
def test_bad_shape(value: str) -> None:
    with pytest.raises(rrn.InvalidRrn, match="13 digits"):
        rrn.parse(value, today=TODAY)


@pytest.mark.parametrize("head", ["901301", "900230", "010229", "900100"])  # month 13, Feb 30, 2001-02-29
def test_impossible_birth_dates(head: str) -> None:
    with pytest.raises(rrn.InvalidRrn, match="real birth date"):
        rrn.parse(_with_check(f"{head}123456"), today=TODAY)


def test_leap_day_is_fine() -> None:
    assert rrn.parse(_with_check("000229312345"), today=TODAY).birth_date == date(2000, 2, 29)


def test_wrong_check_digit_before_october_2020() -> None:
    good = rrn.parse("900101-1234568", today=TODAY)
    assert good
    with pytest.raises(rrn.InvalidRrn, match="check digit"):
        rrn.parse("900101-1234567", today=TODAY)
    last_checked = _with_check("200930312345")
    assert rrn.parse(last_checked, today=TODAY)
    wrong = last_checked[:-1] + str((int(last_checked[-1]) + 1) % 10)
    with pytest.raises(rrn.InvalidRrn, match="check digit"):
        rrn.parse(wrong, today=TODAY)


def test_no_check_digit_from_october_2020() -> None:
    # Numbers issued since 2020-10 have random trailing digits: every last digit is accepted.
    for last in "0123456789":
        assert rrn.parse(f"201001-412345{last}", today=TODAY).birth_date == date(2020, 10, 1)


def test_errors_never_contain_the_number() -> None:
    for value in ["900101-1234567", "901301-1234567", "9001011234567", "29991231-3"]:
        with pytest.raises(rrn.InvalidRrn) as caught:
            rrn.parse(value, today=TODAY)
        text = f"{caught.value} {caught.value.detail} {caught.value.extensions}"
        assert "1234567" not in text and "900101" not in text and "901301" not in text


def test_repr_and_str_are_masked() -> None:
    number = rrn.parse("900101-1234568", today=TODAY)
    assert str(number) == repr(number).removeprefix("Rrn(").removesuffix(")") == "900101-1******"
    assert "234568" not in f"{number!r} {number} {[number]}"


def test_mask_is_the_common_policy() -> None:
    assert rrn.mask("900101-1234568") == "900101-1******" == mask_rrn("9001011234568")
    assert rrn.parse("9001011234568", today=TODAY).masked == mask_rrn("900101-1234568")


def test_make_builds_valid_numbers() -> None:
    number = rrn.make(date(1955, 7, 31), "2", "10203")
    assert rrn.is_valid(number, today=TODAY)
    assert rrn.parse(number, today=TODAY).gender_digit == "2"
