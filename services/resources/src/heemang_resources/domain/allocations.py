"""Deciding a service request from casework (`casework.service.requested`): approve when the
catalogue, the caps, the fund and the budget line allow, else reject with a coded reason.

Service codes: `care_sos.<service>` (돌봄SOS, domain/care_caps.py) or a support code from
SUPPORT_CATALOGUE (emergency welfare maxima, 2021, BRIEF.md). Decisions (docs/resources.md):
- The event carries no income, so the care SOS payer is the district (casework's selection
  already judged need); a self-paid request would carry amount 0 and is approved at 0.
- Caps count per household: the event names the household, not the person.
- Money committed to approved, undelivered allocations is not available to the next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from heemang_resources.domain import care_caps
from heemang_resources.domain.care_caps import CareCatalogue, CareRequest, CareService, CareUsage
from heemang_resources.domain.errors import InvalidCareRequest
from heemang_resources.domain.ledger import Account, AccountKind

Reason = Literal["cap_exceeded", "fund_insufficient", "budget_exhausted", "unknown_service", "not_eligible"]
CARE_PREFIX = "care_sos."

#: Most a household may get per request, by support code (긴급복지 2021, 6-person maxima).
SUPPORT_CATALOGUE: Mapping[str, int] = {
    "emergency.living": 1_722_100,
    "emergency.medical": 3_000_000,
    "emergency.housing": 848_600,
    "emergency.education": 432_200,
    "emergency.heating": 98_000,
    "emergency.childbirth": 700_000,
    "emergency.funeral": 800_000,
    "emergency.electricity": 500_000,
}

#: Where a request is paid from when casework names no fund.
DEFAULT_FUNDS: Mapping[str, str] = {
    "care_sos": "budget:care-sos:city",
    "emergency": "budget:emergency:national",
}

#: Kinds a request may be paid from (never a boundary account, never someone's wallet).
PAYING_KINDS = frozenset(
    {
        AccountKind.general_fund,
        AccountKind.designated_fund,
        AccountKind.campaign_fund,
        AccountKind.budget_line,
        AccountKind.in_kind_stock,
    }
)


@dataclass(frozen=True)
class SupportRequest:
    service_code: str
    amount: int
    quantity: int | None
    household_id: str


@dataclass(frozen=True)
class Grant:
    amount: int
    units: int | None
    care_service: CareService | None


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    detail: str


def purpose(service_code: str) -> str:
    """The disbursed-sink segment for a service code: `care_sos.meals` → `care-sos`."""
    return service_code.split(".", 1)[0].replace("_", "-")


def default_fund(service_code: str) -> str | None:
    return DEFAULT_FUNDS.get(service_code.split(".", 1)[0])


def care_service(service_code: str) -> CareService | None:
    if not service_code.startswith(CARE_PREFIX):
        return None
    name = service_code.removeprefix(CARE_PREFIX)
    return CareService(name) if name in CareService._value2member_map_ else None


def price(request: SupportRequest, catalogue: CareCatalogue, history: Iterable[CareUsage]) -> Grant | Refusal:
    """What the request costs under the catalogue and caps, or why it cannot be granted."""
    if request.service_code.startswith(CARE_PREFIX):
        return _care(request, catalogue, history)
    limit = SUPPORT_CATALOGUE.get(request.service_code)
    if limit is None:
        return Refusal("unknown_service", f"{request.service_code} is not in the support catalogue")
    if request.amount > limit:
        return Refusal(
            "cap_exceeded", f"{request.service_code}: at most {limit:,} KRW, {request.amount:,} asked"
        )
    if request.amount == 0:
        return Refusal("not_eligible", f"{request.service_code}: nothing asked")
    return Grant(request.amount, request.quantity, None)


def _care(request: SupportRequest, catalogue: CareCatalogue, history: Iterable[CareUsage]) -> Grant | Refusal:
    service = care_service(request.service_code)
    if service is None or service not in catalogue.services:
        return Refusal(
            "unknown_service", f"{request.service_code} is not in the {catalogue.year} care SOS catalogue"
        )
    units = request.quantity or 1
    terms = catalogue.services[service]
    quote = None
    if terms.unit_price is None:
        if request.amount % units:
            return Refusal("not_eligible", f"{request.amount:,} KRW is not a whole price per {terms.unit}")
        quote = request.amount // units
    try:
        decision = care_caps.check_request(
            catalogue,
            history,
            # No income on the event: the district pays (module docstring).
            CareRequest(service, units, household_income=0, median_income=1, quoted_unit_price=quote),
        )
    except InvalidCareRequest as exc:
        return Refusal("not_eligible", exc.detail)
    if isinstance(decision, care_caps.Rejected):
        reason: Reason = (
            "unknown_service"
            if decision.code is care_caps.RejectionCode.not_offered
            else (
                "not_eligible"
                if decision.code is care_caps.RejectionCode.price_out_of_range
                else "cap_exceeded"
            )
        )
        return Refusal(reason, decision.reason)
    return Grant(decision.funded_amount, units, service)


def check_fund(
    fund: Account | None, code: str, household_id: str, amount: int, available: int
) -> Refusal | None:
    """The fund exists, may pay for this household, and holds `amount` beyond commitments."""
    if fund is None:
        return Refusal("fund_insufficient", f"no fund {code} is open")
    if fund.kind not in PAYING_KINDS:
        return Refusal("not_eligible", f"{code} cannot pay for support")
    prefix = "fund:designated:household:"
    if fund.code.startswith(prefix) and fund.code.removeprefix(prefix) != household_id:
        return Refusal("not_eligible", f"{code} is designated to another household")
    if amount <= available:
        return None
    reason: Reason = "budget_exhausted" if fund.kind is AccountKind.budget_line else "fund_insufficient"
    return Refusal(reason, f"{code}: {max(available, 0):,} KRW available, {amount:,} asked")
