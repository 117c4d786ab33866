"""The service's own background sender, on the wall clock: an urgent notice (sent in quiet
hours too, so the test holds at any hour) goes out and completes without anyone ticking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from heemang_common.testing import TEST_MINT, RunningService, eventually, fast_settings, serve
from heemang_hotline.app import create_app
from heemang_hotline.cli import SERVICE_ROOT
from heemang_hotline.settings import Settings


@pytest.fixture
async def running(databases: Any, bootstrap: str) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("hotline", SERVICE_ROOT)
    settings = fast_settings(
        Settings, database_url=url, bootstrap=bootstrap, consume_events=False, campaign_interval_s=0.05
    )
    service = await serve("hotline", create_app(settings), settings.port)
    yield service
    await service.stop()


async def test_the_background_sender_completes_an_urgent_campaign(
    running: RunningService, events_of: Any
) -> None:
    async with httpx.AsyncClient(base_url=running.url, headers=TEST_MINT.headers("supervisor")) as client:
        for i in range(3):
            made = await client.post(
                "/subscribers",
                json={
                    "topic": "disaster",
                    "phone": f"010-4444-000{i}",
                    "consent_at": "2026-11-01T09:00:00+09:00",
                },
            )
            assert made.status_code == 201, made.text
        campaign = await client.post(
            "/campaigns",
            json={"topic": "disaster", "title": "대피", "body": "한파 대피소 안내", "urgent": True},
        )
        assert (await client.post(f"/campaigns/{campaign.json()['id']}/send")).status_code == 202

        async def completed() -> dict[str, Any] | None:
            read = (await client.get(f"/campaigns/{campaign.json()['id']}")).json()
            return read if read["status"] == "completed" else None

        done = await eventually(completed, timeout_s=20)
    assert done["report"]["sent"] == 3
    [event] = await events_of(running, "heemang.hotline.sms.campaign.completed.v1")
    assert event["sent"] == 3 and event["urgent"]
