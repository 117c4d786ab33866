"""Request and response schemas (separate from the ORM models and the event models)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from heemang_common.types import IsoDate, IsoDateTime, StrictBool
from heemang_resources.domain.ledger import MAX_AMOUNT, AccountKind, FundingSource, Side

KRW = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Integer KRW (floats are refused)")]
AccountCode = Annotated[
    str,
    Field(
        min_length=1, max_length=200, description="Account code, e.g. fund:general", examples=["fund:general"]
    ),
]


class AccountCreate(BaseModel):
    """Open an account (계정 개설). The code must have the shape its kind prescribes."""

    model_config = ConfigDict(extra="forbid")

    code: AccountCode
    kind: AccountKind
    name: str = Field("", max_length=200, description="A label for people (not personal data)")


class AccountRead(BaseModel):
    code: str
    kind: AccountKind
    funding_source: FundingSource | None
    name: str
    no_overdraft: StrictBool = Field(description="True for internal accounts, which never go negative")
    debits: int = Field(description="Σ debit lines, KRW")
    credits: int = Field(description="Σ credit lines, KRW")
    balance: int = Field(description="On the account's normal side, KRW")
    opened_at: IsoDateTime


class AccountPage(BaseModel):
    items: list[AccountRead]
    next_cursor: str | None = None


class LineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: AccountCode
    side: Side
    amount: KRW


class LineRead(BaseModel):
    account: str
    side: Side
    amount: int


class EntryCreate(BaseModel):
    """A balanced journal entry (분개): Σ debits = Σ credits, one line per account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "memo": "일반성금 입금",
                    "lines": [
                        {"account": "fund:general", "side": "debit", "amount": 100000},
                        {"account": "ext:donations:cash", "side": "credit", "amount": 100000},
                    ],
                }
            ]
        },
    )

    memo: str = Field(max_length=500, description="What the movement is; never personal data")
    lines: list[LineCreate] = Field(min_length=2, max_length=50)


class ReversalCreate(BaseModel):
    """Undo an entry with its mirror (역분개); the original stays as it was."""

    model_config = ConfigDict(extra="forbid")

    memo: str | None = Field(None, max_length=500)


class EntryRead(BaseModel):
    id: uuid.UUID
    posted_at: IsoDateTime
    memo: str
    kind: str = Field(description="What posted it: manual, reversal, donation, delivery, charge…")
    reverses: uuid.UUID | None
    reversed_by: uuid.UUID | None = None
    total: int
    lines: list[LineRead]


class EntryPage(BaseModel):
    items: list[EntryRead]
    next_cursor: str | None = None


class StatementLine(BaseModel):
    entry_id: uuid.UUID
    posted_at: IsoDateTime
    memo: str
    side: Side
    amount: int


class StatementPage(BaseModel):
    account: AccountRead
    items: list[StatementLine]
    next_cursor: str | None = None


class TrialBalanceRead(BaseModel):
    """시산표: Σ debits = Σ credits over every account."""

    accounts: int
    debits: int
    credits: int
    difference: int
    balanced: StrictBool
    verified_against_lines: StrictBool
    mismatched_accounts: list[str]
    negative_accounts: list[str]


class AllocationRead(BaseModel):
    """An answer to a casework service request (지원 결정) and its delivery."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    service_code: str = Field(examples=["care_sos.home_care", "emergency.living"])
    kind: str
    provider: str
    quantity: int | None
    requested_amount: int
    amount: int = Field(description="KRW approved (0 when rejected)")
    fund: str | None
    status: str = Field(description="approved | rejected | delivered")
    reason: str | None
    detail: str | None
    year: int
    requested_at: IsoDateTime
    decided_at: IsoDateTime
    delivered_at: IsoDateTime | None
    delivery_entry_id: uuid.UUID | None


class AllocationPage(BaseModel):
    items: list[AllocationRead]
    next_cursor: str | None = None


class DeliveryCreate(BaseModel):
    """Record that an approved allocation reached the household (전달 완료)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=500, description="Not stored in events")


class SupportTotals(BaseModel):
    approved: int
    delivered: int
    rejected_requests: int


class HouseholdFoodRead(BaseModel):
    """Food bank goods the household received (푸드뱅크 이용)."""

    model_config = ConfigDict(from_attributes=True)

    item: str
    quantity: int
    value: int = Field(description="KRW at appraised value")
    issued_on: IsoDate
    dong: str | None


class DesignatedFundRead(BaseModel):
    """Cash donors designated to the household (지정성금): received, spent, left."""

    received: int
    spent: int
    remaining: int


class SupportHistory(BaseModel):
    """The household's support history (가구별 지원 이력), within the caller's 동."""

    household_id: uuid.UUID
    totals: SupportTotals
    items: list[AllocationRead] = Field(description="Allocations, newest first (cursor-paged)")
    next_cursor: str | None = None
    food_bank: list[HouseholdFoodRead] = Field(description="The latest 100 food bank issues")
    designated_fund: DesignatedFundRead | None = None


class DonorCreate(BaseModel):
    """Register a sponsor (후원자 등록)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["individual", "company"]
    name: str = Field(min_length=1, max_length=200, examples=["홍길동", "(주)희망건설"])
    sponsorship: Literal["regular", "one_off"] = Field(description="정기 regular / 일시 one-off")
    hall_of_fame: StrictBool = Field(False, description="Opted in to the donors' hall of fame")


class DonorRead(BaseModel):
    id: uuid.UUID
    kind: str
    name: str = Field(description="Masked for individuals (홍*동); companies in full")
    sponsorship: str
    hall_of_fame: StrictBool
    created_at: IsoDateTime


class DonorPage(BaseModel):
    items: list[DonorRead]
    next_cursor: str | None = None


class HallOfFameEntry(BaseModel):
    name: str
    kind: str
    donations: int
    total: int


class CampaignCreate(BaseModel):
    """Open a fundraising campaign (모금 캠페인)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["희망2021 나눔캠페인"])
    starts_on: IsoDate
    ends_on: IsoDate
    goal: KRW


class CampaignRead(BaseModel):
    """Progress split like the 희망2021 table: cash general / designated, goods."""

    id: uuid.UUID
    name: str
    starts_on: IsoDate
    ends_on: IsoDate
    goal: int
    raised: int
    cash: int
    cash_general: int
    cash_designated: int
    goods: int
    progress_percent: str = Field(description="To a tenth of a percent, e.g. 174.2")
    goal_reached_on: IsoDate | None


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None = None


class DonationCreate(BaseModel):
    """Record a donation (성금/성품 접수): cash general or designated, or goods at appraised value."""

    model_config = ConfigDict(extra="forbid")

    form: Literal["cash", "goods"]
    designation: Literal["general", "household", "programme"] = "general"
    amount: KRW = Field(description="KRW; for goods the appraised value (환가)")
    received_on: IsoDate
    donor_id: uuid.UUID | None = Field(None, description="None for an anonymous gift (no receipt)")
    campaign_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = Field(None, description="Required for designation=household")
    programme: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.\-]{1,100}$", description="For designation=programme"
    )
    goods_description: str | None = Field(None, max_length=300)


class DonationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    donor_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    form: str
    designation: str
    designated_household_id: uuid.UUID | None
    designated_programme: str | None
    amount: int
    goods_description: str | None
    received_on: IsoDate
    fund: str
    entry_id: uuid.UUID
    receipt_serial: str | None
    created_at: IsoDateTime


class DonationPage(BaseModel):
    items: list[DonationRead]
    next_cursor: str | None = None


class UseLineRead(BaseModel):
    purpose: str = Field(description="Where the money went, e.g. disbursed:care-sos")
    amount: int
    movements: int


class UseReportRead(BaseModel):
    """지정기탁 사용 보고: how the designated fund was spent, without naming any recipient."""

    donation_id: uuid.UUID
    donated: int
    designated_to: str = Field(description="'a household' or the programme's code")
    fund_received: int
    spent: list[UseLineRead]
    remaining: int


class VoucherProgrammeCreate(BaseModel):
    """Set up a voucher programme (바우처 사업), e.g. 다함께 찬찬찬 side-dish vouchers."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,50}$", examples=["chanchan"])
    name: str = Field(min_length=1, max_length=200, examples=["다함께 찬찬찬 반찬 바우처"])
    monthly_amount: KRW = Field(examples=[40_000])
    holiday_bonus: int = Field(0, ge=0, le=MAX_AMOUNT, strict=True, examples=[20_000])
    budget_line: AccountCode = Field(description="The budget line the top-ups are paid from")


class VoucherProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    monthly_amount: int
    holiday_bonus: int
    budget_line: str


class VoucherShopCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$", description="The shop's partner agency id")
    name: str = Field(min_length=1, max_length=200)


class VoucherHolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID
    dong: str = Field(min_length=1, max_length=50)


class VoucherHolderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    programme: str
    household_id: uuid.UUID
    dong: str
    active: StrictBool
    balance: int = 0


class TopUpCreate(BaseModel):
    """Run a month's top-up (월 충전): never twice for the same month."""

    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2026-09"])
    holiday: StrictBool = Field(False, description="Add the holiday bonus (명절 추가 지원)")


class TopUpRead(BaseModel):
    programme: str
    month: str
    holiday: StrictBool
    holders: int
    per_holder: int
    total: int


class ChargeCreate(BaseModel):
    """A member shop charges a holder's voucher (가맹점 결제)."""

    model_config = ConfigDict(extra="forbid")

    holder_id: uuid.UUID
    amount: KRW


class ChargeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    programme: str
    holder_id: uuid.UUID
    shop: str
    amount: int
    month: str
    entry_id: uuid.UUID
    charged_at: IsoDateTime


class UsageMonth(BaseModel):
    month: str
    topped_up: int
    charged: int
    usage_rate_percent: str = Field(description="charged ÷ topped up, to a tenth of a percent")


class VoucherUsageRead(BaseModel):
    programme: str
    months: list[UsageMonth]


FundingAmounts = dict[FundingSource, KRW]


class BudgetLineCreate(BaseModel):
    """Register a budget line (예산 세부사업) of a fiscal year."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$", examples=["care-sos-2026"])
    name: str = Field(min_length=1, max_length=200, examples=["돌봄SOS센터 운영"])
    fiscal_year: int = Field(ge=2000, le=2100)


class BudgetLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    fiscal_year: int


class AppropriationCreate(BaseModel):
    """Appropriate money to the line by funding source (국비/시비/구비/특), e.g. at 본예산 or 추경."""

    model_config = ConfigDict(extra="forbid")

    sources: FundingAmounts = Field(
        examples=[{"national": 50_000_000, "city": 30_000_000, "district": 20_000_000}]
    )


class SpendingCreate(BaseModel):
    """Spend from the line (집행): budget line → disbursed:<purpose>."""

    model_config = ConfigDict(extra="forbid")

    source: FundingSource
    amount: KRW
    purpose: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,60}$", examples=["care-sos"])
    memo: str = Field("", max_length=500)


class ExecutionRowRead(BaseModel):
    line: str
    name: str
    source: FundingSource | None = Field(description="None on a line's total row")
    budget: int = Field(description="예산액, KRW")
    executed: int = Field(description="집행액, KRW")
    balance: int = Field(description="잔액, KRW")
    rate_percent: str = Field(description="집행률, to a tenth of a percent")


class BudgetExecutionRead(BaseModel):
    fiscal_year: int | None
    lines: list[ExecutionRowRead]
    by_source: list[ExecutionRowRead]


class AllowanceProgrammeCreate(BaseModel):
    """Set up an allowance programme (수당), e.g. 보훈예우수당 50,000 KRW a month."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,50}$", examples=["veterans"])
    name: str = Field(min_length=1, max_length=200, examples=["보훈예우수당"])
    amount: KRW = Field(examples=[50_000])
    budget_account: AccountCode = Field(examples=["budget:veterans-2026:district"])


class AllowanceProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    amount: int
    budget_account: str


class EnrolmentCreate(BaseModel):
    """Enrol a beneficiary with eligibility dates and the account to pay."""

    model_config = ConfigDict(extra="forbid")

    person_ref: str = Field(
        min_length=1, max_length=100, description="Intake's person id or another stable id"
    )
    household_id: uuid.UUID | None = None
    dong: str = Field(min_length=1, max_length=50)
    holder_name: str = Field(min_length=1, max_length=100)
    bank_code: str = Field(pattern=r"^[0-9]{3}$", examples=["004"])
    account_number: str = Field(pattern=r"^[0-9\-]{6,40}$")
    eligible_from: IsoDate
    eligible_to: IsoDate | None = None


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    programme: str
    person_ref: str
    dong: str
    holder_name: str = Field(description="Masked")
    bank_code: str
    account_number: str = Field(description="Masked: last four digits")
    eligible_from: IsoDate
    eligible_to: IsoDate | None


class RunCreate(BaseModel):
    """Pay everyone eligible on `as_of` who is not yet paid for `period` (지급 실행)."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(
        pattern=r"^20[0-9]{2}(-(0[1-9]|1[0-2]|seol|chuseok))?$", examples=["2026-11", "2026-chuseok"]
    )
    as_of: IsoDate


class RunRead(BaseModel):
    programme: str
    period: str
    as_of: IsoDate
    paid_now: int
    already_paid: int
    amount_each: int
    total_now: int
    entry_id: uuid.UUID | None


class RegisterLine(BaseModel):
    enrolment_id: uuid.UUID
    person_ref: str
    holder_name: str = Field(description="Masked")
    account_number: str = Field(description="Masked")
    amount: int
    paid_at: IsoDateTime


class RegisterRead(BaseModel):
    """지급 대장: who was paid for the period (masked)."""

    programme: str
    period: str
    count: int
    total: int
    items: list[RegisterLine]


class FoodReceiptCreate(BaseModel):
    """Goods in (입고): donated food with its expiry, at appraised value per unit."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=100, examples=["쌀 10kg"])
    unit: str = Field("ea", min_length=1, max_length=20)
    quantity: int = Field(gt=0, le=1_000_000, strict=True)
    unit_value: KRW
    expires_on: IsoDate | None = None
    received_on: IsoDate
    donor_id: uuid.UUID | None = None


class FoodLotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    item: str
    unit: str
    quantity: int
    remaining: int
    unit_value: int
    expires_on: IsoDate | None
    received_on: IsoDate
    entry_id: uuid.UUID


class FoodIssueCreate(BaseModel):
    """Goods out (출고) to a household (with its 동) or a facility, first expiring first."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=100)
    quantity: int = Field(gt=0, le=1_000_000, strict=True)
    issued_on: IsoDate
    household_id: uuid.UUID | None = None
    dong: str | None = Field(None, max_length=50)
    facility: str | None = Field(None, max_length=100)


class FoodIssueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    item: str
    quantity: int
    value: int
    household_id: uuid.UUID | None
    facility: str | None
    dong: str | None
    issued_on: IsoDate
    entry_id: uuid.UUID


class StockRead(BaseModel):
    item: str
    unit: str
    quantity: int
    value: int
    next_expiry: IsoDate | None


class FoodServedRead(BaseModel):
    """이용 실적: people (households) served and value distributed in the period."""

    from_date: IsoDate
    to_date: IsoDate
    households: int
    facilities: int
    issues: int
    quantity: int
    value: int


class WriteOffCreate(BaseModel):
    """Throw away goods of a lot (폐기): expired or spoiled."""

    model_config = ConfigDict(extra="forbid")

    quantity: int | None = Field(
        None, gt=0, le=1_000_000, strict=True, description="Default: all that is left"
    )
    reason: str = Field(min_length=1, max_length=200, examples=["유통기한 경과"])
    written_off_on: IsoDate


class WriteOffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lot_id: uuid.UUID
    quantity: int
    value: int
    reason: str
    written_off_on: IsoDate
    entry_id: uuid.UUID


class AgreementCreate(BaseModel):
    """Register a company's in-kind service offer (기업 협약), e.g. home repair or dental care."""

    model_config = ConfigDict(extra="forbid")

    donor_id: uuid.UUID = Field(description="The company (a donor of kind company)")
    service: Literal["home_repair", "dental", "pest_control", "other"]
    description: str = Field(min_length=1, max_length=300, examples=["저소득 가구 집수리 연 10가구"])
    unit_value: KRW = Field(description="Appraised KRW per use (환가)")
    uses_per_year: int | None = Field(None, gt=0, le=100_000, strict=True)
    starts_on: IsoDate
    ends_on: IsoDate


class AgreementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    donor_id: uuid.UUID
    service: str
    description: str
    unit_value: int
    uses_per_year: int | None
    starts_on: IsoDate
    ends_on: IsoDate


class AgreementUseCreate(BaseModel):
    """Use the agreement for a household (협약 서비스 연계)."""

    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID
    dong: str = Field(min_length=1, max_length=50)
    used_on: IsoDate


class AgreementUseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agreement_id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    used_on: IsoDate
    value: int
    entry_id: uuid.UUID
