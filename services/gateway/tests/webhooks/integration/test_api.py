"""The partner webhook API on a running gateway: roles and object-level scope, SSRF refusal
at registration, the event-types page, the test-event button, rotation, disable/enable,
the delivery log and replays (delivered to a real loopback receiver)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from heemang_common.broker import EmbeddedBroker
from heemang_common.db import create_engine
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)
from heemang_gateway.app import create_app
from heemang_gateway.cli import SERVICE_ROOT
from heemang_gateway.settings import Settings

FORBIDDEN_FIELDS = {
    "household_id",
    "dong",
    "rrn",
    "name",
    "names",
    "amount",
    "reason",
    "closure_reason",
    "provider",
    "service_code",
    "domain",
    "fund",
    "note",
    "notes",
    "phone",
    "address",
}


SECRET_KEY = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(partitions=2, address_file=tmp_path_factory.mktemp("broker") / "broker.json")
    await embedded.start()
    yield embedded
    await embedded.stop()


@pytest.fixture(scope="module")
async def database(databases: DatabaseFactory) -> str:
    return await databases.fresh_database("gateway", SERVICE_ROOT)


@pytest.fixture(scope="module")
async def gateway(database: str, broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    settings = fast_settings(
        Settings,
        database_url=database,
        bootstrap=broker.bootstrap_servers,
        webhook_allow_private_targets=True,  # the partner receiver listens on loopback
        webhook_retry_schedule_s=[0, 0.2, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
        # A long poll: new deliveries wake the dispatcher on commit, and retries are slept
        # for exactly until they fall due; these tests would time out otherwise.
        webhook_poll_interval_s=30,
        webhook_timeout_s=2,
        webhook_secret_key=SECRET_KEY,  # secrets sealed at rest: every delivery below opens them
    )
    running = await serve("gateway", create_app(settings), settings.port)
    yield running
    await running.stop()


class CountingResolver:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answers = {
            "partner.example": ["93.184.216.34"],
            "localhost": ["127.0.0.1"],
            "internal.example": ["10.0.0.8"],
        }

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise OSError("NXDOMAIN")
        return self.answers[host]


@pytest.fixture(scope="module")
async def guarded(
    database: str, broker: EmbeddedBroker
) -> AsyncIterator[tuple[RunningService, CountingResolver]]:
    """A second replica on the same database with the SSRF guard on (the default)."""
    resolver = CountingResolver()
    settings = fast_settings(
        Settings, database_url=database, bootstrap=broker.bootstrap_servers, webhook_dispatcher_enabled=False
    )
    running = await serve("gateway-guarded", create_app(settings, webhook_resolver=resolver), settings.port)
    yield running, resolver
    await running.stop()


@pytest.fixture
async def client(gateway: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        yield http


def _partner(agency: str) -> dict[str, str]:
    return TEST_MINT.headers("partner_agency", agency=agency, dongs=[])


def _agency() -> str:
    return f"ag-{uuid.uuid4().hex[:8]}"


async def _register(
    client: httpx.AsyncClient, agency: str, url: str, types: list[str] | None = None
) -> dict[str, Any]:
    reply = await client.post(
        "/webhooks/endpoints",
        json={"url": url, "event_types": types or ["case.closed.v1", "webhook.test.v1"]},
        headers=_partner(agency),
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


async def test_event_types_page_is_public_and_thin(client: httpx.AsyncClient) -> None:
    reply = await client.get("/webhooks/event-types")
    assert reply.status_code == 200
    items = reply.json()["items"]
    types = {item["type"] for item in items}
    assert {
        "case.assigned.v1",
        "case.stage_changed.v1",
        "case.closed.v1",
        "alert.raised.v1",
        "webhook.test.v1",
    } <= types
    for item in items:
        assert set(item["example"]) == {"type", "timestamp", "data"}
        assert set(item["example"]["data"]) == set(item["fields"])
        assert not FORBIDDEN_FIELDS & set(item["example"]["data"])


async def test_register_as_partner(client: httpx.AsyncClient, partner: Any, database: str) -> None:
    agency = _agency()
    created = await _register(client, agency, partner.url)
    assert created["agency_id"] == agency and created["enabled"]
    assert created["secret"].startswith("whsec_")
    read = await client.get(f"/webhooks/endpoints/{created['id']}", headers=_partner(agency))
    assert read.status_code == 200 and "secret" not in read.json()
    engine = create_engine(database)
    try:
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    text("SELECT secret FROM webhook_endpoints WHERE id = :id"),
                    {"id": uuid.UUID(created["id"])},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert stored.startswith("aesgcm1:") and created["secret"] not in stored  # sealed at rest


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]}, 401),
        (
            TEST_MINT.headers("dong_officer", dongs=["sinsa"]),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]},
            403,
        ),
        (
            TEST_MINT.headers("case_manager"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]},
            403,
        ),
        (
            TEST_MINT.headers("auditor"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]},
            403,
        ),
        (
            _partner("ag-x"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"], "agency_id": "ag-y"},
            403,
        ),
        (
            TEST_MINT.headers("partner_agency", dongs=[]),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]},
            403,
        ),
        (_partner("ag-x"), {"url": "https://partner.example/h", "event_types": ["household.rrn.v1"]}, 422),
        (_partner("ag-x"), {"url": "https://partner.example/h", "event_types": []}, 422),
        (
            _partner("ag-x"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"], "enabled": False},
            422,
        ),
        (
            _partner("ag-x"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"], "secret": "whsec_AAAA"},
            422,
        ),
        (
            TEST_MINT.headers("district_admin"),
            {"url": "https://partner.example/h", "event_types": ["case.closed.v1"]},
            422,
        ),
    ],
)
async def test_registration_refusals(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], status: int
) -> None:
    reply = await client.post("/webhooks/endpoints", json=body, headers=headers)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")


async def test_partners_see_only_their_own_endpoints(client: httpx.AsyncClient, partner: Any) -> None:
    mine, theirs = _agency(), _agency()
    endpoint = await _register(client, mine, partner.url)
    path = f"/webhooks/endpoints/{endpoint['id']}"
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"description": "x"}),
        ("POST", "/rotate-secret", {}),
        ("POST", "/disable", None),
        ("POST", "/test", None),
        ("GET", "/deliveries", None),
        ("POST", "/replay", {"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}),
    ]:
        reply = await client.request(method, path + suffix, json=body, headers=_partner(theirs))
        assert reply.status_code == 404, (method, suffix, reply.text)
    listed = await client.get("/webhooks/endpoints", headers=_partner(theirs))
    assert endpoint["id"] not in {e["id"] for e in listed.json()["items"]}
    admin = await client.get(
        f"/webhooks/endpoints?agency_id={mine}", headers=TEST_MINT.headers("district_admin")
    )
    assert [e["id"] for e in admin.json()["items"]] == [endpoint["id"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
        "http://192.168.0.10/hook",
        "http://172.20.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://internal.example/hook",
        "http://unknown.example/hook",
        "ftp://partner.example/hook",
        "file:///etc/passwd",
        "https://u:p@partner.example/hook",
    ],
)
async def test_guard_refuses_private_targets_at_registration(
    guarded: tuple[RunningService, CountingResolver], url: str
) -> None:
    service, _ = guarded
    agency = _agency()
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
        reply = await http.post(
            "/webhooks/endpoints",
            json={"url": url, "event_types": ["case.closed.v1"]},
            headers=_partner(agency),
        )
        assert reply.status_code == 422, reply.text
        listed = await http.get("/webhooks/endpoints", headers=_partner(agency))
        assert listed.json()["items"] == []  # nothing written


async def test_guard_accepts_public_targets(guarded: tuple[RunningService, CountingResolver]) -> None:
    service, resolver = guarded
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
        reply = await http.post(
            "/webhooks/endpoints",
            json={"url": "https://partner.example/hook", "event_types": ["case.closed.v1"]},
            headers=_partner(_agency()),
        )
    assert reply.status_code == 201, reply.text
    assert "partner.example" in resolver.calls


async def _deliveries(client: httpx.AsyncClient, endpoint_id: str, agency: str) -> list[dict[str, Any]]:
    reply = await client.get(f"/webhooks/endpoints/{endpoint_id}/deliveries", headers=_partner(agency))
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


async def test_test_event_is_delivered_signed_and_logged(client: httpx.AsyncClient, partner: Any) -> None:
    agency = _agency()
    endpoint = await _register(client, agency, partner.url)
    partner.secrets = [endpoint["secret"]]
    reply = await client.post(f"/webhooks/endpoints/{endpoint['id']}/test", headers=_partner(agency))
    assert reply.status_code == 202, reply.text
    message_id = reply.json()["message_id"]

    await eventually(lambda: _async(len(partner.effects) == 1), timeout_s=10)
    assert partner.effects[0][0] == message_id and partner.effects[0][1]["type"] == "webhook.test.v1"

    async def delivered() -> list[dict[str, Any]] | None:
        items = await _deliveries(client, endpoint["id"], agency)
        return items if items and items[0]["status"] == "delivered" else None

    (item,) = await eventually(delivered, timeout_s=10)
    assert item["attempt_count"] == 1 and item["last_status_code"] == 204
    assert item["attempts"][0]["outcome"] == "delivered"
    one = await client.get(f"/webhooks/deliveries/{message_id}", headers=_partner(agency))
    assert one.status_code == 200 and one.json()["status"] == "delivered"
    other = await client.get(f"/webhooks/deliveries/{message_id}", headers=_partner(_agency()))
    assert other.status_code == 404


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    client: httpx.AsyncClient, partner: Any
) -> None:
    agency = _agency()
    endpoint = await _register(client, agency, partner.url)
    old = endpoint["secret"]
    rotated = await client.post(
        f"/webhooks/endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_s": 3600},
        headers=_partner(agency),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["previous_secret_valid_until"]
    partner.secrets = [old]  # a partner that has not switched yet still verifies
    await client.post(f"/webhooks/endpoints/{endpoint['id']}/test", headers=_partner(agency))
    await eventually(lambda: _async(len(partner.effects) == 1), timeout_s=10)
    assert len(partner.received[-1]["webhook-signature"].split(" ")) == 2
    partner.secrets = [new]
    await client.post(f"/webhooks/endpoints/{endpoint['id']}/test", headers=_partner(agency))
    await eventually(lambda: _async(len(partner.effects) == 2), timeout_s=10)

    # Without overlap only the new secret signs.
    await client.post(
        f"/webhooks/endpoints/{endpoint['id']}/rotate-secret", json={"overlap_s": 0}, headers=_partner(agency)
    )
    read = await client.get(f"/webhooks/endpoints/{endpoint['id']}", headers=_partner(agency))
    assert read.json()["previous_secret_valid_until"] is None


async def test_disable_enable_and_replays(client: httpx.AsyncClient, partner: Any) -> None:
    agency = _agency()
    endpoint = await _register(client, agency, partner.url)
    base = f"/webhooks/endpoints/{endpoint['id']}"
    partner.secrets = [endpoint["secret"]]
    partner.answer = 500  # failing: the test event exhausts its (short) schedule
    sent = (await client.post(f"{base}/test", headers=_partner(agency))).json()

    async def status_is(wanted: str) -> bool:
        reply = await client.get(f"/webhooks/deliveries/{sent['message_id']}", headers=_partner(agency))
        return reply.json()["status"] == wanted

    await eventually(lambda: status_is("failed"), timeout_s=15)
    log = (await client.get(f"/webhooks/deliveries/{sent['message_id']}", headers=_partner(agency))).json()
    assert log["attempt_count"] == 8 and {a["status_code"] for a in log["attempts"]} == {500}

    partner.answer = None
    replay = await client.post(f"/webhooks/deliveries/{sent['message_id']}/replay", headers=_partner(agency))
    assert replay.status_code == 200, replay.text
    await eventually(lambda: status_is("delivered"), timeout_s=10)
    assert [m for m, _ in partner.effects] == [sent["message_id"]]  # same webhook-id as before

    disabled = await client.post(f"{base}/disable", headers=_partner(agency))
    assert disabled.status_code == 200 and not disabled.json()["enabled"]
    assert (await client.post(f"{base}/test", headers=_partner(agency))).status_code == 409
    assert (
        await client.post(f"/webhooks/deliveries/{sent['message_id']}/replay", headers=_partner(agency))
    ).status_code == 409
    assert (await client.post(f"{base}/enable", headers=_partner(agency))).json()["enabled"]

    # A time range: everything delivered in it, sent again (the receiver deduplicates).
    now = datetime.now(UTC)
    body = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    none = await client.post(f"{base}/replay", json=body, headers=_partner(agency))
    assert none.json() == {"requeued": 0}  # nothing failed
    again = await client.post(
        f"{base}/replay", json={**body, "include_delivered": True}, headers=_partner(agency)
    )
    assert again.json() == {"requeued": 1}
    arrived = len(partner.received)
    await eventually(lambda: _async(len(partner.received) > arrived), timeout_s=10)
    await eventually(lambda: status_is("delivered"), timeout_s=10)
    assert [m for m, _ in partner.effects] == [sent["message_id"]]  # arrived again, took effect once
    bad = await client.post(
        f"{base}/replay", json={"since": body["until"], "until": body["since"]}, headers=_partner(agency)
    )
    assert bad.status_code == 422


async def _async(value: Any) -> Any:
    return value


def test_timeout_setting_is_capped_at_30_s() -> None:
    with pytest.raises(ValueError):
        Settings(webhook_timeout_s=31)
    assert Settings().webhook_timeout_s <= 30
    assert json.loads(json.dumps(Settings().webhook_retry_schedule_s)) == [
        0,
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]


async def test_test_button_cannot_flood(client: httpx.AsyncClient, partner: Any) -> None:
    agency = _agency()
    endpoint = await _register(client, agency, partner.url)
    partner.answer = 503  # nothing gets through, so test events pile up
    statuses = [
        (
            await client.post(f"/webhooks/endpoints/{endpoint['id']}/test", headers=_partner(agency))
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [202] * 5 and statuses[5:] == [429, 429]
    await client.post(
        f"/webhooks/endpoints/{endpoint['id']}/disable", headers=_partner(agency)
    )  # stop retrying


async def test_gone_endpoint_shows_up_in_notices(client: httpx.AsyncClient, partner: Any) -> None:
    agency = _agency()
    endpoint = await _register(client, agency, partner.url)
    partner.answer = 410
    await client.post(f"/webhooks/endpoints/{endpoint['id']}/test", headers=_partner(agency))

    async def noticed() -> list[dict[str, Any]] | None:
        reply = await client.get("/webhooks/notices", headers=_partner(agency))
        items: list[dict[str, Any]] = reply.json()["items"]
        return items or None

    (notice,) = await eventually(noticed, timeout_s=10)
    assert notice["endpoint_id"] == endpoint["id"] and notice["kind"] == "endpoint_disabled"
    admin = await client.get("/webhooks/notices", headers=TEST_MINT.headers("district_admin"))
    assert notice["id"] in {n["id"] for n in admin.json()["items"]}
    other = await client.get("/webhooks/notices", headers=_partner(_agency()))
    assert other.json()["items"] == []
    read = await client.get(f"/webhooks/endpoints/{endpoint['id']}", headers=_partner(agency))
    assert not read.json()["enabled"] and read.json()["notices"][0]["message"].endswith("was disabled.")
