"""The walking skeleton: a referral POSTed at the gateway becomes a case readable at the
gateway, through intake's outbox, the broker and casework's consumer — real HTTP, real
database, real broker."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from heemang_common.db import create_engine, create_sessionmaker
from heemang_common.testing import eventually


async def test_referral_becomes_case_readable_at_gateway(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    await stack.start("gateway")
    correlation_id = f"walk-{uuid.uuid4().hex[:8]}"

    async with stack.client("gateway") as gateway:
        created = await gateway.post(
            "/api/v1/referrals",
            json={
                "dong": "yeoksam1",
                "channel": "walk_in",
                "summary": "rent arrears",
                "urgency": "high",
                "importance": "medium",
                "accept": True,
            },
            headers={"x-request-id": correlation_id},
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == correlation_id
        referral = created.json()
        assert referral["status"] == "accepted" and referral["priority"] == 2

        async def case_listed() -> list[dict[str, Any]]:
            page = await gateway.get("/api/v1/cases", params={"referral_id": referral["id"]})
            assert page.status_code == 200, page.text
            return page.json()["items"]

        [case] = await eventually(case_listed, timeout_s=20)
        assert case["household_id"] == referral["household_id"]
        assert case["dong"] == "yeoksam1" and case["stage"] == "intake"

        read = await gateway.get(f"/api/v1/cases/{case['id']}")
        assert read.status_code == 200 and read.json()["id"] == case["id"]

        # The case moves on through the gateway; an illegal move names the allowed ones.
        moved = await gateway.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "assessment"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == "assessment"
        skipped = await gateway.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "delivery"})
        assert skipped.status_code == 409
        assert skipped.headers["content-type"].startswith("application/problem+json")
        assert skipped.json()["allowed"] == ["selection"]
        timeline = await gateway.get(f"/api/v1/cases/{case['id']}/timeline")
        assert timeline.status_code == 200, timeline.text

    # The correlation id travelled from the HTTP request into intake's event and on
    # into the event casework published while consuming it.
    from heemang_casework.db.models import OutboxMessage

    engine = create_engine(stack.database_urls["casework"])
    async with create_sessionmaker(engine)() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    await engine.dispose()
    [opened] = [json.loads(r.payload) for r in rows if r.event_type.endswith("case.opened.v1")]
    assert opened["correlationid"] == correlation_id
    assert opened["data"]["referral_id"] == referral["id"]


async def test_bad_input_is_problem_json_and_changes_nothing(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    await stack.start("gateway")
    async with stack.client("gateway") as gateway:
        bad = await gateway.post("/api/v1/referrals", json={"dong": "", "channel": "telepathy"})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        problem = bad.json()
        assert problem["status"] == 422 and problem["type"].endswith("/validation-error")
        assert {tuple(e["loc"])[-1] for e in problem["errors"]} >= {"dong", "channel"}

        missing = await gateway.get(f"/api/v1/cases/{uuid.uuid4()}")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

        unknown_household = await gateway.post(
            "/api/v1/referrals",
            json={"household_id": str(uuid.uuid4()), "dong": "sinsa", "channel": "phone"},
        )
        assert unknown_household.status_code == 404

    from heemang_intake.db.models import OutboxMessage, Referral

    engine = create_engine(stack.database_urls["intake"])
    async with create_sessionmaker(engine)() as session:
        assert (await session.execute(select(Referral))).first() is None
        assert (await session.execute(select(OutboxMessage))).first() is None
    await engine.dispose()


async def test_gateway_says_which_service_is_down(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    await stack.start("gateway", casework_url="http://127.0.0.1:9")  # nothing listens there
    async with stack.client("gateway") as gateway:
        response = await gateway.get(f"/api/v1/cases/{uuid.uuid4()}")
    assert response.status_code == 503
    assert response.json()["service"] == "casework"
