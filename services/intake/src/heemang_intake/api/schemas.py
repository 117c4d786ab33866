from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    StringConstraints,
    model_validator,
)

from heemang_common.events.intake import ReferralChannel
from heemang_common.types import IsoDate, IsoDateTime, StrictBool
from heemang_intake.domain.household import HouseholdType, MeansBasis, ProtectionStatus, Relationship
from heemang_intake.domain.triage import Level


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("text may not contain control characters (NUL, …) other than tab and newline")
    if isinstance(value, dict):
        for item in value.values():
            _no_control_characters(item)
    elif isinstance(value, list):
        for item in value:
            _no_control_characters(item)
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RequestBody(BaseModel):
    """Every request body: control characters (a NUL byte above all, which PostgreSQL text
    refuses) are rejected as bad input instead of failing in the database."""

    @model_validator(mode="before")
    @classmethod
    def _reject_control_characters(cls, data: Any) -> Any:
        return _no_control_characters(data)


#: A 동 code as a query parameter.
DongCode = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")]
#: A user id at the gateway as a query parameter.
UserId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class VolunteerKind(StrEnum):
    """Who the volunteer watcher is."""

    neighbour_watcher = "neighbour_watcher"  # 이웃살피미
    honorary_officer = "honorary_officer"  # 명예사회복지공무원
    other = "other"


class SubjectCreate(RequestBody):
    """The person the referral is about, as far as the referrer knows them. Used to find the
    household (RRN hash, then name + birth date + address) and, if none matches, to register
    a new one with this person as its head."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="성명", examples=["홍길동"])
    birth_date: IsoDate | None = Field(None, description="생년월일 (taken from the RRN when omitted)")
    rrn: SecretStr | None = Field(
        None, description="주민등록번호; stored encrypted, never echoed", examples=["900101-1234568"]
    )
    address: str | None = Field(
        None, max_length=300, description="주소", examples=["서울특별시 강남구 테헤란로 152"]
    )
    phone: str | None = Field(
        None, max_length=30, pattern=r"^[0-9+() -]+$", description="연락처", examples=["010-1234-5678"]
    )


class ReferralCreate(RequestBody):
    """A referral from the 동 (walk-in or phone 초기상담), a volunteer watcher, the police
    112 domestic-violence desk or a partner agency."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dong": "yeoksam1",
                    "channel": "walk_in",
                    "summary": "월세 3개월 체납, 실직",
                    "notes": "초기상담: 2026-11-20 내방, 단전 예고 통지 받음",
                    "urgency": "high",
                    "importance": "medium",
                    "subject": {"name": "홍길동", "birth_date": "1958-03-04"},
                }
            ]
        },
    )

    household_id: uuid.UUID | None = Field(
        None, description="An existing household; omit to find one from `subject` or register a new one"
    )
    dong: str = Field(
        min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$", description="Code of the 동 of residence"
    )
    channel: ReferralChannel = Field(
        description="접수 경로 (walk_in 내방, phone 전화, volunteer, police_112, …)"
    )
    summary: str = Field("", max_length=4000, description="What the referral is about (RRNs are redacted)")
    urgency: Level = Field(Level.medium, description="시급성")
    importance: Level = Field(Level.medium, description="중요도")
    subject: SubjectCreate | None = Field(None, description="The person concerned (대상자)")
    notes: str | None = Field(
        None, max_length=8000, description="초기상담 record: the counsellor's notes (walk-in and phone)"
    )
    reporter_kind: VolunteerKind | None = Field(
        None, description="For channel volunteer: 이웃살피미 or 명예사회복지공무원"
    )
    restricted: StrictBool = Field(
        False, description="Restricted record (always true for police_112 domestic-violence reports)"
    )
    accept: StrictBool = Field(
        False, description="Decide at once: accept for case management (staff only; skips the queue)"
    )


class LinkRead(BaseModel):
    kind: Literal["referral", "case"] = Field(description="What the referral was linked to")
    referral_id: uuid.UUID | None = Field(None, description="The open referral it joined")
    case_id: uuid.UUID | None = Field(None, description="The open case it joined")
    matched_by: str = Field(
        description="household_id, rrn, name_birth_address, decision; other_dong when hidden"
    )
    reason: str = Field(description="Why it was linked, in words")


class ReferralRead(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    channel: str
    summary: str = Field(description="What the referral is about")
    notes: str | None = Field(None, description="초기상담 notes")
    reporter_kind: str | None = None
    urgency: str = Field(description="시급성")
    importance: str = Field(description="중요도")
    priority: int = Field(description="1 (most urgent) … 9")
    status: str = Field(description="received, accepted, linked or rejected")
    restricted: StrictBool
    received_at: IsoDateTime
    accepted_at: IsoDateTime | None
    assigned_to: str | None = None
    assigned_at: IsoDateTime | None = None
    decided_at: IsoDateTime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    submitted_by_agency: str | None = None
    link: LinkRead | None = Field(None, description="Set when the referral joined an open referral or case")
    subject_name: str | None = Field(None, description="The household head's name, masked (홍*동)")


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")


class TriageUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    urgency: Level = Field(description="시급성")
    importance: Level = Field(description="중요도")


class Assignment(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"officer_id": "u-1024"}]})

    officer_id: str = Field(min_length=1, max_length=100, description="The officer's user id at the gateway")


class DecisionKind(StrEnum):
    accept = "accept"  # 접수: casework opens a case
    link = "link"  # to an existing open case or referral
    reject = "reject"  # with a reason


class Decision(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "accept"},
                {"decision": "reject", "reason": "관외 전출 (moved out of the district)"},
                {"decision": "link", "case_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
            ]
        },
    )

    decision: DecisionKind = Field(description="accept, link or reject")
    reason: str | None = Field(None, max_length=1000, description="Required for reject")
    case_id: uuid.UUID | None = Field(None, description="For link: the open case")
    referral_id: uuid.UUID | None = Field(None, description="For link: the open referral")


class RedPostboxReport(RequestBody):
    """빨간우체통: an anonymous report about a neighbour in need. Nothing about the reporter
    is asked or kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"dong": "yeoksam1", "report": "옆집 어르신이 며칠째 보이지 않아요", "place": "역삼로 1길"}
            ]
        },
    )

    dong: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$", description="동 code")
    report: str = Field(min_length=5, max_length=2000, description="What the reporter noticed")
    place: str | None = Field(None, max_length=200, description="Where (street, building), if known")


class RedPostboxReceipt(BaseModel):
    receipt_no: str = Field(description="접수번호 to quote when calling the 동", examples=["RP-7K3M9Q2X"])
    received_at: IsoDateTime


# ----------------------------------------------------------------- household register

DONG_FIELD = Field(
    min_length=1,
    max_length=20,
    pattern=r"^[0-9A-Za-z_-]+$",
    description="Code of the 동 of residence, one of the district's list (INTAKE_DONGS)",
    examples=["yeoksam1"],
)


class PersonCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="성명", examples=["홍길동"])
    birth_date: IsoDate | None = Field(
        None, description="생년월일; taken from the RRN when omitted, must match it when both given"
    )
    relationship: Relationship = Field(description="관계 (to the head of the household)")
    is_head: StrictBool = Field(False, description="세대주")
    rrn: SecretStr | None = Field(
        None,
        description="주민등록번호 YYMMDD-GNNNNNN (hyphen optional); stored encrypted, never echoed",
        examples=["900101-1234568"],
    )


class HouseholdCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    dong: str = DONG_FIELD
    household_type: HouseholdType = Field(description="가구유형", examples=["elderly_alone"])
    protection_status: ProtectionStatus = Field(description="보호구분", examples=["near_poor"])
    address: str | None = Field(
        None, max_length=300, description="주소", examples=["서울특별시 강남구 테헤란로 152"]
    )
    phone: str | None = Field(
        None, max_length=30, pattern=r"^[0-9+() -]+$", description="연락처", examples=["010-1234-5678"]
    )
    income_monthly: StrictInt | None = Field(None, ge=0, le=10**13, description="월 소득 (KRW)")
    property_value: StrictInt | None = Field(None, ge=0, le=10**13, description="재산 (KRW)")
    financial_assets: StrictInt | None = Field(None, ge=0, le=10**13, description="금융재산 (KRW)")
    means_basis: MeansBasis | None = Field(None, description="declared (신고) or verified (확인)")
    means_as_of: IsoDate | None = Field(None, description="Date the income and asset figures refer to")
    members: list[PersonCreate] = Field(default_factory=list, max_length=30, description="세대원")


class HouseholdUpdate(RequestBody):
    """Fields to change; omitted fields stay as they are (null clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    dong: str | None = Field(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    household_type: HouseholdType | None = None
    protection_status: ProtectionStatus | None = None
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+() -]+$")
    income_monthly: StrictInt | None = Field(None, ge=0, le=10**13)
    property_value: StrictInt | None = Field(None, ge=0, le=10**13)
    financial_assets: StrictInt | None = Field(None, ge=0, le=10**13)
    means_basis: MeansBasis | None = None
    means_as_of: IsoDate | None = None


#: Fields PATCH cannot set to null (the register needs them).
REQUIRED_ON_UPDATE = frozenset({"dong", "household_type", "protection_status"})


class PersonRead(BaseModel):
    """A member as every caller sees it in this increment: name and RRN masked."""

    id: uuid.UUID
    name: str = Field(description="Masked (홍*동)")
    birth_date: IsoDate | None
    relationship: str
    is_head: StrictBool
    rrn: str | None = Field(description="Masked (900101-1******); null when none recorded")


class HouseholdRead(BaseModel):
    id: uuid.UUID
    dong: str
    household_type: str | None
    protection_status: str | None
    address: str | None = Field(description="Masked after the road name / 동")
    phone: str | None = Field(description="Masked (010-****-5678)")
    income_monthly: int | None
    property_value: int | None
    financial_assets: int | None
    means_basis: str | None
    means_as_of: IsoDate | None
    created_at: IsoDateTime
    updated_at: IsoDateTime | None
    restricted: StrictBool = Field(False, description="Named by a restricted (domestic-violence) referral")
    members: list[PersonRead]


class HouseholdPage(BaseModel):
    items: list[HouseholdRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")


class RrnReveal(BaseModel):
    """The whole RRN, for a caller with the rrn_reveal clearance and MFA (logged as reveal)."""

    person_id: uuid.UUID
    rrn: str = Field(description="주민등록번호 in full (YYMMDD-GNNNNNN)")


class RrnLookup(RequestBody):
    model_config = ConfigDict(extra="forbid")

    rrn: SecretStr = Field(description="The RRN to look for; taken in the body so no log records it")


class HouseholdChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: IsoDateTime
    actor: str | None = Field(description="Who made the change (the user id in the verified token)")
    field: str
    old_value: str | None = Field(description="Masked for personal fields")
    new_value: str | None


class HouseholdHistory(BaseModel):
    household_id: uuid.UUID
    items: list[HouseholdChangeRead]


# ----------------------------------------------------------------- screening


class Students(RequestBody):
    model_config = ConfigDict(extra="forbid")

    elementary: StrictInt = Field(0, ge=0, le=20, description="초등학생 in the household")
    middle: StrictInt = Field(0, ge=0, le=20, description="중학생")
    high: StrictInt = Field(0, ge=0, le=20, description="고등학생")


class ScreeningRequest(RequestBody):
    """Inputs of a screening. On a referral, what is omitted is taken from the household
    register (size = members, income, property, assets, protection status, head's age)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "household_size": 3,
                    "monthly_income": 1_900_000,
                    "property_value": 90_000_000,
                    "financial_assets": 2_000_000,
                    "protection_status": "low_income",
                    "age": 52,
                    "students": {"elementary": 1},
                }
            ]
        },
    )

    household_size: StrictInt | None = Field(None, ge=1, le=30, description="가구원 수")
    monthly_income: StrictInt | None = Field(None, ge=0, le=10**12, description="월 소득인정액 (KRW)")
    property_value: StrictInt | None = Field(None, ge=0, le=10**13, description="재산 (KRW)")
    financial_assets: StrictInt | None = Field(None, ge=0, le=10**13, description="금융재산 (KRW)")
    protection_status: ProtectionStatus | None = Field(
        None, description="보호구분 (기초수급 excludes 국가형)"
    )
    age: StrictInt | None = Field(
        None, ge=0, le=130, description="Age of the person care SOS is for (만 나이)"
    )
    disabled: StrictBool | None = Field(None, description="장애 (care SOS)")
    students: Students = Field(default_factory=Students, description="Students, for education support")


class CheckRequest(ScreeningRequest):
    """A screening without a referral (an officer on the phone): nothing is stored."""

    on: IsoDate = Field(description="The date whose policy applies", examples=["2021-06-01"])


class LineRead(BaseModel):
    criterion: str = Field(description="income, property, financial_assets, not_basic_livelihood, age, …")
    label: str = Field(description="The rule in the ministry's words")
    threshold: int | StrictBool | None = Field(description="The limit (KRW, age) the value is compared with")
    value: int | StrictBool | None = Field(description="The household's value; null when missing")
    passed: StrictBool | None = Field(description="null when the value is missing")


class SchemeRead(BaseModel):
    scheme: str = Field(description="national (국가형) or seoul (서울형)")
    name: str
    eligible: StrictBool | None = Field(description="null when an input is missing and no line failed")
    housing_only: StrictBool = Field(
        description="Eligible for housing support only (financial assets 5–7 million)"
    )
    lines: list[LineRead]


class SupportRead(BaseModel):
    type: str = Field(description="living, medical, housing, education or other")
    item: str
    label: str
    amount: int = Field(description="KRW (medical: the maximum)")
    note: str


class CareSosRead(BaseModel):
    eligible: StrictBool | None
    cost: str | None = Field(description="free, self_paid or not_eligible; null when unknown")
    annual_cap: int = Field(description="KRW per person a year")
    lines: list[LineRead]


class ScreeningRead(BaseModel):
    referral_id: uuid.UUID | None
    policy_year: int = Field(description="The policy data file applied (picked by the date)")
    on: IsoDate
    missing: list[str] = Field(description="Inputs that were not given and not in the register")
    schemes: list[SchemeRead]
    support: list[SupportRead] = Field(description="Amounts by type under the national scheme")
    care_sos: CareSosRead


# ----------------------------------------------------------------- bulk import


class ImportRowRead(BaseModel):
    row: int = Field(description="Data row number in the file (1 = the first row after the header)")
    status: Literal["duplicate", "rejected"]
    reasons: list[str] = Field(description="Why (never quotes the row's personal data)")


class ImportReport(BaseModel):
    batch_id: uuid.UUID | None = Field(description="The triage batch created; null for a dry run")
    dry_run: StrictBool
    total: int
    accepted: int
    duplicate: int
    rejected: int
    due_on: IsoDate | None = Field(None, description="Investigation deadline of the batch's rows")
    by_dong: dict[str, int] = Field(description="Accepted rows per 동")
    rows: list[ImportRowRead] = Field(description="Every duplicate and rejected row with its reasons")


class BatchReport(BaseModel):
    """결과 보고: what became of a batch's rows, as the department reports back."""

    batch_id: uuid.UUID
    filename: str
    uploaded_by: str
    created_at: IsoDateTime
    due_on: IsoDate
    total_rows: int
    accepted_rows: int
    duplicate_rows: int
    rejected_rows: int
    outcomes: dict[str, int] = Field(
        description="confirmed_referred, linked_existing_case, not_eligible, unreachable, pending; overdue"
    )
    by_dong: dict[str, dict[str, int]]


class OutcomeKind(StrEnum):
    confirmed_referred = "confirmed_referred"
    linked_existing_case = "linked_existing_case"
    not_eligible = "not_eligible"
    unreachable = "unreachable"


class OutcomeCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "not_eligible", "note": "소득 기준 초과"}]},
    )

    outcome: OutcomeKind = Field(description="조사 결과")
    case_id: uuid.UUID | None = Field(None, description="For linked_existing_case: the open case")
    note: str | None = Field(None, max_length=1000, description="The officer's note")
