"""T17: one masking policy on every response surface of intake. Random names, phones,
RRNs and addresses go in through the API; every surface that shows them (register, read,
list, RRN lookup, history, referral create/read/queue) must show exactly what
heemang_common.masking makes of them — the same positions hidden everywhere, so no two
surfaces can be combined to rebuild a value — and never the raw value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heemang_common import masking
from heemang_common.broker import EmbeddedBroker
from heemang_common.testing import TEST_MINT, DatabaseFactory, RunningService, fast_settings, serve
from heemang_intake.app import create_app
from heemang_intake.cli import SERVICE_ROOT
from heemang_intake.domain import rrn
from heemang_intake.settings import Settings

ADMIN = TEST_MINT.headers("district_admin", sub="t17", ttl_s=3600)

hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
names = st.text(hangul, min_size=2, max_size=5)
phones = st.one_of(
    st.tuples(st.just("010"), st.integers(1000, 9999), st.integers(0, 9999)).map(
        lambda t: f"{t[0]}-{t[1]}-{t[2]:04d}"
    ),
    st.tuples(st.integers(100, 999), st.integers(0, 9999)).map(lambda t: f"02-{t[0]}-{t[1]:04d}"),
)
rrns = st.tuples(st.dates(date(1930, 1, 1), date(2019, 12, 31)), st.integers(0, 99999)).map(
    lambda t: rrn.make(t[0], "1" if t[0].year < 2000 else "3", f"{t[1]:05d}")
)
roads = st.sampled_from(["테헤란로", "역삼로", "도곡로", "개포로", "선릉로", "삼성로"])
addresses = st.tuples(
    st.sampled_from(["서울특별시 강남구", "서울 강남구"]), roads, st.integers(1, 999), st.integers(1, 30)
).map(lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]}층")


@pytest.fixture(scope="module")
async def intake(databases: DatabaseFactory, intake_broker: EmbeddedBroker) -> AsyncIterator[RunningService]:
    url = await databases.fresh_database("intake", SERVICE_ROOT)
    settings_ = fast_settings(Settings, database_url=url, bootstrap=intake_broker.bootstrap_servers)
    running = await serve("intake", create_app(settings_), settings_.port)
    try:
        yield running
    finally:
        await running.stop()


def _raw_absent(text: str, name: str, phone: str, number: str, address: str) -> None:
    digits = "".join(c for c in number if c.isdigit())
    assert digits[7:] not in text.replace("-", ""), "RRN serial digits leaked"
    if len(name) > 2:
        assert name not in text, "a whole name leaked"
    phone_middle = phone.split("-")[1]
    assert phone not in text and f"-{phone_middle}-" not in text, "a phone number leaked"
    assert address not in text, "a whole address leaked"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=names, phone=phones, number=rrns, address=addresses, new_phone=phones, new_address=addresses)
async def test_every_surface_masks_identically(
    intake: RunningService, name: str, phone: str, number: str, address: str, new_phone: str, new_address: str
) -> None:
    want_name, want_rrn = masking.mask_name(name), masking.mask_rrn(number)
    want_phone, want_address = masking.mask_phone(phone), masking.mask_address(address)
    dong = "samseong2"
    async with httpx.AsyncClient(base_url=intake.url, timeout=10, headers=ADMIN) as http:
        body: dict[str, Any] = {
            "dong": dong,
            "household_type": "single_working_age",
            "protection_status": "low_income",
            "address": address,
            "phone": phone,
            "members": [{"name": name, "relationship": "head", "is_head": True, "rrn": number}],
        }
        created = await http.post("/households", json=body)
        if created.status_code == 409:  # hypothesis drew an RRN registered by an earlier example
            return
        assert created.status_code == 201, created.text
        household_id = created.json()["id"]
        read = await http.get(f"/households/{household_id}")
        found = await http.post("/households/lookup", json={"rrn": number})
        listed = await http.get("/households", params={"dong": dong, "limit": 200})
        [in_list] = [h for h in listed.json()["items"] if h["id"] == household_id]
        for surface in (created.json(), read.json(), found.json(), in_list):
            assert surface["address"] == want_address and surface["phone"] == want_phone
            [member] = surface["members"]
            assert member["name"] == want_name and member["rrn"] == want_rrn
        referral = await http.post(
            "/referrals",
            json={"household_id": household_id, "dong": dong, "channel": "phone", "accept": True},
        )
        assert referral.status_code == 201, referral.text
        referral_read = await http.get(f"/referrals/{referral.json()['id']}")
        queue = await http.get("/referrals", params={"dong": dong, "status": "accepted", "limit": 200})
        [queued] = [r for r in queue.json()["items"] if r["id"] == referral.json()["id"]]
        for surface in (referral.json(), referral_read.json(), queued):
            assert surface["subject_name"] == want_name
        patched = await http.patch(
            f"/households/{household_id}", json={"phone": new_phone, "address": new_address}
        )
        assert patched.status_code == 200
        assert patched.json()["phone"] == masking.mask_phone(new_phone)
        assert patched.json()["address"] == masking.mask_address(new_address)
        history = await http.get(f"/households/{household_id}/history")
        entries = {e["field"]: e for e in history.json()["items"]}
        if new_phone != phone:
            assert entries["phone"]["old_value"] == want_phone
            assert entries["phone"]["new_value"] == masking.mask_phone(new_phone)
        if new_address != address:
            assert entries["address"]["old_value"] == want_address
            assert entries["address"]["new_value"] == masking.mask_address(new_address)
        for response in (created, read, found, listed, referral, referral_read, queue, patched, history):
            _raw_absent(response.text, name, phone, number, address)
            _raw_absent(response.text, name, new_phone, number, new_address)


def test_strategies_produce_valid_rrns() -> None:
    """The property test's RRNs pass the register's validation (else it would test 422s)."""
    born = date(1930, 1, 1)
    for offset in range(0, 365 * 89, 997):
        day = born + timedelta(days=offset)
        assert rrn.is_valid(rrn.make(day, "1" if day.year < 2000 else "3", f"{offset % 99999:05d}"))
