"""Screening use cases: gather the inputs (request first, then the register), apply the
policy in force on the referral's date, publish ``referral.screened``."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from heemang_common.events.envelope import utcnow
from heemang_common.events.intake import ReferralScreened, ReferralScreenedData
from heemang_intake import policy
from heemang_intake.api.schemas import (
    CareSosRead,
    LineRead,
    SchemeRead,
    ScreeningRead,
    ScreeningRequest,
    SupportRead,
)
from heemang_intake.db import repositories
from heemang_intake.db.models import Referral
from heemang_intake.domain import screening as rules
from heemang_intake.domain.household import ProtectionStatus
from heemang_intake.events.publish import publish


def _age_on(born: date | None, on: date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def inputs_from(data: ScreeningRequest, on: date) -> rules.Inputs:
    status = data.protection_status
    return rules.Inputs(
        household_size=data.household_size,
        monthly_income=data.monthly_income,
        property_value=data.property_value,
        financial_assets=data.financial_assets,
        basic_livelihood=None if status is None else status.value == "basic_livelihood",
        on=on,
        age=data.age,
        disabled=data.disabled,
        students=data.students.model_dump(),
    )


async def screen_referral(session: AsyncSession, referral: Referral, data: ScreeningRequest) -> ScreeningRead:
    household = await repositories.get_household(session, referral.household_id)
    assert household is not None
    members = await repositories.members_of(session, household.id)
    on = referral.received_at.date()
    head = next((m for m in members if m.is_head), members[0] if members else None)
    filled = data.model_copy(
        update={
            "household_size": data.household_size or (len(members) or None),
            "monthly_income": _first(data.monthly_income, household.income_monthly),
            "property_value": _first(data.property_value, household.property_value),
            "financial_assets": _first(data.financial_assets, household.financial_assets),
            "protection_status": data.protection_status or _status(household.protection_status),
            "age": _first(data.age, _age_on(head.birth_date if head else None, on)),
        }
    )
    filled = ScreeningRequest.model_validate(filled.model_dump(), strict=False)
    result = rules.screen(policy.policy_for(on), inputs_from(filled, on))
    publish(
        session,
        ReferralScreened.create(
            subject=referral.id,
            data=ReferralScreenedData(
                referral_id=referral.id,
                household_id=referral.household_id,
                policy_year=result.policy_year,
                national_eligible=result.eligible("national"),
                seoul_eligible=result.eligible("seoul"),
                care_sos=result.care_sos.cost,
                missing_inputs=list(result.missing),
                screened_at=utcnow(),
            ),
        ),
    )
    return to_read(result, on, referral.id)


def check(data: ScreeningRequest, on: date) -> ScreeningRead:
    return to_read(rules.screen(policy.policy_for(on), inputs_from(data, on)), on, None)


def _status(stored: str | None) -> ProtectionStatus | None:
    return ProtectionStatus(stored) if stored else None


def _first(given: int | None, stored: int | None) -> int | None:
    return given if given is not None else stored


def _lines(lines: tuple[rules.Line, ...]) -> list[LineRead]:
    return [LineRead(**asdict(line)) for line in lines]


def to_read(result: rules.Screening, on: date, referral_id: uuid.UUID | None) -> ScreeningRead:
    return ScreeningRead(
        referral_id=referral_id,
        policy_year=result.policy_year,
        on=on,
        missing=list(result.missing),
        schemes=[
            SchemeRead(
                scheme=s.scheme,
                name=s.name,
                eligible=s.eligible,
                housing_only=s.housing_only,
                lines=_lines(s.lines),
            )
            for s in result.schemes
        ],
        support=[SupportRead(**asdict(item)) for item in result.support],
        care_sos=CareSosRead(
            eligible=result.care_sos.eligible,
            cost=result.care_sos.cost,
            annual_cap=result.care_sos.annual_cap,
            lines=_lines(result.care_sos.lines),
        ),
    )
