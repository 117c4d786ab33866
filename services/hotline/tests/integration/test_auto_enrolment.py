"""Auto-enrolment: a case closing for an elderly person living alone enrols them in 헬로안심,
waiting for a counsellor to add the contact number (events carry none). Either event order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from heemang_common.events.casework import CaseClosed, CaseClosedData
from heemang_common.events.intake import HouseholdRegistered, HouseholdRegisteredData
from heemang_common.testing import TEST_MINT, RunningService
from heemang_hotline.events.handlers import consumers

CLOSED_AT = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def closed(household: uuid.UUID, reason: str = "situation_improved") -> CaseClosed:
    return CaseClosed.create(
        subject=household,
        data=CaseClosedData(
            case_id=uuid.uuid4(),
            household_id=household,
            dong="gaepo1",
            closure_reason=reason,  # type: ignore[arg-type]
            reason_category="positive",
            closed_at=CLOSED_AT,
            follow_up_due=[date(2027, 5, 20)],
        ),
    )


def registered(household: uuid.UUID, household_type: str) -> HouseholdRegistered:
    return HouseholdRegistered.create(
        subject=household,
        data=HouseholdRegisteredData(
            household_id=household,
            dong="gaepo1",
            household_type=household_type,  # type: ignore[arg-type]
            protection_status="basic_livelihood",
            member_count=1,
            registered_at=datetime(2026, 1, 5, tzinfo=UTC),
        ),
    )


async def deliver(hotline: RunningService, *events: Any) -> None:
    [spec] = consumers(hotline.runtime.settings)  # type: ignore[arg-type]
    for event in events:
        async with hotline.runtime.sessionmaker() as session, session.begin():
            await spec.handlers[event.type](event, session)


@pytest.mark.parametrize("closure_first", [True, False])
async def test_closed_case_of_an_elderly_person_alone_enrols_awaiting_a_number(
    hotline: RunningService, closure_first: bool
) -> None:
    household, family = uuid.uuid4(), uuid.uuid4()
    events = [closed(household), registered(household, "elderly_alone")]
    await deliver(hotline, *(events if closure_first else reversed(events)))
    await deliver(hotline, registered(family, "single_parent"), closed(family))
    async with httpx.AsyncClient(
        base_url=hotline.url, headers=TEST_MINT.headers("hotline_counsellor")
    ) as client:
        waiting = (await client.get("/enrolments", params={"needs_contact_number": "true"})).json()["items"]
        assert [(e["household_id"], e["source"], e["phone_masked"]) for e in waiting] == [
            (str(household), "case_closed", None)
        ]
        given = await client.put(f"/enrolments/{waiting[0]['id']}/contact", json={"phone": "010-3333-4444"})
        assert given.status_code == 200 and given.json()["phone_masked"] == "010-****-4444"
        assert not given.json()["needs_contact_number"]
        bad = await client.put(f"/enrolments/{waiting[0]['id']}/contact", json={"phone": "12"})
        assert bad.status_code == 422
    # a redelivered closure (new case id, same household) does not enrol twice
    await deliver(hotline, closed(household))
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        assert len((await client.get("/enrolments")).json()["items"]) == 1


async def test_death_or_moving_out_does_not_enrol(hotline: RunningService) -> None:
    household = uuid.uuid4()
    await deliver(hotline, registered(household, "elderly_alone"), closed(household, "death"))
    async with httpx.AsyncClient(base_url=hotline.url, headers=TEST_MINT.headers("supervisor")) as client:
        assert (await client.get("/enrolments")).json()["items"] == []
