"""The scheduler's decisions, phone numbers, contact encryption and callback signatures."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from heemang_common.errors import Invalid
from heemang_hotline.crypto import ContactDecryptionError, ContactProtector
from heemang_hotline.domain import phones, signatures
from heemang_hotline.domain.checkins import (
    KST,
    CallState,
    Close,
    Outcome,
    QuietHours,
    Send,
    Skip,
    Wait,
    next_step,
    reply_outcome,
)

SLOT = datetime(2026, 11, 2, 10, 0, tzinfo=KST)
END = SLOT.replace(hour=12)
QUIET = QuietHours()


def state(attempts: int = 0, resumed: bool = False) -> CallState:
    return CallState(SLOT, END, attempts, resumed)


def test_first_call_then_retries_until_the_attempts_run_out() -> None:
    assert next_step(state(0), SLOT, QUIET, 3) == Send(1)
    assert next_step(state(2), SLOT, QUIET, 3) == Send(3)
    assert next_step(state(3), SLOT, QUIET, 3) == Close(Outcome.no_answer)


def test_window_end_closes_a_called_slot_and_skips_an_uncalled_one() -> None:
    assert next_step(state(1), END, QUIET, 3) == Close(Outcome.no_answer)
    assert next_step(state(0), END, QUIET, 3) == Skip("window_passed")


def test_quiet_hours_wait_when_the_window_allows_else_skip() -> None:
    late = QuietHours(start=datetime(2000, 1, 1, 21).time(), end=datetime(2000, 1, 1, 10, 30).time())
    assert next_step(state(0), SLOT, late, 3) == Wait(SLOT.replace(minute=30))
    all_morning = QuietHours(start=late.start, end=datetime(2000, 1, 1, 13).time())
    assert next_step(state(0), SLOT, all_morning, 3) == Skip("quiet_hours")
    assert next_step(state(1), SLOT, all_morning, 3) == Close(Outcome.no_answer)


def test_a_resumed_slot_resends_the_same_attempt_only_inside_the_window() -> None:
    assert next_step(state(3, resumed=True), SLOT, QUIET, 3) == Send(3)
    assert next_step(state(1, resumed=True), END, QUIET, 3) == Close(Outcome.no_answer)


def test_replies() -> None:
    assert reply_outcome(" 1 ") == Outcome.ok and reply_outcome("네") == Outcome.ok
    assert (
        reply_outcome("2") == Outcome.asked_for_help
        and reply_outcome("도와주세요!") == Outcome.asked_for_help
    )
    assert reply_outcome("누구세요") is None


@pytest.mark.parametrize(
    "raw", ["010-1234-5678", "01012345678", "+82 10 1234 5678", "02-123-4567", "031-123-4567"]
)
def test_phone_numbers_accepted(raw: str) -> None:
    assert phones.normalise(raw).isdigit()


@pytest.mark.parametrize("raw", ["", "12345", "010-1234-56789", "abc", "0101234567x", "00012345678"])
def test_phone_numbers_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        phones.normalise(raw)


def test_contact_numbers_are_sealed_per_row() -> None:
    protector = ContactProtector({"k1": bytes(32)}, "k1", b"h" * 32)
    row, other = uuid.uuid4(), uuid.uuid4()
    token = protector.encrypt("010-1234-5678", row.bytes)
    assert "5678" not in token and token.startswith("v1:k1:")
    assert protector.decrypt(token, row.bytes) == "01012345678"
    with pytest.raises(ContactDecryptionError):
        protector.decrypt(token, other.bytes)  # copied onto another row: does not open
    assert protector.lookup_hash("010-1234-5678") == protector.lookup_hash("01012345678")
    rotated = ContactProtector({"k1": bytes(32), "k2": b"\x01" * 32}, "k2", b"h" * 32)
    assert rotated.decrypt(token, row.bytes) == "01012345678"  # old key still opens old rows


SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
KEY = signatures.secret_bytes(SECRET)
NOW = 1_800_000_000


def reference_headers(body: bytes, ts: int, msg_id: str = "msg_1") -> dict[str, str]:
    stamp = datetime.fromtimestamp(ts, tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": Webhook(SECRET).sign(msg_id, stamp, body.decode()),
    }


@pytest.mark.parametrize("skew", [-299, 0, 299])
def test_signatures_of_the_reference_library_verify_within_the_tolerance(skew: int) -> None:
    body = '{"text": "수신거부"}'.encode()
    assert signatures.verify(KEY, reference_headers(body, NOW + skew), body, NOW) == "msg_1"


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_beyond_the_tolerance_are_refused(skew: int) -> None:
    body = b"{}"
    with pytest.raises(signatures.BadSignature):
        signatures.verify(KEY, reference_headers(body, NOW + skew), body, NOW)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h | {"webhook-signature": h["webhook-signature"].replace(",", "")},  # no comma
        lambda h: h | {"webhook-signature": "v1,***not-base64***"},
        lambda h: h | {"webhook-signature": "v1a," + h["webhook-signature"].split(",")[1]},  # only v1a
        lambda h: h | {"webhook-timestamp": f"{NOW}.5"},  # fractional
        lambda h: h | {"webhook-timestamp": "１８００"},  # non-ASCII digits
        lambda h: {k: v for k, v in h.items() if k != "webhook-id"},
        lambda h: h | {"webhook-id": "msg_2"},
    ],
)
def test_malformed_or_altered_headers_are_refused(mutate: object) -> None:
    body = b"{}"
    headers = mutate(reference_headers(body, NOW))  # type: ignore[operator]
    with pytest.raises(signatures.BadSignature):
        signatures.verify(KEY, headers, body, NOW)


def test_altered_body_is_refused() -> None:
    headers = reference_headers(b'{"a": 1}', NOW)
    with pytest.raises(signatures.BadSignature):
        signatures.verify(KEY, headers, b'{"a": 2}', NOW)


def test_next_quiet_end_crosses_midnight() -> None:
    from heemang_hotline.domain.checkins import next_quiet_end

    night = datetime(2026, 11, 2, 22, 0, tzinfo=KST)
    assert next_quiet_end(night, QUIET) == datetime(2026, 11, 3, 8, 0, tzinfo=KST)
    assert next_quiet_end(night + timedelta(hours=3), QUIET) == datetime(2026, 11, 3, 8, 0, tzinfo=KST)
