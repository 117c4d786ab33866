"""From the hotline to a case, across real services: a counsellor's transfer and a run of
missed check-ins each become an intake referral (through hotline's outbox, the broker and
intake's consumer) and then a case at casework (through intake's outbox and casework's
consumer) — real HTTP, real databases, a real broker."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import select

from heemang_common.testing import RunningService, eventually


async def _referrals(intake: RunningService, channel: str, **where: Any) -> Sequence[Any]:
    from heemang_intake.db.models import Referral

    query = select(Referral).where(Referral.channel == channel)
    for column, value in where.items():
        query = query.where(getattr(Referral, column) == value)
    async with intake.runtime.sessionmaker() as session:
        return (await session.execute(query)).scalars().all()


async def _case_for(casework: httpx.AsyncClient, referral_id: uuid.UUID) -> dict[str, Any]:
    async def listed() -> list[dict[str, Any]]:
        page = await casework.get("/cases", params={"referral_id": str(referral_id)})
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    [case] = await eventually(listed, timeout_s=30)
    return case


async def test_hotline_transfer_becomes_a_case(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    intake = await stack.start("intake")
    await stack.start("casework")
    await stack.start("hotline")

    async with stack.client("hotline") as hotline, stack.client("casework") as casework:
        logged = await hotline.post(
            "/consultations",
            json={
                "dong": "yeoksam2",
                "category": "low_income",
                "outcome": "referred_to_intake",
                "notes": "월세 3개월 체납, 단전 예고",
                "urgent": True,
            },
        )
        assert logged.status_code == 201, logged.text
        consultation_id = logged.json()["id"]

        async def transferred() -> Sequence[Any]:
            return await _referrals(intake, "hotline", source_ref=consultation_id)

        [referral] = await eventually(transferred, timeout_s=30)
        assert referral.dong == "yeoksam2" and referral.urgency == "high"
        assert "체납" not in referral.summary  # the counsellor's notes stay in hotline

        case = await _case_for(casework, referral.id)
        assert case["household_id"] == str(referral.household_id)
        assert case["dong"] == "yeoksam2" and case["stage"] == "intake"


async def test_missed_checkins_become_a_case_and_then_stay_with_it(
    make_stack: Any, private_broker: Any
) -> None:
    stack = make_stack(private_broker)
    intake = await stack.start("intake")
    await stack.start("casework")
    await stack.start("hotline")

    async with (
        stack.client("intake") as intake_http,
        stack.client("hotline") as hotline,
        stack.client("casework") as casework,
    ):
        registered = await intake_http.post(
            "/households",
            json={
                "dong": "irwon1",
                "household_type": "elderly_alone",
                "protection_status": "basic_livelihood",
                "members": [{"name": "김순자", "relationship": "head", "is_head": True}],
            },
        )
        assert registered.status_code == 201, registered.text
        household_id = registered.json()["id"]

        programme = await hotline.post(
            "/programmes", json={"code": "hello_ansim", "name": "헬로안심", "kind": "automated"}
        )
        assert programme.status_code == 201, programme.text
        enrolment = await hotline.post(
            "/enrolments",
            json={
                "programme_id": programme.json()["id"],
                "household_id": household_id,
                "dong": "irwon1",
                "weekday": 0,  # Monday
                "window_start": "10:00:00",
                "window_end": "12:00:00",
            },
        )
        assert enrolment.status_code == 201, enrolment.text
        checkins = f"/enrolments/{enrolment.json()['id']}/checkins"

        for monday in ("2026-11-02", "2026-11-09"):
            recorded = await hotline.post(
                checkins, json={"slot_at": f"{monday}T10:00:00+09:00", "outcome": "no_answer"}
            )
            assert recorded.status_code == 201, recorded.text
        assert recorded.json()["escalated"] is True  # two misses in a row: a person must call

        async def escalated() -> Sequence[Any]:
            return await _referrals(intake, "checkin_missed", household_id=uuid.UUID(household_id))

        [referral] = await eventually(escalated, timeout_s=30)
        assert referral.dong == "irwon1" and referral.importance == "high"

        case = await _case_for(casework, referral.id)
        assert case["household_id"] == household_id and case["stage"] == "intake"

        # Intake learns of the case from casework's events; a further miss then goes to the
        # caseworker (casework's alert), not into a second referral.
        from heemang_intake.db.models import InboxMessage, OpenCase

        async def projected() -> bool:
            async with intake.runtime.sessionmaker() as session:
                return await session.get(OpenCase, uuid.UUID(case["id"])) is not None

        await eventually(projected, timeout_s=30)
        third = await hotline.post(
            checkins, json={"slot_at": "2026-11-16T10:00:00+09:00", "outcome": "no_answer"}
        )
        assert third.status_code == 201 and third.json()["escalated"] is True

        async def checkins_handled() -> bool:
            async with intake.runtime.sessionmaker() as session:
                query = select(InboxMessage).where(
                    InboxMessage.consumer == "intake",
                    InboxMessage.event_type == "heemang.hotline.checkin.missed.v1",
                )
                return len((await session.execute(query)).scalars().all()) >= 2

        await eventually(checkins_handled, timeout_s=30)
        assert len(await escalated()) == 1
