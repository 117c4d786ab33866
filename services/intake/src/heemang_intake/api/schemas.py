from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from heemang_common.events.intake import ReferralChannel
from heemang_intake.domain.household import HouseholdType, MeansBasis, ProtectionStatus, Relationship
from heemang_intake.domain.triage import Level


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID | None = Field(
        None, description="An existing household; omit to register a new one in `dong`"
    )
    dong: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    channel: ReferralChannel
    summary: str = Field("", max_length=4000)
    urgency: Level = Level.medium
    importance: Level = Level.medium


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    dong: str
    channel: str
    urgency: str
    importance: str
    priority: int
    status: str
    received_at: datetime
    accepted_at: datetime | None


# ----------------------------------------------------------------- household register

DONG_FIELD = Field(
    min_length=1,
    max_length=20,
    pattern=r"^[0-9A-Za-z_-]+$",
    description="Code of the 동 of residence, one of the district's list (INTAKE_DONGS)",
    examples=["yeoksam1"],
)


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="성명", examples=["홍길동"])
    birth_date: date | None = Field(
        None, description="생년월일; taken from the RRN when omitted, must match it when both given"
    )
    relationship: Relationship = Field(description="관계 (to the head of the household)")
    is_head: bool = Field(False, description="세대주")
    rrn: SecretStr | None = Field(
        None,
        description="주민등록번호 YYMMDD-GNNNNNN (hyphen optional); stored encrypted, never echoed",
        examples=["900101-1234568"],
    )


class HouseholdCreate(BaseModel):
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
    income_monthly: int | None = Field(None, ge=0, le=10**13, description="월 소득 (KRW)")
    property_value: int | None = Field(None, ge=0, le=10**13, description="재산 (KRW)")
    financial_assets: int | None = Field(None, ge=0, le=10**13, description="금융재산 (KRW)")
    means_basis: MeansBasis | None = Field(None, description="declared (신고) or verified (확인)")
    means_as_of: date | None = Field(None, description="Date the income and asset figures refer to")
    members: list[PersonCreate] = Field(default_factory=list, max_length=30, description="세대원")


class HouseholdUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are (null clears an optional one)."""

    model_config = ConfigDict(extra="forbid")

    dong: str | None = Field(None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    household_type: HouseholdType | None = None
    protection_status: ProtectionStatus | None = None
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=30, pattern=r"^[0-9+() -]+$")
    income_monthly: int | None = Field(None, ge=0, le=10**13)
    property_value: int | None = Field(None, ge=0, le=10**13)
    financial_assets: int | None = Field(None, ge=0, le=10**13)
    means_basis: MeansBasis | None = None
    means_as_of: date | None = None


#: Fields PATCH cannot set to null (the register needs them).
REQUIRED_ON_UPDATE = frozenset({"dong", "household_type", "protection_status"})


class PersonRead(BaseModel):
    """A member as every caller sees it in this increment: name and RRN masked."""

    id: uuid.UUID
    name: str = Field(description="Masked (홍*동)")
    birth_date: date | None
    relationship: str
    is_head: bool
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
    means_as_of: date | None
    created_at: datetime
    updated_at: datetime | None
    members: list[PersonRead]


class RrnLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rrn: SecretStr = Field(description="The RRN to look for; taken in the body so no log records it")


class HouseholdChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str | None = Field(description="Who made the change (unverified until gateway auth)")
    field: str
    old_value: str | None = Field(description="Masked for personal fields")
    new_value: str | None


class HouseholdHistory(BaseModel):
    household_id: uuid.UUID
    items: list[HouseholdChangeRead]
