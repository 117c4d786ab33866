"""The care SOS (돌봄SOS) catalogue, dated by year, and the caps a request must respect.

Source: seed 004 (금천구, "2022년 기준 운영수가 및 제공 한도") and seed 001 (1인 연간
지원한도 1,580천원; 중위소득 85% 이하 전액 지원, 그 외 본인부담).

Decisions (confirm with the care support team):
- Caps bind everyone. The income test decides who pays (district or the resident), not how
  much service a person may use, because the caps ration an emergency, short-term service.
- A request over a cap is rejected whole, never trimmed: the reason states what remains so
  the care manager can resubmit a smaller request.
- Cleaning/disinfection (청소·방역) and home repair (집수리) have no unit price in the seed:
  they are priced at the provider's quote and bounded only by the annual limit. Laundry
  (세탁) is quoted per wash within 15,000–30,000 KRW, delivery included.
- A year without its own catalogue uses the latest earlier one: tariffs stay in force until
  revised ("변경 가능").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from heemang_resources.domain.errors import InvalidCareRequest


class CareService(StrEnum):
    home_care = "home_care"  # 일시재가
    short_stay = "short_stay"  # 단기시설
    accompaniment = "accompaniment"  # 동행지원
    cleaning = "cleaning"  # 주거편의: 청소·방역
    home_repair = "home_repair"  # 주거편의: 집수리
    laundry = "laundry"  # 주거편의: 세탁서비스
    meals = "meals"  # 식사지원


class Payer(StrEnum):
    district = "district"  # household income ≤ 85 % of the median: free
    self_paid = "self_paid"  # above it: the resident pays


class RejectionCode(StrEnum):
    not_offered = "not_offered"
    price_out_of_range = "price_out_of_range"
    service_cap_exceeded = "service_cap_exceeded"
    annual_limit_exceeded = "annual_limit_exceeded"


@dataclass(frozen=True)
class ServiceTerms:
    """`unit_price` is fixed, or None when the price is quoted per unit within
    [min_price, max_price] (either bound may be absent)."""

    service: CareService
    unit: str
    unit_price: int | None
    max_units_per_year: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    cap_note: str = ""


@dataclass(frozen=True)
class CareCatalogue:
    year: int
    annual_limit: int  # KRW per person per year, all services together
    free_at_percent_of_median: int
    services: Mapping[CareService, ServiceTerms]


CATALOGUE_2022 = CareCatalogue(
    year=2022,
    annual_limit=1_580_000,
    free_at_percent_of_median=85,
    services={
        t.service: t
        for t in (
            # 60 hours a year in 3-hour visits: 20 visits.
            ServiceTerms(CareService.home_care, "3-hour visit", 48_170, 20, cap_note="60 hours"),
            ServiceTerms(CareService.short_stay, "day", 58_070, 14, cap_note="14 days"),
            ServiceTerms(CareService.accompaniment, "60 minutes", 14_800),
            ServiceTerms(CareService.cleaning, "job", None),
            ServiceTerms(CareService.home_repair, "job", None),
            ServiceTerms(CareService.laundry, "wash", None, min_price=15_000, max_price=30_000),
            ServiceTerms(CareService.meals, "meal", 7_800, 30, cap_note="30 meals"),
        )
    },
)

CATALOGUES: Mapping[int, CareCatalogue] = {CATALOGUE_2022.year: CATALOGUE_2022}


def catalogue_for(year: int, catalogues: Mapping[int, CareCatalogue] = CATALOGUES) -> CareCatalogue:
    earlier = [y for y in catalogues if y <= year]
    if not earlier:
        raise InvalidCareRequest(f"no care SOS catalogue in force in {year}", year=year)
    return catalogues[max(earlier)]


@dataclass(frozen=True)
class CareUsage:
    """A service already approved this year for the person (units and what it cost)."""

    service: CareService
    units: int
    amount: int


@dataclass(frozen=True)
class CareRequest:
    service: CareService
    units: int
    household_income: int  # monthly, KRW
    median_income: int  # the median for the household's size, monthly, KRW
    quoted_unit_price: int | None = None  # required when the catalogue has no unit price


@dataclass(frozen=True)
class Approved:
    service: CareService
    units: int
    amount: int
    payer: Payer

    @property
    def funded_amount(self) -> int:
        """What the district pays (and posts to the ledger)."""
        return self.amount if self.payer is Payer.district else 0


@dataclass(frozen=True)
class Rejected:
    code: RejectionCode
    reason: str


Decision = Approved | Rejected


def check_request(
    catalogue: CareCatalogue, history_this_year: Iterable[CareUsage], request: CareRequest
) -> Decision:
    """Approve the request if the service is offered, its price is in range, and neither
    the service's yearly cap nor the person's annual limit would be exceeded."""
    _validate(request)
    terms = catalogue.services.get(request.service)
    if terms is None:
        return Rejected(RejectionCode.not_offered, f"{request.service} is not offered in {catalogue.year}")
    history = list(history_this_year)
    unit_price = _unit_price(terms, request)
    if isinstance(unit_price, Rejected):
        return unit_price
    amount = unit_price * request.units
    rejection = _service_cap(terms, history, request) or _annual_limit(catalogue, history, amount)
    if rejection is not None:
        return rejection
    return Approved(request.service, request.units, amount, _payer(catalogue, request))


def _validate(request: CareRequest) -> None:
    for name in ("units", "household_income", "median_income"):
        value = getattr(request, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidCareRequest(f"{name} must be a non-negative integer", field=name)
    if request.units == 0 or request.median_income == 0:
        raise InvalidCareRequest("units and median_income must be positive")
    price = request.quoted_unit_price
    if price is not None and (isinstance(price, bool) or not isinstance(price, int) or price <= 0):
        raise InvalidCareRequest("quoted_unit_price must be a positive integer", field="quoted_unit_price")


def _unit_price(terms: ServiceTerms, request: CareRequest) -> int | Rejected:
    if terms.unit_price is not None:
        if request.quoted_unit_price not in (None, terms.unit_price):
            raise InvalidCareRequest(f"{terms.service} has a fixed price of {terms.unit_price} KRW")
        return terms.unit_price
    quote = request.quoted_unit_price
    if quote is None:
        raise InvalidCareRequest(f"{terms.service} is priced per quote: quoted_unit_price is required")
    low, high = terms.min_price, terms.max_price
    if (low is not None and quote < low) or (high is not None and quote > high):
        return Rejected(
            RejectionCode.price_out_of_range,
            f"{terms.service} costs {low or 0:,}–{high or 0:,} KRW per {terms.unit}; quoted {quote:,}",
        )
    return quote


def _service_cap(terms: ServiceTerms, history: list[CareUsage], request: CareRequest) -> Rejected | None:
    cap = terms.max_units_per_year
    if cap is None:
        return None
    used = sum(u.units for u in history if u.service is terms.service)
    if used + request.units <= cap:
        return None
    note = f" ({terms.cap_note})" if terms.cap_note else ""
    return Rejected(
        RejectionCode.service_cap_exceeded,
        f"{terms.service}: {used} of {cap} {terms.unit}s{note} used this year, "
        f"{max(cap - used, 0)} left, {request.units} requested",
    )


def _annual_limit(catalogue: CareCatalogue, history: list[CareUsage], amount: int) -> Rejected | None:
    used = sum(u.amount for u in history)
    if used + amount <= catalogue.annual_limit:
        return None
    return Rejected(
        RejectionCode.annual_limit_exceeded,
        f"annual limit {catalogue.annual_limit:,} KRW a person: {used:,} used, "
        f"{max(catalogue.annual_limit - used, 0):,} left, {amount:,} requested",
    )


def _payer(catalogue: CareCatalogue, request: CareRequest) -> Payer:
    # Integer comparison: income / median ≤ 85 % without a float in sight.
    free = request.household_income * 100 <= request.median_income * catalogue.free_at_percent_of_median
    return Payer.district if free else Payer.self_paid
