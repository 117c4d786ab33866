"""Live updates (gateway SSE): a 동 officer sees a new referral of her 동 as it happens,
and an officer of another 동 does not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from heemang_common.testing import TEST_MINT, eventually

REFERRAL = {
    "channel": "walk_in",
    "summary": "live",
    "urgency": "high",
    "importance": "medium",
    "accept": True,
}


async def _collect(
    url: str, headers: dict[str, str], into: list[dict[str, Any]], opened: asyncio.Event
) -> None:
    async with (
        httpx.AsyncClient(base_url=url, timeout=None) as client,
        client.stream("GET", "/api/v1/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("retry:"):
                opened.set()
            if line.startswith("data: "):
                into.append(json.loads(line[len("data: ") :]))


async def test_officers_see_their_dong_live(make_stack: Any, private_broker: Any) -> None:
    stack = make_stack(private_broker)
    await stack.start("intake")
    await stack.start("casework")
    gateway = await stack.start("gateway")
    mine, other = "sinsa", "segok"  # a broker of the test's own: no other test's events
    async with stack.client("gateway") as admin:
        # The first event creates the topics; the feed assigns itself once they exist.
        assert (await admin.post("/api/v1/referrals", json={**REFERRAL, "dong": other})).status_code == 201

        async def reading() -> bool:
            return bool(gateway.app.state.live_hub.reading)

        await eventually(reading, timeout_s=20)
        seen: list[dict[str, Any]] = []
        not_mine: list[dict[str, Any]] = []
        opened, opened_other = asyncio.Event(), asyncio.Event()
        officer = TEST_MINT.headers("dong_officer", dongs=[mine])
        elsewhere = TEST_MINT.headers("dong_officer", dongs=[other])
        tasks = [
            asyncio.create_task(_collect(gateway.url, officer, seen, opened)),
            asyncio.create_task(_collect(gateway.url, elsewhere, not_mine, opened_other)),
        ]
        try:
            await asyncio.wait_for(asyncio.gather(opened.wait(), opened_other.wait()), timeout=10)
            created = await admin.post("/api/v1/referrals", json={**REFERRAL, "dong": mine})
            referral_id = created.json()["id"]

            async def case_opened() -> bool:
                return any(e["type"] == "heemang.casework.case.opened.v1" for e in seen)

            await eventually(case_opened, timeout_s=20)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert {e["data"]["referral_id"] for e in seen if "referral_id" in e["data"]} == {referral_id}
    assert all(e["data"]["dong"] == mine for e in seen)
    assert not any(e["data"].get("dong") == mine for e in not_mine)
    assert all("summary" not in e["data"] for e in seen)  # thin: no free text
