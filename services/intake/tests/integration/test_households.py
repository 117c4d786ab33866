"""The household register over real HTTP against a migrated database and the real broker:
register, masked reads, RRN lookup, changes with history, refusals that echo nothing and
store nothing, a T14 scan for plaintext RRNs, and key rotation."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from heemang_common import masking
from heemang_common.broker import EmbeddedBroker
from heemang_common.events import topics
from heemang_common.kafka import make_consumer
from heemang_common.logging import JsonFormatter
from heemang_common.testing import (
    TEST_MINT,
    DatabaseFactory,
    RunningService,
    eventually,
    fast_settings,
    serve,
)
from heemang_intake import household_service
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT, main
from heemang_intake.crypto import RrnProtector
from heemang_intake.db.models import Base, Household, HouseholdChange, OutboxMessage, Person
from heemang_intake.domain import rrn
from heemang_intake.settings import Settings

K1, K2, HMAC_KEY = os.urandom(32), os.urandom(32), os.urandom(32)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


KEY_ENV = {
    "rrn_keys": f"k1:{_b64(K1)},k2:{_b64(K2)}",
    "rrn_active_key": "k1",
    "rrn_hmac_key": _b64(HMAC_KEY),
}

# A checksum-validated RRN anywhere in text (13 digits, hyphen optional, not inside a longer
# digit run); candidates are confirmed with the domain's own validator.
RRN_PATTERN = re.compile(r"(?<!\d)(\d{6})-?(\d{7})(?!\d)")


def plaintext_rrns(text: str) -> list[str]:
    return [m.group(0) for m in RRN_PATTERN.finditer(text) if rrn.is_valid(m.group(0))]


def synthetic_rrns(count: int, seed: int = 14) -> list[str]:
    """Valid synthetic RRNs: most born before 2020-10 (check digit), some after (random)."""
    rng = random.Random(seed)
    numbers: set[str] = set()
    while len(numbers) < count:
        if rng.random() < 0.85:
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90))
            digit = rng.choice("12") if born.year < 2000 else rng.choice("34")
            numbers.add(rrn.make(born, digit, f"{rng.randrange(100000):05d}"))
        else:
            born = date(2020, 10, 1) + timedelta(days=rng.randrange(1500))
            numbers.add(f"{born:%y%m%d}-{rng.choice('34')}{rng.randrange(1000000):06d}")
    return sorted(numbers)


@dataclass
class Intake:
    service: RunningService
    url: str
    logs: io.StringIO


class _Capture(logging.Handler):
    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("intake"))
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(self.format(record) + "\n")


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[Intake]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    bootstrap = intake_broker.bootstrap_servers
    settings = fast_settings(Settings, database_url=url, bootstrap=bootstrap, log_level="DEBUG", **KEY_ENV)
    app = create_app(settings)
    logs = io.StringIO()
    capture = _Capture(logs)
    logging.getLogger().addHandler(capture)  # after create_app, which resets the handlers
    running = await serve("intake", app, settings.port)
    try:
        yield Intake(running, url, logs)
    finally:
        await running.stop()
        logging.getLogger().removeHandler(capture)


@pytest.fixture
async def client(intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    headers = TEST_MINT.headers("district_admin", sub="officer-17")
    async with httpx.AsyncClient(base_url=intake.service.url, timeout=10, headers=headers) as http:
        yield http


def _body(rrns: list[str | None], **overrides: Any) -> dict[str, Any]:
    relationships = ["head", "spouse", "child", "grandchild", "parent", "other"]
    members = [
        {
            "name": ["홍길동", "김영희", "이철수", "박민", "남궁민수", "최"][i % 6],
            "relationship": relationships[i % 6],
            "is_head": i == 0,
            **({"rrn": number} if number else {}),
        }
        for i, number in enumerate(rrns)
    ]
    body: dict[str, Any] = {
        "dong": "yeoksam1",
        "household_type": "grandparent_grandchild",
        "protection_status": "near_poor",
        "address": "서울특별시 강남구 테헤란로 152 강남파이낸스센터 10층",
        "phone": "010-1234-5678",
        "income_monthly": 1_200_000,
        "property_value": 50_000_000,
        "financial_assets": 3_000_000,
        "means_basis": "declared",
        "means_as_of": "2026-11-01",
        "members": members,
    }
    body.update(overrides)
    return body


async def _counts(intake: Intake) -> dict[str, int]:
    async with intake.service.runtime.sessionmaker() as session:
        return {
            model.__tablename__: int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in (Household, Person, HouseholdChange, OutboxMessage)
        }


async def test_register_read_masked_and_lookup(client: httpx.AsyncClient, intake: Intake) -> None:
    head, child = rrn.make(date(1950, 3, 4), "1", "23456"), "210707-3123456"
    created = await client.post("/households", json=_body([head, None, child]))
    assert created.status_code == 201, created.text
    household = created.json()
    assert head not in created.text and head.replace("-", "") not in created.text
    assert household["dong"] == "yeoksam1" and household["household_type"] == "grandparent_grandchild"
    assert household["address"] == "서울특별시 강남구 테헤란로 ***"
    assert household["phone"] == "010-****-5678"
    assert household["income_monthly"] == 1_200_000 and household["means_as_of"] == "2026-11-01"
    members = household["members"]
    assert [m["name"] for m in members] == ["홍*동", "김*희", "이*수"]
    assert [m["rrn"] for m in members] == [masking.mask_rrn(head), None, "210707-3******"]
    assert members[0]["is_head"] and members[0]["birth_date"] == "1950-03-04"
    assert members[2]["birth_date"] == "2021-07-07"  # taken from the RRN

    read = await client.get(f"/households/{household['id']}")
    assert read.status_code == 200 and read.json() == household

    for form in (head, head.replace("-", "")):
        found = await client.post("/households/lookup", json={"rrn": form})
        assert found.status_code == 200 and found.json()["id"] == household["id"]
    missing = await client.post("/households/lookup", json={"rrn": rrn.make(date(1960, 1, 1), "2", "00001")})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    # The event says which household, never who: no names, RRNs, phones or addresses.
    async with intake.service.runtime.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.key == household["id"]))
        payloads = [json.loads(r.payload) for r in rows.scalars()]
    [event] = [p for p in payloads if p["type"].startswith("heemang.intake.")]
    # Every read (register, GET, two lookups) wrote an access-log entry for this household.
    accesses = [p["data"] for p in payloads if p["type"] == "heemang.audit.access.recorded.v1"]
    assert sorted(a["action"] for a in accesses) == ["read", "read", "search", "search"]
    assert {a["actor_id"] for a in accesses} == {"officer-17"}
    assert all(a["household_id"] == household["id"] for a in accesses)
    assert event["type"] == "heemang.intake.household.registered.v1"
    assert event["data"] == {
        "household_id": household["id"],
        "dong": "yeoksam1",
        "household_type": "grandparent_grandchild",
        "protection_status": "near_poor",
        "member_count": 3,
        "registered_at": event["data"]["registered_at"],
    }

    again = await client.post("/households", json=_body([head]))
    assert again.status_code == 409 and head not in again.text


async def test_patch_records_masked_history(client: httpx.AsyncClient, intake: Intake) -> None:
    created = await client.post("/households", json=_body([rrn.make(date(1944, 8, 15), "2", "11111")]))
    household_id = created.json()["id"]
    patched = await client.patch(
        f"/households/{household_id}",
        json={
            "protection_status": "basic_livelihood",
            "phone": "010-9876-5432",
            "address": "서울 강남구 역삼로 1 2층",
            "income_monthly": 900_000,
            "dong": "yeoksam2",
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["protection_status"] == "basic_livelihood" and body["dong"] == "yeoksam2"
    assert body["phone"] == "010-****-5432" and body["updated_at"]

    unchanged = await client.patch(f"/households/{household_id}", json={"dong": "yeoksam2"})
    assert unchanged.status_code == 200

    history = (await client.get(f"/households/{household_id}/history")).json()
    entries = {e["field"]: e for e in history["items"] if e["field"] != "registered"}
    assert set(entries) == {"protection_status", "phone", "address", "income_monthly", "dong"}
    assert all(e["actor"] == "officer-17" for e in entries.values())
    assert entries["phone"]["old_value"] == "010-****-5678"
    assert entries["phone"]["new_value"] == "010-****-5432"
    assert entries["address"]["old_value"] == "서울특별시 강남구 테헤란로 ***"
    assert entries["address"]["new_value"] == "서울 강남구 역삼로 ***"
    assert entries["protection_status"]["old_value"] == "near_poor"
    assert entries["income_monthly"]["new_value"] == "900000"
    assert "9876" not in json.dumps(history, ensure_ascii=False)

    async with intake.service.runtime.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.key == household_id))
        events = [json.loads(r.payload) for r in rows.scalars()]
    [updated] = [e for e in events if e["type"] == "heemang.intake.household.updated.v1"]
    assert sorted(updated["data"]["changed_fields"]) == sorted(entries)
    assert updated["data"]["dong"] == "yeoksam2" and updated["data"]["member_count"] == 1

    cleared = await client.patch(f"/households/{household_id}", json={"household_type": None})
    assert cleared.status_code == 422
    unknown = await client.patch(f"/households/{household_id}", json={"dong": "atlantis"})
    assert unknown.status_code == 422 and unknown.json()["type"].endswith("/unknown-dong")
    assert (await client.get(f"/households/{uuid.uuid4()}/history")).status_code == 404


def _bad_bodies() -> Iterator[tuple[str, dict[str, Any], str]]:
    check_fails = "900101-1234567"  # wrong check digit
    yield "check digit", _body([check_fails]), check_fails
    yield (
        "no such date",
        _body([rrn.make(date(1990, 1, 1), "1", "23456").replace("900101", "901301")]),
        "901301",
    )
    yield "shape", _body(["900101-12345"]), "90010112345"
    good = rrn.make(date(1970, 5, 5), "1", "54321")
    yield "unknown 동", _body([good], dong="atlantis"), good
    yield (
        "wrong types",
        _body(
            [good],
            income_monthly="lots",
            members=[{"name": "홍길동", "relationship": "head", "is_head": True, "rrn": 7005051543210}],
        ),
        good,
    )
    yield "negative income", _body([good], income_monthly=-1), good
    yield (
        "birth date mismatch",
        _body(
            [good],
            members=[
                {
                    "name": "홍길동",
                    "relationship": "head",
                    "is_head": True,
                    "rrn": good,
                    "birth_date": "1971-05-05",
                }
            ],
        ),
        good,
    )
    yield (
        "two heads",
        _body(
            [good, None],
            members=[
                {"name": "가나", "relationship": "head", "is_head": True, "rrn": good},
                {"name": "다라", "relationship": "head", "is_head": True},
            ],
        ),
        good,
    )
    yield "same RRN twice", _body([good, good]), good
    yield "extra field", _body([good], rrn_plain=good), good


@pytest.mark.parametrize(
    ("case", "body", "secret"), list(_bad_bodies()), ids=[c for c, _, _ in _bad_bodies()]
)
async def test_bad_input_is_422_without_echo_and_stores_nothing(
    client: httpx.AsyncClient, intake: Intake, case: str, body: dict[str, Any], secret: str
) -> None:
    before = await _counts(intake)
    response = await client.post("/households", json=body)
    assert response.status_code == 422, (case, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    for form in {secret, secret.replace("-", ""), secret[-7:]}:
        assert form not in response.text, (case, response.text)
    assert plaintext_rrns(response.text) == []
    assert await _counts(intake) == before
    lookup = await client.post("/households/lookup", json={"rrn": "900101-1234567"})
    assert lookup.status_code == 422 and "1234567" not in lookup.text


async def test_t14_no_plaintext_rrn_in_database_outbox_or_logs(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    seeded = synthetic_rrns(210)
    for start in range(0, 150, 3):
        response = await client.post("/households", json=_body(list(seeded[start : start + 3])))
        assert response.status_code == 201, response.text
        assert plaintext_rrns(response.text) == []
    # Referrals carry RRNs too: the subject's (encrypted) and one typed into the notes (redacted).
    for number in seeded[150:]:
        referral = {
            "dong": "yeoksam1",
            "channel": "walk_in",
            "summary": f"주민번호 {number} 본인 확인",
            "notes": f"초기상담 {number.replace('-', '')}",
            "subject": {"name": "김철수", "rrn": number},
        }
        response = await client.post("/referrals", json=referral)
        assert response.status_code == 201, response.text
        assert plaintext_rrns(response.text) == []
    listed = await client.get("/referrals", params={"limit": 200})
    assert listed.status_code == 200 and plaintext_rrns(listed.text) == []
    await client.post("/households/lookup", json={"rrn": seeded[0]})
    await client.post("/households", json=_body(["900101-1234567"]))  # refused: not logged either

    async def all_published() -> bool:
        async with intake.service.runtime.sessionmaker() as session:
            pending = (
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            )
            return (await session.execute(pending)).scalar_one() == 0

    await eventually(all_published, timeout_s=30)

    # The checksum regex skips the keyed hash and the ciphertext (13-digit runs occur by
    # chance in hex digests); the exact search of every seeded number covers them too.
    dump, protected = io.StringIO(), io.StringIO()
    async with intake.service.runtime.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(table.select())).mappings():
                values = {k: str(v) for k, v in row.items()}
                hidden = {k: values.pop(k) for k in ("rrn_hmac", "rrn_ciphertext") if k in values}
                dump.write(json.dumps(values, ensure_ascii=False) + "\n")
                protected.write(" ".join(hidden.values()) + "\n")
        persons = (
            (await session.execute(select(Person).where(Person.rrn_ciphertext.is_not(None)))).scalars().all()
        )
    text = dump.getvalue()
    assert "heemang.intake.household.registered.v1" in text  # the outbox is in the dump
    logs = intake.logs.getvalue()
    assert logs, "the log capture saw nothing"
    wire = await _broker_payloads(intake, text)
    for where, content in (("database", text), ("logs", logs), ("broker", wire)):
        assert plaintext_rrns(content) == [], where
        if where == "database":
            content += protected.getvalue()
        leaked = [n for n in seeded if n in content or n.replace("-", "") in content]
        assert leaked == [], f"{where}: {len(leaked)} seeded RRNs in plaintext"
    # The encrypted column really holds them: every seeded RRN decrypts from some row.
    protector = RrnProtector({"k1": K1, "k2": K2}, "k1", HMAC_KEY)
    decrypted = {protector.decrypt(p.rrn_ciphertext or "", p.id.bytes) for p in persons}
    assert {n.replace("-", "") for n in seeded} <= decrypted


async def _broker_payloads(intake: Intake, dump: str) -> str:
    """Every record on the household and referral topics, read back from the broker until
    all of this database's published events have been seen."""
    async with intake.service.runtime.sessionmaker() as session:
        expected = {str(e) for e in (await session.execute(select(OutboxMessage.event_id))).scalars()}
    assert expected and all(event_id in dump for event_id in expected)
    settings = intake.service.runtime.settings
    consumer = make_consumer(intake.service.runtime.bootstrap_servers(), f"t14-{uuid.uuid4().hex}", settings)
    consumer.subscribe([topics.INTAKE_HOUSEHOLD, topics.INTAKE_REFERRAL, topics.AUDIT_ACCESS])
    await consumer.start()
    payloads: list[str] = []
    seen: set[str] = set()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not expected <= seen and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    value = (record.value or b"").decode()
                    payloads.append(f"{(record.key or b'').decode()} {value}")
                    seen.add(str(json.loads(value)["id"]))
    finally:
        await consumer.stop()
    assert expected <= seen, f"{len(expected - seen)} published events not read back from the broker"
    return "\n".join(payloads)


async def test_rotate_keys_command_then_read_back(
    client: httpx.AsyncClient,
    intake: Intake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = rrn.make(date(1961, 2, 3), "1", "13579")
    household_id = (await client.post("/households", json=_body([number]))).json()["id"]
    before = (await client.get(f"/households/{household_id}")).json()

    monkeypatch.setenv("DATABASE_URL", intake.url)
    monkeypatch.setenv("INTAKE_RRN_KEYS", KEY_ENV["rrn_keys"])
    monkeypatch.setenv("INTAKE_RRN_ACTIVE_KEY", "k2")  # switch the active key, then rotate
    monkeypatch.setenv("INTAKE_RRN_HMAC_KEY", KEY_ENV["rrn_hmac_key"])
    monkeypatch.setenv("INTAKE_ROTATE_BATCH_SIZE", "7")
    monkeypatch.delenv("INTAKE_DATABASE_URL", raising=False)
    await asyncio.to_thread(main, ["rotate-keys"])  # the CLI runs its own event loop
    first = capsys.readouterr().out
    assert "active key 'k2'" in first and "rotated 0 " not in first
    await asyncio.to_thread(main, ["rotate-keys"])  # idempotent: nothing left under k1
    assert "rotated 0 RRNs in 0 batches" in capsys.readouterr().out

    async with intake.service.runtime.sessionmaker() as session:
        persons = (
            (await session.execute(select(Person).where(Person.rrn_ciphertext.is_not(None)))).scalars().all()
        )
    assert persons and {p.rrn_key_id for p in persons} == {"k2"}
    assert all((p.rrn_ciphertext or "").startswith("v1:k2:") for p in persons)
    # k1 can be retired: everything opens with k2 alone.
    retired = RrnProtector({"k2": K2}, "k2", HMAC_KEY)
    assert all(rrn.is_valid(retired.decrypt(p.rrn_ciphertext or "", p.id.bytes)) for p in persons)

    # The running service (which still has both keys) reads and finds the same as before.
    assert (await client.get(f"/households/{household_id}")).json() == before
    found = await client.post("/households/lookup", json={"rrn": number})
    assert found.status_code == 200 and found.json()["id"] == household_id


def test_every_surface_uses_the_common_masking_policy() -> None:
    """T17: the register's serializer and history use the functions of heemang_common.masking
    itself, not copies; the domain's RRN mask is the same policy."""
    assert household_service.mask_name is masking.mask_name
    assert household_service.mask_phone is masking.mask_phone
    assert household_service.mask_address is masking.mask_address
    assert household_service.mask_rrn is masking.mask_rrn
    from heemang_intake.domain import household

    assert {
        "address": masking.mask_address,
        "phone": masking.mask_phone,
        "name": masking.mask_name,
    } == household._MASKED_HISTORY
    assert rrn.mask("7001011234567") == masking.mask_rrn("700101-1234567")


async def test_openapi_documents_the_register(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert {"/households", "/households/lookup", "/households/{household_id}"} <= set(paths)
    assert "patch" in paths["/households/{household_id}"]
    assert "get" in paths["/households/{household_id}/history"]
    assert not any(
        "rrn" in p.get("name", "")
        for op in paths.values()
        for m in op.values()
        for p in m.get("parameters", [])
    ), "an RRN must never be a query or path parameter"


async def test_concurrent_registrations_of_one_rrn_give_one_household(client: httpx.AsyncClient) -> None:
    number = rrn.make(date(1948, 12, 1), "2", "24680")
    responses = await asyncio.gather(*(client.post("/households", json=_body([number])) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert all(number not in r.text for r in responses)
