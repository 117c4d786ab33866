"""Emergency-welfare screening (긴급복지지원 선정기준) and care SOS eligibility (pure).

Given a dated policy (policy/<year>.json) and what is known about a household, say for the
national (국가형) and Seoul (서울형) schemes whether it qualifies, line by line (which
threshold, which value, pass or fail), and what it could receive by support type. A
missing input is named, never guessed: a scheme whose lines cannot all be checked is
``eligible = None`` with the missing inputs listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from heemang_common.errors import Invalid

SchemeId = Literal["national", "seoul"]
CareSos = Literal["free", "self_paid", "not_eligible"]


def _by_size(table: tuple[int, ...], size: int) -> int:
    """A per-household-size figure; beyond the table each member adds the last step."""
    if size < 1:
        raise Invalid("household_size must be at least 1")
    if size <= len(table):
        return table[size - 1]
    step = table[-1] - table[-2]
    return table[-1] + step * (size - len(table))


@dataclass(frozen=True)
class Scheme:
    id: SchemeId
    name: str
    income_limit: tuple[int, ...]
    income_limit_label: str
    property_limit: int
    financial_assets_limit: int
    financial_assets_limit_housing: int | None
    basic_livelihood_allowed: bool


@dataclass(frozen=True)
class OtherSupport:
    item: str
    label: str
    amount: int
    months: tuple[int, ...] = ()


@dataclass(frozen=True)
class Policy:
    year: int
    effective_from: date
    median_income: tuple[int, ...]
    schemes: tuple[Scheme, ...]
    living: tuple[int, ...]
    medical_max: int
    housing: tuple[int, ...]
    education: dict[str, int]
    other: tuple[OtherSupport, ...]
    care_min_age: int
    care_disability_qualifies: bool
    care_free_income_limit: tuple[int, ...]
    care_free_label: str
    care_annual_cap: int

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Policy:
        schemes = tuple(
            Scheme(
                id=key,
                name=s["name"],
                income_limit=tuple(s["income_limit"]),
                income_limit_label=s["income_limit_label"],
                property_limit=int(s["property_limit"]),
                financial_assets_limit=int(s["financial_assets_limit"]),
                financial_assets_limit_housing=s.get("financial_assets_limit_housing"),
                basic_livelihood_allowed=bool(s["basic_livelihood_allowed"]),
            )
            for key, s in raw["schemes"].items()
        )
        support, care = raw["support"], raw["care_sos"]
        policy = cls(
            year=int(raw["year"]),
            effective_from=date.fromisoformat(raw["effective_from"]),
            median_income=tuple(raw["median_income"]),
            schemes=schemes,
            living=tuple(support["living"]),
            medical_max=int(support["medical_max"]),
            housing=tuple(support["housing"]),
            education={k: int(v) for k, v in support["education"].items()},
            other=tuple(
                OtherSupport(o["item"], o["label"], int(o["amount"]), tuple(o.get("months", ())))
                for o in support["other"]
            ),
            care_min_age=int(care["min_age"]),
            care_disability_qualifies=bool(care["disability_qualifies"]),
            care_free_income_limit=tuple(care["free_income_limit"]),
            care_free_label=care["free_income_limit_label"],
            care_annual_cap=int(care["annual_cap"]),
        )
        for table in (policy.median_income, policy.living, policy.housing, policy.care_free_income_limit):
            if len(table) < 2 or any(v <= 0 for v in table):
                raise ValueError(f"policy {policy.year}: a per-size table needs ≥ 2 positive figures")
        return policy


@dataclass(frozen=True)
class Inputs:
    """What the screening is computed from; None = not known."""

    household_size: int | None
    monthly_income: int | None
    property_value: int | None
    financial_assets: int | None
    basic_livelihood: bool | None  # 기초수급 (the national scheme excludes it)
    on: date  # the date the screening refers to (the referral's date)
    age: int | None = None  # of the person care SOS is for
    disabled: bool | None = None
    students: dict[str, int] = field(default_factory=dict)  # elementary/middle/high → count


@dataclass(frozen=True)
class Line:
    criterion: str
    label: str
    threshold: int | bool | None
    value: int | bool | None
    passed: bool | None  # None: the value is missing


@dataclass(frozen=True)
class SchemeResult:
    scheme: SchemeId
    name: str
    eligible: bool | None
    lines: tuple[Line, ...]
    housing_only: bool = False  # fails the general financial limit, passes the housing one


@dataclass(frozen=True)
class SupportItem:
    type: str  # living, medical, housing, education, other
    item: str
    label: str
    amount: int
    note: str = ""


@dataclass(frozen=True)
class CareSosResult:
    eligible: bool | None
    cost: CareSos | None
    lines: tuple[Line, ...]
    annual_cap: int


@dataclass(frozen=True)
class Screening:
    policy_year: int
    missing: tuple[str, ...]
    schemes: tuple[SchemeResult, ...]
    support: tuple[SupportItem, ...]
    care_sos: CareSosResult

    def eligible(self, scheme: SchemeId) -> bool | None:
        return next(s.eligible for s in self.schemes if s.scheme == scheme)


def _line(criterion: str, label: str, threshold: int, value: int | None) -> Line:
    return Line(criterion, label, threshold, value, None if value is None else value <= threshold)


def _verdict(lines: tuple[Line, ...]) -> bool | None:
    """False as soon as one checked line fails; None while a line is unchecked; else True."""
    if any(line.passed is False for line in lines):
        return False
    if any(line.passed is None for line in lines):
        return None
    return True


def screen_scheme(scheme: Scheme, inputs: Inputs) -> SchemeResult:
    lines: list[Line] = []
    if inputs.household_size is not None:
        limit = _by_size(scheme.income_limit, inputs.household_size)
        lines.append(
            _line(
                "income",
                f"월 소득 ≤ {scheme.income_limit_label} ({inputs.household_size}인)",
                limit,
                inputs.monthly_income,
            )
        )
    else:
        lines.append(
            Line("income", f"월 소득 ≤ {scheme.income_limit_label}", None, inputs.monthly_income, None)
        )
    lines.append(_line("property", "재산 ≤ 기준", scheme.property_limit, inputs.property_value))
    financial = _line(
        "financial_assets", "금융재산 ≤ 기준", scheme.financial_assets_limit, inputs.financial_assets
    )
    lines.append(financial)
    if not scheme.basic_livelihood_allowed:
        excluded = None if inputs.basic_livelihood is None else not inputs.basic_livelihood
        lines.append(
            Line("not_basic_livelihood", "기초생활보장 수급자 제외", False, inputs.basic_livelihood, excluded)
        )
    verdict = _verdict(tuple(lines))
    housing_only = False
    housing_limit = scheme.financial_assets_limit_housing
    if financial.passed is False and housing_limit is not None and inputs.financial_assets is not None:
        housing_line = _line(
            "financial_assets_housing", "금융재산 ≤ 주거지원 기준", housing_limit, inputs.financial_assets
        )
        lines.append(housing_line)
        others = [
            line for line in lines if line.criterion not in ("financial_assets", "financial_assets_housing")
        ]
        if housing_line.passed and _verdict(tuple(others)) is True:
            verdict, housing_only = True, True
    return SchemeResult(scheme.id, scheme.name, verdict, tuple(lines), housing_only)


def support_amounts(policy: Policy, inputs: Inputs, housing_only: bool) -> tuple[SupportItem, ...]:
    """What the household could receive under the national scheme's amounts, by type."""
    if inputs.household_size is None:
        return ()
    size = inputs.household_size
    housing = SupportItem("housing", "housing", "주거지원", _by_size(policy.housing, size))
    if housing_only:
        return (housing,)
    items = [
        SupportItem("living", "living", "생계지원 (월)", _by_size(policy.living, size)),
        SupportItem("medical", "medical", "의료지원 (한도)", policy.medical_max, "up to"),
        housing,
    ]
    for level, count in sorted(inputs.students.items()):
        if count > 0 and level in policy.education:
            amount = policy.education[level] * count
            note = f"{count} student(s)" + (", plus tuition and entrance fees" if level == "high" else "")
            items.append(SupportItem("education", level, f"교육지원 ({level})", amount, note))
    for other in policy.other:
        if other.months and inputs.on.month not in other.months:
            continue
        items.append(
            SupportItem("other", other.item, other.label, other.amount, "when the situation applies")
        )
    return tuple(items)


def care_sos(policy: Policy, inputs: Inputs) -> CareSosResult:
    """돌봄SOS: people aged ≥ 50 or with a disability; free at ≤ 85% median, else self-paid."""
    age_ok = None if inputs.age is None else inputs.age >= policy.care_min_age
    disabled = inputs.disabled if policy.care_disability_qualifies else False
    lines = [
        Line("age", f"만 {policy.care_min_age}세 이상", policy.care_min_age, inputs.age, age_ok),
        Line("disability", "장애", True, inputs.disabled, disabled),
    ]
    if age_ok is True or disabled is True:
        eligible: bool | None = True
    elif age_ok is None or disabled is None:
        eligible = None
    else:
        eligible = False
    cost: CareSos | None = None if eligible is None else ("not_eligible" if not eligible else None)
    if inputs.household_size is not None:
        limit = _by_size(policy.care_free_income_limit, inputs.household_size)
        income = _line("income", f"무료: 월 소득 ≤ {policy.care_free_label}", limit, inputs.monthly_income)
        lines.append(income)
        if eligible and income.passed is not None:
            cost = "free" if income.passed else "self_paid"
    else:
        lines.append(
            Line("income", f"무료: 월 소득 ≤ {policy.care_free_label}", None, inputs.monthly_income, None)
        )
    return CareSosResult(eligible, cost, tuple(lines), policy.care_annual_cap)


def missing_inputs(inputs: Inputs) -> tuple[str, ...]:
    names = {
        "household_size": inputs.household_size,
        "monthly_income": inputs.monthly_income,
        "property_value": inputs.property_value,
        "financial_assets": inputs.financial_assets,
        "protection_status": inputs.basic_livelihood,
    }
    missing = [name for name, value in names.items() if value is None]
    if inputs.age is None and inputs.disabled is None:
        missing.append("age or disabled (care SOS)")
    return tuple(missing)


def screen(policy: Policy, inputs: Inputs) -> Screening:
    for name in ("monthly_income", "property_value", "financial_assets"):
        value = getattr(inputs, name)
        if value is not None and value < 0:
            raise Invalid(f"{name} cannot be negative")
    results = tuple(screen_scheme(s, inputs) for s in policy.schemes)
    national = next((r for r in results if r.scheme == "national"), None)
    support: tuple[SupportItem, ...] = ()
    if national is not None and national.eligible:
        support = support_amounts(policy, inputs, national.housing_only)
    return Screening(policy.year, missing_inputs(inputs), results, support, care_sos(policy, inputs))
